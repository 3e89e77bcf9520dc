"""`wotu demo --no-serve`: a demo database with one login per role, built idempotently."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from wotu.core.audit import audit_inspect, checkpoints_dir_default
from wotu.core.management.commands.demo import DEMO_AUDIT_KEY, LOGINS
from wotu.core.models import Role, User
from wotu.organisations.models import EnterpriseYear, Kind, Organisation, Region


@pytest.fixture(autouse=True)
def _own_var_dir_and_key(settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints go to this test's own directory, signed with the demo key (restored after)."""
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("WOTU_AUDIT_KEY", DEMO_AUDIT_KEY)


@pytest.fixture
def fast_passwords(settings: Any) -> None:
    """Hashing six passwords with the production hasher would dominate these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def demo(*extra: str) -> str:
    out = StringIO()
    call_command("demo", "--no-serve", "--enterprises", "50", *extra, stdout=out, stderr=StringIO())
    return out.getvalue()


def counts() -> tuple[int, int, int]:
    return Organisation.objects.count(), EnterpriseYear.objects.count(), User.objects.count()


def test_the_demo_has_a_working_login_for_every_role(db: None, fast_passwords: None) -> None:
    demo()

    assert set(Role.values) <= set(User.objects.values_list("role", flat=True))
    for login in LOGINS:
        user = authenticate(username=login.username, password=login.password)
        assert user is not None and user.is_superuser == login.superuser
    applicant = User.objects.get(username="applicant")
    assert applicant.organisation is not None
    assert applicant.organisation.kind == Kind.ENTERPRISE
    assert applicant.organisation.years.exists()
    banker = User.objects.get(username="bank")
    assert banker.organisation is not None and banker.organisation.kind == Kind.BANK


def test_the_demo_has_organisations_of_every_kind_and_region(
    db: None, fast_passwords: None
) -> None:
    demo()

    present = set(Organisation.objects.values_list("kind", "region"))
    assert {kind for kind, _ in present} == set(Kind.values)
    assert {region for _, region in present} == set(Region.values)
    for region in (Region.HONG_KONG, Region.MACAO):
        assert {(Kind.UNIVERSITY, region), (Kind.INSTITUTE, region)} <= present
    assert Organisation.objects.filter(kind=Kind.ENTERPRISE).count() == 50


def test_building_the_demo_again_changes_nothing(db: None, fast_passwords: None) -> None:
    demo()
    before = counts()

    output = demo()

    assert counts() == before
    assert "already built" in output and "0 created" in output


def test_the_demo_prints_each_login_with_its_password_and_the_address(
    db: None, fast_passwords: None
) -> None:
    output = demo()

    for login in LOGINS:
        assert login.username in output and login.password in output
        assert login.role_zh in output and login.role_en in output
    assert "http://127.0.0.1:8000/" in output


def test_fresh_rebuilds_the_demo_from_an_empty_database(
    transactional_db: None, fast_passwords: None
) -> None:
    # transactional: PostgreSQL refuses to TRUNCATE inside the test's wrapping transaction.
    demo()
    before = counts()
    Organisation.objects.create(kind=Kind.UNIVERSITY, region=Region.HONG_KONG, name="临时大学")

    output = demo("--fresh")

    assert counts() == before
    assert not Organisation.objects.filter(name="临时大学").exists()
    assert "50 enterprises" in output
    # and the old chain's checkpoints went with the old database: the new chain verifies
    report = audit_inspect(checkpoints_dir=checkpoints_dir_default())
    assert report.broken is None and report.checkpoints == 1


@pytest.mark.parametrize(
    ("option", "value", "english"),
    [("--enterprises", "0", "must be 1–"), ("--addrport", "here please", "malformed")],
)
def test_bad_options_are_refused_in_chinese_and_english(
    db: None, option: str, value: str, english: str
) -> None:
    with pytest.raises(CommandError, match=english) as refused:
        call_command("demo", "--no-serve", option, value, stdout=StringIO())

    assert " / " in str(refused.value)
    assert not EnterpriseYear.objects.exists()


def test_the_demo_has_a_call_on_notice_and_a_cross_border_call_in_review(
    db: None, fast_passwords: None
) -> None:
    from django.utils import timezone

    from wotu.programmes.demo import GUANGZHOU, OPEN_CALL, QUANZHOU
    from wotu.programmes.models import Call, CallStatus, Status
    from wotu.reviews.models import Assignment, AssignmentStatus

    demo()

    quanzhou = Call.objects.get(code=QUANZHOU)
    assert quanzhou.status == CallStatus.NOTICE
    assert quanzhou.notice.published_at <= timezone.now() <= quanzhou.notice.closes_at
    on_notice = quanzhou.applications.filter(status=Status.NOTICE)
    assert on_notice.exists() and quanzhou.applications.filter(status=Status.NOT_PASSED).exists()
    assert sum(a.proposed for a in on_notice) <= quanzhou.programme.budget
    guangzhou = Call.objects.get(code=GUANGZHOU)
    assert guangzhou.applications.exclude(organisation__region="CN").exists()
    pending = Assignment.objects.filter(
        stage__call=guangzhou, expert__user__username="expert", status=AssignmentStatus.PENDING
    )
    assert pending.exists(), "the demo expert has applications to review"
    cross_border = Assignment.objects.filter(stage__call=guangzhou).exclude(expert__region="CN")
    assert cross_border.exists(), "HK/Macao experts sit on cross-border panels"
    applicant = User.objects.get(username="applicant")
    assert guangzhou.applications.filter(organisation=applicant.organisation).exists()
    assert Call.objects.get(code=OPEN_CALL).status == CallStatus.OPEN
