"""Steps 1–2 of the lifecycle in a real browser: an applicant drafts, uploads a PDF and submits;
an officer passes the formal check and the applicant sees the application in review."""

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
from wotu.programmes.models import Application, Status
from wotu.programmes.tests.test_services import PDF, open_call

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def test_an_applicant_drafts_uploads_and_submits_then_the_officer_passes_the_check(
    page: Page, dave: User, alice: User, tmp_path: Path
) -> None:
    # given an open call
    call = open_call()
    proposal = tmp_path / "申报书.pdf"
    proposal.write_bytes(PDF)
    # when the applicant starts an application from the open calls
    sign_in(page, "dave")
    page.goto("/programmes/open/")
    page.get_by_role("link", name=call.title).click()
    page.get_by_test_id("apply").click()
    page.fill("#id_title", "工业机器人关节减速器")
    page.select_option("#id_field", "machinery")
    page.fill("#id_answer_summary", "高精度 RV 减速器的国产化。")
    page.set_input_files("#id_answer_plan", str(proposal))
    page.get_by_test_id("save").click()
    # then the draft is saved with its file
    expect(page.get_by_test_id("stored-plan")).to_contain_text("申报书.pdf")
    # when it is submitted incomplete, every problem is shown next to its field
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    expect(page.locator("#id_answer_start_error")).to_contain_text("必填")
    expect(page.locator("#id_requested_error")).to_be_visible()
    # when the applicant completes it and submits
    page.fill("#id_answer_start", "2026-06-01")
    for line, amount in (("equipment", "100000"), ("staff", "80000"), ("other", "20000")):
        page.fill(f"#id_budget_{line}", amount)
    page.fill("#id_requested", "200000")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("application-status")).to_have_text("已提交")
    application = Application.objects.get()
    assert application.status == Status.SUBMITTED
    # when the officer runs the formal check from the call's list
    page.context.clear_cookies()
    sign_in(page, "alice")
    page.goto(f"/programmes/calls/{call.pk}/")
    page.locator(f"tr[data-reference='{application.reference}']").get_by_role("link").last.click()
    page.check("input[name=outcome][value=pass]")
    page.get_by_test_id("record-check").click()
    # then the application is in review at the first scored stage
    expect(page.get_by_test_id("status-counts")).to_contain_text("评审中")
    application.refresh_from_db()
    assert application.status == Status.IN_REVIEW
    assert application.stage is not None and application.stage.kind == "professional"
    # and the applicant sees it in review
    page.context.clear_cookies()
    sign_in(page, "dave")
    page.goto("/programmes/mine/")
    expect(page.get_by_test_id("my-applications")).to_contain_text("评审中")
