"""The web app in a real browser (Playwright driving Debian's chromium): signing in as each role,
searching the registry, the facts chart, a bad upload, switching language.

Set WOTU_SCREENSHOTS=1 to also rewrite the README's screenshots in docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are plain synchronous code, so Django's async guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from playwright.sync_api import Page, expect

from wotu.conftest import PASSWORD, facts_row, make_uscc
from wotu.core.models import User
from wotu.organisations.models import EnterpriseYear, ImportBatch, Kind, Organisation, Region

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
# The ``browser`` and ``page`` fixtures are in wotu/conftest.py, shared by every browser test
# (one Playwright per test session: two sync Playwright instances cannot share a thread).


def sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("section.home[data-role]")


ROLES = {
    "alice": ("bureau_officer", ["registry", "import", "export", "policies", "runs", "programmes",
                                 "experts", "stages", "notices-manage", "challenges-manage",
                                 "ledger", "open-data"]),
    "bob": ("finance_officer", ["registry", "export", "policies", "runs", "programmes",
                                "challenges-manage", "ledger", "batches", "notices",
                                "open-data"]),
    "carol": ("expert", ["policies", "calls", "notices", "challenges", "open-data"]),
    "dave": ("applicant", ["own", "policies", "explain", "applications", "bids", "calls",
                           "payments", "notices", "challenges", "open-data"]),
    "erin": ("applicant", ["own", "policies", "explain", "applications", "bids", "calls",
                           "payments", "notices", "challenges", "open-data"]),
    "frank": ("bank_officer", ["registry", "policies", "calls", "notices", "challenges",
                               "open-data"]),
    "gina": ("superuser", ["registry", "import", "export", "policies", "runs", "programmes",
                           "experts", "stages", "notices-manage", "challenges-manage",
                           "ledger", "open-data", "admin"]),
}  # fmt: skip


@pytest.mark.parametrize("persona", list(ROLES))
def test_each_role_signs_in_to_a_home_page_with_its_own_links(
    request: pytest.FixtureRequest, page: Page, persona: str
) -> None:
    # given
    request.getfixturevalue(persona)
    role, links = ROLES[persona]
    # when
    sign_in(page, persona)
    # then
    expect(page.locator("section.home")).to_have_attribute("data-role", role)
    shown = page.locator("[data-home-link]").evaluate_all(
        "links => links.map(link => link.dataset.homeLink)"
    )
    assert shown == links
    expect(page.get_by_test_id("whoami")).to_contain_text(persona)


def test_an_anonymous_visitor_sees_the_landing_page_and_is_sent_to_sign_in(page: Page) -> None:
    page.goto("/")
    expect(page.locator("h1")).to_contain_text("沃土")
    page.goto("/registry/")
    expect(page).to_have_url("/login/?next=/registry/")


def test_searching_the_registry_and_opening_an_organisation_draws_its_chart(
    page: Page, alice: User, haina: Organisation, jiaodong: Organisation, hkust: Organisation
) -> None:
    # given
    sign_in(page, "alice")
    page.goto("/registry/")
    expect(page.get_by_test_id("result-count")).to_contain_text("共 3 个机构")
    # when the user types, htmx replaces the results and the address follows
    page.fill("#id_q", "海纳")
    expect(page.get_by_test_id("result-count")).to_contain_text("共 1 个机构")
    expect(page).to_have_url("/registry/?q=%E6%B5%B7%E7%BA%B3")
    page.get_by_role("link", name="海纳机器人有限公司").click()
    # then
    expect(page.get_by_test_id("organisation-name")).to_have_text("海纳机器人有限公司")
    expect(page.get_by_test_id("facts-chart").locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("qualifications")).to_contain_text("首次认定")


def test_a_filter_change_updates_the_results_without_reloading(
    page: Page, alice: User, haina: Organisation, jiaodong: Organisation, hkust: Organisation
) -> None:
    sign_in(page, "alice")
    page.goto("/registry/")
    page.evaluate("window.notReloaded = true")
    page.select_option("#id_region", "HK")
    expect(page.get_by_test_id("result-count")).to_contain_text("共 1 个机构")
    expect(page.get_by_test_id("registry-table")).to_contain_text("香港科技大学")
    assert page.evaluate("window.notReloaded") is True


def test_a_bad_facts_file_shows_the_error_table_and_nothing_is_saved(
    page: Page, alice: User, haina: Organisation, tmp_path: Path
) -> None:
    # given a file with a negative revenue on row 3
    header = "uscc,name,year,registered_on,employees,st_staff,revenue,rd_expense"
    good = f"{make_uscc(71)},青岛新材料有限公司,2023,2019-05-01,50,10,9000000,500000"
    bad = f"{make_uscc(72)},青岛海洋科技有限公司,2023,2020-01-01,40,8,-3,400000"
    path = tmp_path / "facts.csv"
    path.write_text(f"{header}\n{good}\n{bad}\n", encoding="utf-8")
    before = (EnterpriseYear.objects.count(), ImportBatch.objects.count())
    sign_in(page, "alice")
    page.goto("/registry/import/")
    page.evaluate("window.notReloaded = true")
    # when
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="校验并导入").click()
    # then
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_be_visible()
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr")).to_contain_text("revenue")
    expect(errors.locator("tbody tr")).to_contain_text("金额不得为负数")
    expect(errors.locator("tbody tr")).to_contain_text("money must not be negative")
    expect(page.get_by_test_id("import-failed")).to_contain_text("未保存任何数据")
    assert page.evaluate("window.notReloaded") is True  # htmx replaced the panel in place
    assert (EnterpriseYear.objects.count(), ImportBatch.objects.count()) == before


def test_switching_to_english_and_back_keeps_the_page(
    page: Page, alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    # given a search typed into the registry
    sign_in(page, "alice")
    page.goto("/registry/")
    page.fill("#id_q", "海纳")
    expect(page.get_by_test_id("result-count")).to_contain_text("共 1 个机构")
    expect(page).to_have_url(re.compile(r"q=%E6%B5%B7%E7%BA%B3"))
    # when
    page.get_by_test_id("lang-en").click()
    # then the same search reads in English
    expect(page.locator("h1")).to_have_text("Registry")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 organisation")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#id_q")).to_have_value("海纳")
    # and back
    page.get_by_test_id("lang-zh").click()
    expect(page.locator("h1")).to_have_text("机构名录")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")


# -- screenshots for the README ----------------------------------------------------------------

CITY = [
    ("海纳机器人有限公司", "Haina Robotics Co., Ltd.", "370212", 2015, "industrial", True, 52),
    ("青岛蓝海生物医药股份有限公司", "Qingdao Blue Ocean Biopharma Co., Ltd.", "370211", 2012,
     "industrial", True, 180),
    ("崂山智能传感科技有限公司", "Laoshan Smart Sensing Technology Co., Ltd.", "370212", 2018,
     "industrial", True, 24),
    ("胶州湾新材料有限公司", "Jiaozhou Bay New Materials Co., Ltd.", "370281", 2010, "industrial",
     True, 310),
    ("青岛云帆软件有限公司", "Qingdao Yunfan Software Co., Ltd.", "370202", 2016, "service",
     False, 38),
    ("即墨海洋装备制造有限公司", "Jimo Marine Equipment Co., Ltd.", "370215", 2008, "industrial",
     True, 420),
    ("城阳绿色能源科技有限公司", "Chengyang Green Energy Technology Co., Ltd.", "370214", 2017,
     "industrial", True, 66),
    ("市北数字医疗科技有限公司", "Shibei Digital Health Technology Co., Ltd.", "370203", 2019,
     "service", False, 15),
]  # fmt: skip


def _build_city() -> Organisation:
    """A few enterprises with five believable years each, plus HK and Macao institutions."""
    featured = None
    for index, (name, name_en, district, founded, sector, making, revenue_m) in enumerate(CITY):
        registered = dt.date(founded, 4, 1)
        org = Organisation.objects.create(
            kind=Kind.ENTERPRISE, region=Region.MAINLAND, name=name, name_en=name_en,
            uscc=make_uscc(500 + index, district), district_code=district,
            registered_on=registered, sector=sector, manufacturing=making,
        )  # fmt: skip
        featured = featured or org
        for offset, year in enumerate(range(2019, 2024)):
            facts = _believable_year(index, offset, Decimal(revenue_m))
            facts |= {"name": name, "district_code": district, "registered_on": registered,
                      "sector": sector, "manufacturing": making}  # fmt: skip
            if index % 3 != 1:
                facts["tech_sme_number"] = f"{year}{district}A{index * 100 + offset:07d}"
            facts["in_listing_pool"] = index == 0 and year >= 2022
            EnterpriseYear.objects.create(organisation=org, year=year, **facts_row(**facts))
    Organisation.objects.create(kind=Kind.UNIVERSITY, region=Region.HONG_KONG, name="香港科技大学",
                                name_en="The Hong Kong University of Science and Technology",
                                local_id="HK-UNI-0001")  # fmt: skip
    Organisation.objects.create(kind=Kind.UNIVERSITY, region=Region.MACAO, name="澳门大学",
                                name_en="University of Macau", local_id="MO-UNI-0001")  # fmt: skip
    Organisation.objects.create(kind=Kind.BANK, region=Region.MAINLAND, name="青岛银行崂山支行",
                                name_en="Bank of Qingdao, Laoshan Branch",
                                uscc=make_uscc(900), district_code="370212")  # fmt: skip
    assert featured is not None
    return featured


def _believable_year(index: int, offset: int, revenue_millions: Decimal) -> dict[str, Any]:
    """Steady growth, R&D intensity creeping up, certificates every three years."""
    growth = 1 + Decimal("0.14") * offset + Decimal("0.02") * index
    revenue = (revenue_millions * growth * 1_000_000).quantize(Decimal("1000"))
    certified = index % 2 == 0
    return {
        "employees": 80 + 12 * offset + 5 * index,
        "st_staff": 22 + 4 * offset,
        "revenue": revenue,
        "total_costs": revenue * Decimal("0.82"),
        "total_assets": revenue * Decimal("1.3"),
        "net_assets": revenue * Decimal("0.6"),
        "rd_expense": (revenue * (Decimal("0.045") + Decimal(offset) / 400)).quantize(Decimal(1)),
        "hitech_revenue": revenue * Decimal("0.7"),
        "ip_class1": 1 + offset,
        "ip_class2": 4 + offset,
        "conversions": 2 + offset % 3,
        "hitech_cert_year": (2019 if offset < 3 else 2022) if certified else None,
        "hitech_first_cert_year": 2019 if certified else None,
    }


@pytest.mark.skipif(os.environ.get("WOTU_SCREENSHOTS") != "1", reason="set WOTU_SCREENSHOTS=1")
def test_screenshots_of_the_registry_and_an_organisation_for_the_readme(
    page: Page, alice: User
) -> None:
    featured = _build_city()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, "alice")
    page.goto("/registry/")
    expect(page.get_by_test_id("registry-table")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "registry.png"), full_page=True)
    page.goto(f"/registry/{featured.pk}/")
    expect(page.get_by_test_id("facts-chart").locator("canvas")).to_have_count(1)
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.screenshot(path=str(SCREENSHOTS / "organisation.png"))
