"""Shared test personas and a small registry.

Personas (as in the style guide): alice (bureau officer), bob (finance officer), carol
(expert), dave (applicant of Haina Robotics), erin (applicant of Jiaodong Biotech), frank
(bank officer of Laoshan Bank), gina (superuser); the anonymous visitor is no user at all.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from wotu.core.models import Role, User
from wotu.organisations.models import EnterpriseYear, Kind, Organisation, Region
from wotu.organisations.uscc import uscc_build

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "wotu-test-password-1"

# Properties are about values, never about speed: no per-example deadline (a loaded CI machine
# would make timing-based failures flaky), and slow data generation is not an error.
hypothesis_settings.register_profile(
    "wotu", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("wotu")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Personas are created in almost every test; real PBKDF2 would dominate the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_uscc(serial: int, division: str = "370212") -> str:
    return uscc_build(authority="9", org_type="1", division=division, body8=f"{serial:08d}")


def facts_row(**overrides: Any) -> dict[str, Any]:
    """A valid facts record as the importer stores it (before contract defaults)."""
    row: dict[str, Any] = {
        "name": "海纳机器人有限公司",
        "district_code": "370212",
        "registered_on": dt.date(2015, 3, 1),
        "sector": "industrial",
        "manufacturing": True,
        "above_designated_size": True,
        "employees": 120,
        "st_staff": 40,
        "revenue": Decimal("52000000.00"),
        "total_costs": Decimal("45000000.00"),
        "total_assets": Decimal("60000000.00"),
        "net_assets": Decimal("30000000.00"),
        "rd_expense": Decimal("3100000.00"),
        "rd_expense_domestic": None,
        "rd_deductible": None,
        "hitech_revenue": Decimal("40000000.00"),
        "ip_class1": 2,
        "ip_class2": 5,
        "conversions": 3,
        "hitech_cert_year": None,
        "hitech_first_cert_year": None,
        "tech_sme_number": "",
        "in_listing_pool": False,
        "listed": False,
        "incident": False,
    }
    row.update(overrides)
    return row


@pytest.fixture
def haina(db: None) -> Organisation:
    org = Organisation.objects.create(
        kind=Kind.ENTERPRISE, region=Region.MAINLAND, name="海纳机器人有限公司",
        name_en="Haina Robotics Co., Ltd.", uscc=make_uscc(1), district_code="370212",
        registered_on=dt.date(2015, 3, 1), sector="industrial", manufacturing=True,
    )  # fmt: skip
    EnterpriseYear.objects.create(organisation=org, year=2022, **facts_row(
        hitech_cert_year=2022, hitech_first_cert_year=2019, tech_sme_number="2022370212A0000001"))  # fmt: skip
    EnterpriseYear.objects.create(organisation=org, year=2023, **facts_row(
        revenue=Decimal("61000000.00"), rd_expense=Decimal("4200000.00"),
        hitech_cert_year=2022, hitech_first_cert_year=2019, in_listing_pool=True))  # fmt: skip
    return org


@pytest.fixture
def jiaodong(db: None) -> Organisation:
    org = Organisation.objects.create(
        kind=Kind.ENTERPRISE, region=Region.MAINLAND, name="胶东生物科技有限公司",
        name_en="Jiaodong Biotech Co., Ltd.", uscc=make_uscc(2, "370203"), district_code="370203",
        registered_on=dt.date(2018, 6, 15), sector="service",
    )  # fmt: skip
    EnterpriseYear.objects.create(organisation=org, year=2023, **facts_row(
        name="胶东生物科技有限公司", district_code="370203", registered_on=dt.date(2018, 6, 15),
        sector="service", manufacturing=False, employees=30, st_staff=12,
        revenue=Decimal("8000000.00"), rd_expense=Decimal("900000.00"),
        tech_sme_number="2023370203A0000002"))  # fmt: skip
    return org


@pytest.fixture
def laoshan_bank(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Kind.BANK, region=Region.MAINLAND, name="崂山农商银行", name_en="Laoshan Rural Bank",
        uscc=make_uscc(3), district_code="370212",
    )  # fmt: skip


@pytest.fixture
def hkust(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Kind.UNIVERSITY, region=Region.HONG_KONG, name="香港科技大学",
        name_en="The Hong Kong University of Science and Technology", local_id="HK-UNI-0001",
    )  # fmt: skip


def _user(username: str, role: str, organisation: Organisation | None = None, **extra: Any) -> User:
    user = User(username=username, role=role, organisation=organisation, **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def alice(db: None) -> User:
    return _user("alice", Role.BUREAU_OFFICER)


@pytest.fixture
def bob(db: None) -> User:
    return _user("bob", Role.FINANCE_OFFICER)


@pytest.fixture
def carol(db: None) -> User:
    return _user("carol", Role.EXPERT)


@pytest.fixture
def dave(haina: Organisation) -> User:
    return _user("dave", Role.APPLICANT, haina)


@pytest.fixture
def erin(jiaodong: Organisation) -> User:
    return _user("erin", Role.APPLICANT, jiaodong)


@pytest.fixture
def frank(laoshan_bank: Organisation) -> User:
    return _user("frank", Role.BANK_OFFICER, laoshan_bank)


@pytest.fixture
def gina(db: None) -> User:
    return _user("gina", "", is_superuser=True, is_staff=True)


# -- the browser, for tests marked ``browser`` ---------------------------------------------------
# One Playwright per test session, shared by every app's browser tests: two sync Playwright
# instances cannot run in the same thread.

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None and os.environ.get("CI") != "true":
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()
