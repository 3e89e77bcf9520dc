"""The notice in a real browser: an officer publishes it, a member of the public files an
objection (an anonymous one is refused first), the officer resolves it and records the
committee decision, and the public sees the funded list."""

from __future__ import annotations

import datetime as dt
import os
import re

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Award, CallStatus
from wotu.reviews.models import Notice, Objection, ObjectionOutcome
from wotu.reviews.tests.test_notice import call_on_notice_stage

pytestmark = pytest.mark.browser


def sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("section.home[data-role]")


def test_notice_objection_resolution_and_decision_end_to_end(
    page: Page, alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    # given a call whose review is finished with two projects above the funding line
    call, apps = call_on_notice_stage([haina, jiaodong])
    target = apps[1]

    # when the officer publishes the notice
    sign_in(page, "alice")
    page.goto("/notices/manage/")
    page.get_by_test_id(f"publish-{call.code}").click()
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("objections")).to_have_count(0)
    notice = Notice.objects.get(call=call)
    page.click("form[action='/logout/'] button")

    # then the public sees it without signing in and files an objection
    page.goto("/notices/")
    page.get_by_role("link", name=call.title).click()
    expect(page.get_by_test_id("entries")).to_contain_text(target.reference)
    page.fill("#id_name", "匿名")
    page.fill("#id_contact", "13812345678")
    page.select_option("#id_reference", target.reference)
    page.fill("#id_text", "该项目的合作单位并未实际参与研发，请核实。")
    page.click("[data-testid=objection-form] button[type=submit]")
    expect(page.get_by_test_id("error-summary")).to_contain_text("匿名")
    page.fill("#id_name", "王建国")
    page.click("[data-testid=objection-form] button[type=submit]")
    receipt = page.get_by_test_id("receipt").inner_text()
    objection = Objection.objects.get(notice=notice)
    assert receipt == f"N{notice.pk}-{objection.pk:06d}"

    # when the officer upholds it
    sign_in(page, "alice")
    page.goto(f"/notices/{notice.pk}/objections/")
    page.get_by_role("link", name=receipt).click()
    expect(page.locator("dd.mono")).to_have_text("13812345678")
    page.check("input[value=upheld]")
    page.fill("#id_resolution", "经核查，合作单位未参与研发，异议成立。")
    page.click("[data-testid=resolve-form] button[type=submit]")
    expect(page.get_by_test_id(f"outcome-{receipt}")).to_contain_text(re.compile("成立|Upheld"))
    objection.refresh_from_db()
    assert objection.outcome == ObjectionOutcome.UPHELD

    # and, the window having closed, records the committee decision
    Notice.objects.filter(pk=notice.pk).update(closes_at=timezone.now() - dt.timedelta(days=1))
    page.get_by_test_id("to-decision").click()
    page.fill("#id_minutes", "2026 年第 9 次局务会议纪要")
    page.get_by_test_id("record-decision").click()

    # then the public funded list shows the one project left, with its amount
    expect(page.get_by_test_id("funded")).to_contain_text(apps[0].reference)
    expect(page.get_by_test_id("funded")).not_to_contain_text(target.reference)
    expect(page.get_by_test_id("funded-total")).to_have_text("¥300,000.00")
    call.refresh_from_db()
    assert call.status == CallStatus.DECIDED and Award.objects.count() == 1
