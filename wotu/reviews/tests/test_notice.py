"""The public notice (公示): publishing a call's proposed list, its window in working days, and
objections filed by the public under a real name, routed to an officer and resolved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.http import Http404
from hypothesis import given, settings
from hypothesis import strategies as st

from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, Role, User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Application, Call, CallStatus, Status
from wotu.programmes.tests.factories import application_make, call_make
from wotu.reviews.calendar import SHANGHAI
from wotu.reviews.models import Notice, Objection, ObjectionOutcome
from wotu.reviews.notice import (
    Refused,
    notice_get_public,
    notice_list_public,
    notice_publish,
    objection_file,
    objection_list_for_user,
    objection_receipt,
    objection_resolve,
    objector_contact_check,
    objector_name_check,
)

pytestmark = pytest.mark.django_db

PUBLISHED = dt.datetime(2026, 6, 1, 10, tzinfo=SHANGHAI)  # a Monday, ordinary week
INSIDE = dt.datetime(2026, 6, 3, 15, tzinfo=SHANGHAI)
AFTER = dt.datetime(2026, 6, 6, 9, tzinfo=SHANGHAI)  # Saturday after the window


def call_on_notice_stage(
    orgs: list[Organisation], *, amounts: tuple[str, ...] = ("300000.00", "200000.00")
) -> tuple[Call, list[Application]]:
    """A call whose last scored stage is closed: ``amounts`` applications above the funding line
    (NOTICE), one below it (NOT_PASSED)."""
    call = call_make(status=CallStatus.REVIEW)
    apps = [
        application_make(
            call=call, organisation=orgs[i % len(orgs)], status=Status.NOTICE,
            proposed=Decimal(amount), title=f"智能装备项目 {i}", field="machinery",
        )
        for i, amount in enumerate(amounts)
    ]  # fmt: skip
    application_make(call=call, organisation=orgs[0], status=Status.NOT_PASSED)
    return call, apps


@pytest.fixture
def on_notice(haina: Organisation, jiaodong: Organisation) -> tuple[Call, list[Application]]:
    return call_on_notice_stage([haina, jiaodong])


@pytest.fixture
def published(on_notice: tuple[Call, list[Application]], alice: User) -> Notice:
    return notice_publish(call=on_notice[0], actor=alice, published_at=PUBLISHED)


def file(notice: Notice, **overrides: Any) -> Objection:
    values: dict[str, Any] = {
        "name": "王建国", "contact": "13812345678",
        "text": "该项目申报材料中的专利并非申报单位所有，请核实。", "now": INSIDE,
    }  # fmt: skip
    values.update(overrides)
    return objection_file(notice=notice, **values)


# --- publishing -------------------------------------------------------------------------------


def test_publishing_snapshots_the_proposed_list_without_expert_data(
    published: Notice, on_notice: tuple[Call, list[Application]], haina: Organisation
) -> None:
    call, apps = on_notice
    assert [e["reference"] for e in published.entries] == sorted(a.reference for a in apps)
    first = published.entries[0]
    assert first["organisation"] == haina.name and first["amount"] == "300000.00"
    assert set(first) == {"reference", "organisation", "organisation_en", "title", "field",
                          "amount"}  # fmt: skip
    call.refresh_from_db()
    assert call.status == CallStatus.NOTICE
    event = AuditEvent.objects.get(action="notice.publish")
    assert event.data["entries"] == 2 and event.data["total"] == "500000.00"
    assert audit_verify() is None


def test_the_window_is_five_working_days_counting_the_publication_day(published: Notice) -> None:
    assert published.closes_at.astimezone(SHANGHAI) == dt.datetime(
        2026, 6, 5, 23, 59, 59, 999999, tzinfo=SHANGHAI
    )


def test_the_window_skips_the_national_day_holiday_and_counts_the_make_up_day(
    on_notice: tuple[Call, list[Application]], alice: User
) -> None:
    # given a notice published on Wednesday 30 September 2026, the eve of the National Day break
    notice = notice_publish(
        call=on_notice[0], actor=alice,
        published_at=dt.datetime(2026, 9, 30, 9, tzinfo=SHANGHAI),
    )  # fmt: skip
    # then 30 Sep counts, 1–7 Oct are holidays, 8 and 9 Oct count, Saturday 10 Oct is a
    # make-up working day, Sunday 11 Oct is not: the fifth working day is Monday 12 October
    assert notice.closes_at.astimezone(SHANGHAI).date() == dt.date(2026, 10, 12)


def test_a_notice_cannot_be_published_while_applications_are_still_in_review(
    on_notice: tuple[Call, list[Application]], alice: User, haina: Organisation
) -> None:
    call = on_notice[0]
    waiting = application_make(call=call, organisation=haina, status=Status.IN_REVIEW)
    with pytest.raises(WotuError) as refused:
        notice_publish(call=call, actor=alice, published_at=PUBLISHED)
    assert waiting.reference in refused.value.zh and waiting.reference in refused.value.en
    assert not Notice.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_a_bureau_officer_publishes(
    request: pytest.FixtureRequest, on_notice: tuple[Call, list[Application]], persona: str
) -> None:
    with pytest.raises(Refused):
        notice_publish(call=on_notice[0], actor=request.getfixturevalue(persona))
    assert not Notice.objects.exists()


def test_a_notice_is_published_once_and_never_for_an_empty_list(
    published: Notice, alice: User, haina: Organisation
) -> None:
    with pytest.raises(WotuError, match=r"already|已"):
        notice_publish(call=published.call, actor=alice)
    empty = call_make(status=CallStatus.REVIEW)
    application_make(call=empty, organisation=haina, status=Status.NOT_PASSED)
    with pytest.raises(WotuError, match="nothing to publish"):
        notice_publish(call=empty, actor=alice)


def test_a_notice_dated_in_the_future_is_not_public_yet(
    on_notice: tuple[Call, list[Application]], alice: User
) -> None:
    notice = notice_publish(
        call=on_notice[0], actor=alice, published_at=dt.datetime(2026, 12, 1, tzinfo=SHANGHAI)
    )
    now = dt.datetime(2026, 11, 30, tzinfo=SHANGHAI)
    assert list(notice_list_public(now=now)) == []
    with pytest.raises(Http404):
        notice_get_public(pk=notice.pk, now=now)


# --- objections -------------------------------------------------------------------------------


def test_the_public_files_an_objection_and_gets_a_receipt(
    published: Notice, on_notice: tuple[Call, list[Application]], alice: User
) -> None:
    objection = file(published, application=on_notice[1][0])
    assert objection_receipt(objection=objection) == f"N{published.pk}-{objection.pk:06d}"
    assert objection.officer == alice and objection.outcome == ObjectionOutcome.OPEN
    event = AuditEvent.objects.get(action="objection.file")
    # the audit event records ids, not the person's name or phone
    assert event.data["objection"] == objection.pk
    assert "王建国" not in str(event.data) and "13812345678" not in str(event.data)


@pytest.mark.parametrize(
    ("moment", "accepted"),
    [
        (PUBLISHED - dt.timedelta(seconds=1), False),
        (PUBLISHED, True),
        (dt.datetime(2026, 6, 5, 23, 59, 59, tzinfo=SHANGHAI), True),
        (dt.datetime(2026, 6, 6, 0, 0, 0, tzinfo=SHANGHAI), False),
        (AFTER, False),
    ],
)
def test_objections_are_accepted_only_inside_the_window(
    published: Notice, moment: dt.datetime, accepted: bool
) -> None:
    if accepted:
        file(published, now=moment)
        return
    with pytest.raises(WotuError) as refused:
        file(published, now=moment)
    assert "2026-06-01 10:00" in refused.value.zh and "2026-06-05 23:59" in refused.value.en
    assert not Objection.objects.exists()


ANONYMOUS = ["", " ", "匿名", "匿 名", "无名氏", "某某", "张某", "某某某", "知情人", "热心群众",
             "Anonymous", "ANON", "n/a", "x", "12345", "王" * 41, "<script>"]  # fmt: skip


@pytest.mark.parametrize("name", ANONYMOUS)
def test_anonymous_or_implausible_names_are_refused(published: Notice, name: str) -> None:
    with pytest.raises(WotuError) as refused:
        file(published, name=name)
    assert "匿名" in refused.value.zh or "字符" in refused.value.zh
    assert not Objection.objects.exists()


@pytest.mark.parametrize("name", ["王芳", "欧阳修远", "阿依古丽·买买提", "Chan Tai Man",
                                  "Mary O'Neil", "Jean-Luc Dupont"])  # fmt: skip
def test_real_names_are_accepted(name: str) -> None:
    assert objector_name_check(name=name) == name


@pytest.mark.parametrize(
    ("contact", "normalised"),
    [
        ("13812345678", "13812345678"), ("+86 138 1234 5678", "+8613812345678"),
        ("0532-8888 6666", "053288886666"), ("+852 9123 4567", "+85291234567"),
        ("+853 6612 3456", "+85366123456"), ("Wang.Fang@Example.cn", "wang.fang@example.cn"),
    ],
)  # fmt: skip
def test_mainland_hong_kong_and_macao_phones_and_e_mail_are_valid_contacts(
    contact: str, normalised: str
) -> None:
    assert objector_contact_check(contact=contact) == normalised


@pytest.mark.parametrize(
    "contact", ["", "12345", "1381234567", "23812345678", "+852 1234 5678", "+853 5123 4567",
                "wang@", "@example.cn", "微信 wxid_123"],
)  # fmt: skip
def test_bad_contacts_are_refused(published: Notice, contact: str) -> None:
    with pytest.raises(WotuError) as refused:
        file(published, contact=contact)
    assert "联系方式" in refused.value.zh and "contact" in refused.value.en


def test_a_short_objection_is_refused(published: Notice) -> None:
    with pytest.raises(WotuError, match=r"at least|10"):
        file(published, text="不公平！")


def test_the_same_text_from_the_same_contact_is_refused_once_filed(published: Notice) -> None:
    file(published)
    with pytest.raises(WotuError, match="same text"):
        file(published, text="  该项目申报材料中的专利并非申报单位所有，请核实。 ")
    file(published, contact="wang@example.cn")  # another contact may say the same
    assert Objection.objects.count() == 2


def test_an_objection_names_only_a_project_on_the_notice(
    published: Notice, haina: Organisation
) -> None:
    other = application_make(call=call_make(), organisation=haina, status=Status.NOTICE)
    with pytest.raises(WotuError, match="not on this notice"):
        file(published, application=other)


def test_objections_are_routed_round_robin_over_active_officers(
    published: Notice, alice: User
) -> None:
    second = User.objects.create(username="henry", role=Role.BUREAU_OFFICER)
    User.objects.create(username="ivy", role=Role.BUREAU_OFFICER, is_active=False)
    officers = [file(published, contact=f"1381234567{i}").officer for i in range(4)]
    assert officers == [alice, second, alice, second]


def test_without_active_officers_the_publisher_gets_the_objection(
    published: Notice, alice: User
) -> None:
    alice.is_active = False
    alice.save()
    assert file(published).officer == alice


# --- resolving --------------------------------------------------------------------------------


def test_an_officer_resolves_an_objection_with_a_written_resolution(
    published: Notice, alice: User
) -> None:
    objection = file(published)
    objection_resolve(
        objection=objection, actor=alice, outcome="dismissed", resolution="经核查专利权属无误。"
    )
    assert objection.outcome == ObjectionOutcome.DISMISSED and objection.resolved_by == alice
    event = AuditEvent.objects.get(action="objection.resolve")
    assert event.data == {"objection": objection.pk, "outcome": "dismissed", "application": None}


def test_a_resolution_needs_an_outcome_and_a_text_and_happens_once(
    published: Notice, alice: User
) -> None:
    objection = file(published)
    with pytest.raises(WotuError, match="upheld or dismissed"):
        objection_resolve(objection=objection, actor=alice, outcome="open", resolution="好的好的")
    with pytest.raises(WotuError, match="resolution"):
        objection_resolve(objection=objection, actor=alice, outcome="upheld", resolution="  ")
    objection_resolve(objection=objection, actor=alice, outcome="upheld", resolution="情况属实。")
    with pytest.raises(WotuError, match="already resolved"):
        objection_resolve(objection=objection, actor=alice, outcome="dismissed", resolution="改判")


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "erin", "frank"])
def test_only_bureau_officers_read_and_resolve_objections(
    request: pytest.FixtureRequest, published: Notice, persona: str
) -> None:
    objection = file(published)
    user = request.getfixturevalue(persona)
    with pytest.raises(Refused):
        objection_list_for_user(user=user, notice=published)
    with pytest.raises(Refused):
        objection_resolve(objection=objection, actor=user, outcome="upheld", resolution="成立。")
    objection.refresh_from_db()
    assert objection.outcome == ObjectionOutcome.OPEN


# --- invariants -------------------------------------------------------------------------------

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


@given(st.text(alphabet=CJK, min_size=2, max_size=40))
@settings(max_examples=200)
def test_any_chinese_name_without_mou_or_niming_is_a_real_name(name: str) -> None:
    anonymous = (
        "某" in name or "匿名" in name or name in {"某某", "无名氏", "群众", "网友", "知情人"}
    )
    try:
        objector_name_check(name=name)
    except WotuError:
        assert anonymous or name in {"无名", "不详", "未知", "保密", "本人", "公民", "市民",
                                     "有人", "路人", "没有", "举报人", "知情者", "知情人士",
                                     "热心群众", "匿名者", "匿名人", "无名氏", "某人"}  # fmt: skip
    else:
        assert not anonymous


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_every_mainland_mobile_number_is_a_valid_contact(number: str) -> None:
    assert objector_contact_check(contact=number) == number
