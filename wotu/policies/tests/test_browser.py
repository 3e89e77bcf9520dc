"""The policy screens in a real browser (Playwright driving Debian's chromium): the catalogue,
an explanation, starting a run and watching it finish, a scenario comparison with its chart.

Set WOTU_SCREENSHOTS=1 to also write screenshots of these pages to docs/screenshots/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are plain synchronous code, so Django's async guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from playwright.sync_api import Page, expect

from wotu.core.models import User
from wotu.core.tests.test_browser import sign_in
from wotu.organisations.models import Organisation
from wotu.policies import services
from wotu.policies.models import PolicyRun

pytestmark = pytest.mark.browser

POLICY = "qingdao-wotu-2021"
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def screenshot(page: Page, name: str) -> None:
    if os.environ.get("WOTU_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_catalogue_leads_to_a_policy_with_its_rules_and_references(
    page: Page, alice: User
) -> None:
    # given
    sign_in(page, "alice")
    # when
    page.goto("/policies/")
    page.get_by_role("link", name="青岛市“沃土计划”（2021—2024年）").click()
    # then
    expect(page.get_by_test_id("policy-name")).to_have_text("青岛市“沃土计划”（2021—2024年）")
    rule = page.locator('[data-rule="qingdao.rd_growth_top200"]')
    expect(rule).to_contain_text("排名在奖励名额内")
    expect(rule).to_contain_text("否则：")
    rule.locator('a[href="#param-rd_growth.cap"]').first.click()
    expect(page).to_have_url(f"/policies/{POLICY}/#param-rd_growth.cap")
    cap = page.locator('[id="param-rd_growth.cap"]')
    expect(cap).to_contain_text("¥500,000.00")
    expect(cap).to_contain_text("企业研发投入增长奖励")
    screenshot(page, "policy")


def test_an_applicant_opens_the_explanation_of_its_own_award(
    page: Page, alice: User, dave: User, haina: Organisation, jiaodong: Organisation
) -> None:
    # given the bureau has run the plan for 2023
    services.run_create(user=alice, policy_id=POLICY, year=2023, immediately=True)
    sign_in(page, "dave")
    page.goto("/policies/explain/")
    # when the applicant picks the year (its code is filled in and cannot be changed)
    expect(page.locator("#id_uscc")).to_have_value(str(haina.uscc))
    expect(page.locator("#id_uscc")).to_have_attribute("readonly", "readonly")
    page.select_option("#id_policy", POLICY)
    page.fill("#id_year", "2023")
    page.get_by_role("button", name="查看说明").click()
    # then
    explanation = page.get_by_test_id("explanation")
    expect(explanation).to_contain_text("海纳机器人有限公司")
    award = explanation.locator('[data-node="qingdao.rd_growth_top200"]').first
    expect(award.get_by_test_id("node-value").first).to_have_text("¥220,000.00")
    expect(award.get_by_test_id("branch").first).to_contain_text("排名在奖励名额内")
    expect(explanation).not_to_contain_text("未进入奖励名额")
    screenshot(page, "explanation")


def test_starting_a_run_shows_its_progress_until_the_totals_and_chart_appear(
    page: Page, alice: User, haina: Organisation, jiaodong: Organisation, settings: Any
) -> None:
    # given a task queue that holds the run until the test lets it go
    settings.TASKS = DUMMY
    sign_in(page, "alice")
    page.goto("/policies/")
    page.get_by_role("link", name="青岛市“沃土计划”（2021—2024年）").click()
    page.get_by_test_id("run-link").click()
    # when
    expect(page.locator("#id_year")).to_have_value("2023")
    page.get_by_role("button", name="开始运行").click()
    # then the run's page follows its progress
    progress = page.get_by_test_id("run-progress")
    expect(progress).to_have_attribute("data-status", "queued")
    expect(progress.locator("progress")).to_be_visible()
    run = PolicyRun.objects.get()
    services.run_execute(run_id=run.pk)  # the worker executes it
    # and shows the outcome once it is done, without the user reloading
    expect(page.get_by_test_id("totals")).to_be_visible()
    expect(page.get_by_test_id("schemes-chart").locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("results-table")).to_contain_text("海纳机器人有限公司")
    expect(page.get_by_test_id("run-progress")).to_have_count(0)
    screenshot(page, "run")


def test_sorting_results_updates_the_table_in_place(
    page: Page, alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    run = services.run_create(user=alice, policy_id=POLICY, year=2023, immediately=True)
    sign_in(page, "alice")
    page.goto(f"/policies/runs/{run.pk}/")
    page.evaluate("window.notReloaded = true")
    page.locator('a[data-sort="scheme"]').first.click()
    expect(page).to_have_url(f"/policies/runs/{run.pk}/?sort=scheme&dir=asc")
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("项目")
    assert page.evaluate("window.notReloaded") is True


def test_a_comparison_draws_the_baseline_and_the_scenario_side_by_side(
    page: Page, alice: User, bob: User, haina: Organisation, jiaodong: Organisation
) -> None:
    # given a baseline and a scenario with a lower cap on the R&D growth award
    baseline = services.run_create(user=alice, policy_id=POLICY, year=2023, immediately=True)
    scenario = services.run_create(
        user=alice, policy_id=POLICY, year=2023, overrides={"rd_growth.cap": "100000"},
        baseline=baseline, immediately=True,
    )  # fmt: skip
    # when the finance officer opens the scenario and follows the link to compare
    sign_in(page, "bob")
    page.goto(f"/policies/runs/{scenario.pk}/")
    page.get_by_test_id("compare-link").click()
    # then
    expect(page).to_have_url(f"/policies/runs/{baseline.pk}/compare/{scenario.pk}/")
    expect(page.get_by_test_id("compare-chart").locator("canvas")).to_have_count(1)
    expect(page.get_by_test_id("budget-impact")).to_have_text("-¥120,000.00")
    expect(page.get_by_test_id("losers")).to_contain_text("海纳机器人有限公司")
    screenshot(page, "compare")
