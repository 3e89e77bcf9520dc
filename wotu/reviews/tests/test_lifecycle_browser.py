"""One call from application to funded list in a real browser, on a one-stage pipeline
(professional review → public notice → committee decision).

The applicant drafts and submits; the officer closes the call, passes the formal check and
runs the assignment; the expert affirms "no conflict" and scores; the officer closes the stage.
The notice is published three weeks ago — through the service, with the notice module's clock
set back, so the window has really elapsed by today (no row is edited); while that clock still
reads inside the window, a member of the public files an objection and the officer resolves
it. Back in the present, the officer records the committee decision and the public sees the
funded list.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

# Playwright's sync API runs an event loop in this thread; the ORM calls made between browser
# steps are plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.programmes.models import Application, Award, CallStatus, StageStatus, Status
from wotu.programmes.tests.factories import RUBRIC, SHANGHAI
from wotu.programmes.tests.test_services import PDF, open_call
from wotu.reviews import notice as notice_module
from wotu.reviews.models import Assignment, AssignmentStatus, Notice, Objection, ObjectionOutcome
from wotu.reviews.notice import notice_publish
from wotu.reviews.tests.test_stages import expert_make

pytestmark = pytest.mark.browser

ONE_STAGE: list[dict[str, Any]] = [
    {"kind": "professional", "panel_size": 1, "max_load": 5, "rubric": RUBRIC,
     "pass_rule": {"min_score": 60}},
    {"kind": "notice"},
    {"kind": "committee"},
]  # fmt: skip


class Clock:
    """Stands in for ``django.utils.timezone`` in the notice module: ``now()`` reads
    ``moment``. The live server runs in this process, so its requests read it too."""

    def __init__(self, moment: dt.datetime) -> None:
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def sign_in(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("section.home[data-role]")


def test_a_call_runs_from_application_to_the_public_funded_list(
    page: Page,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    dave: User,
    alice: User,
    carol: User,
) -> None:
    call = open_call(pipeline=ONE_STAGE)
    stage = call.stages.get(kind="professional")
    expert_make(user=carol, code="E-CAROL", fields=("machinery",))
    proposal = tmp_path / "申报书.pdf"
    proposal.write_bytes(PDF)

    # the applicant drafts, then submits
    sign_in(page, "dave")
    page.goto("/programmes/open/")
    page.get_by_role("link", name=call.title).click()
    page.get_by_test_id("apply").click()
    page.fill("#id_title", "工业机器人关节减速器")
    page.select_option("#id_field", "machinery")
    page.fill("#id_answer_summary", "高精度 RV 减速器的国产化。")
    page.fill("#id_answer_start", "2026-06-01")
    page.set_input_files("#id_answer_plan", str(proposal))
    for line, amount in (("equipment", "100,000"), ("staff", "80000"), ("other", "20000")):
        page.fill(f"#id_budget_{line}", amount)
    page.fill("#id_requested", "200,000.00")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("stored-plan")).to_contain_text("申报书.pdf")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("application-status")).to_have_text("已提交")
    application = Application.objects.get()
    assert application.requested == 200000

    # the officer closes the call, passes the formal check and runs the assignment
    sign_in(page, "alice")
    page.goto(f"/programmes/calls/{call.pk}/")
    page.locator(f"form[action='/programmes/calls/{call.pk}/close/'] button").click()
    expect(page.get_by_test_id("call-status")).to_have_text(re.compile("评审中|In review"))
    page.locator(f"tr[data-reference='{application.reference}']").get_by_role("link").last.click()
    page.check("input[name=outcome][value=pass]")
    page.get_by_test_id("record-check").click()
    expect(page.get_by_test_id("status-counts")).to_contain_text("评审中")
    page.goto(f"/reviews/stages/{stage.pk}/")
    page.fill("#id_seed", "3")
    page.click("[data-testid=assign]")
    expect(page.locator("[data-testid=pending]")).to_have_text("1")

    # the expert affirms no conflict and scores
    sign_in(page, "carol")
    page.goto("/reviews/mine/")
    page.locator("[data-testid=my-assignments] a.button").first.click()
    page.check("input[name=declaration][value=none]")
    page.click("[data-testid=declare]")
    expect(page.locator("[data-testid=answers]")).to_contain_text("高精度 RV 减速器的国产化。")
    page.click("[data-testid=score-link]")
    page.fill("#id_mark_innovation", "88")
    page.fill("#id_mark_feasibility", "80")
    page.fill("#id_mark_team", "90")
    page.click("[data-testid=submit-score]")
    expect(page.locator("[data-testid=my-assignments]")).to_be_visible()
    assert Assignment.objects.get().status == AssignmentStatus.SCORED

    # the officer closes the stage: the application is proposed for its full request
    sign_in(page, "alice")
    page.goto(f"/reviews/stages/{stage.pk}/")
    page.click("[data-testid=close]")
    expect(page.get_by_test_id("results")).to_contain_text(application.reference)
    application.refresh_from_db()
    assert application.status == Status.NOTICE and application.proposed == 200000

    # the notice was published three weeks ago (its five working days are long over) ...
    published = timezone.localtime(timezone.now(), SHANGHAI).replace(
        hour=10, minute=0, second=0, microsecond=0
    ) - dt.timedelta(days=21)
    clock = Clock(published)
    monkeypatch.setattr(notice_module, "timezone", clock)
    notice = notice_publish(call=call, actor=alice)
    assert notice.published_at == published and notice.closes_at < timezone.now()
    page.goto(f"/programmes/calls/{call.pk}/")
    expect(page.locator("[data-stage=notice]")).to_have_attribute("data-state", "scoring")

    # ... and while the clock reads inside that window, the public files an objection
    clock.moment = published + dt.timedelta(hours=2)
    page.context.clear_cookies()
    page.goto("/notices/")
    page.get_by_role("link", name=call.title).click()
    expect(page.get_by_test_id("entries")).to_contain_text(application.reference)
    page.fill("#id_name", "王建国")
    page.fill("#id_contact", "13812345678")
    page.select_option("#id_reference", application.reference)
    page.fill("#id_text", "该项目的减速器专利并非申报单位所有，请核实。")
    page.click("[data-testid=objection-form] button[type=submit]")
    receipt = page.get_by_test_id("receipt").inner_text()

    # the officer resolves it (dismissed: the patent is the applicant's)
    clock.moment = published + dt.timedelta(days=1)
    sign_in(page, "alice")
    page.goto(f"/notices/{notice.pk}/objections/")
    page.get_by_role("link", name=receipt).click()
    page.check("input[value=dismissed]")
    page.fill("#id_resolution", "经核查，专利权人为申报单位，异议不成立。")
    page.click("[data-testid=resolve-form] button[type=submit]")
    objection = Objection.objects.get(notice=notice)
    assert objection.outcome == ObjectionOutcome.DISMISSED
    assert objection.resolved_at == published + dt.timedelta(days=1)

    # back in the present, after the window, the committee decision is recorded
    monkeypatch.setattr(notice_module, "timezone", timezone)
    page.goto(f"/notices/{notice.pk}/objections/")
    page.get_by_test_id("to-decision").click()
    expect(page.get_by_test_id("too-early")).to_have_count(0)
    page.fill("#id_minutes", "2026 年第 11 次局务会议纪要")
    page.get_by_test_id("record-decision").click()
    call.refresh_from_db()
    assert call.status == CallStatus.DECIDED
    assert Award.objects.get(application=application).amount == 200000
    assert set(call.stages.values_list("status", flat=True)) == {StageStatus.CLOSED}

    # the public sees the funded list
    page.context.clear_cookies()
    page.goto(f"/notices/{notice.pk}/decision/")
    expect(page.get_by_test_id("funded")).to_contain_text(application.reference)
    expect(page.get_by_test_id("funded-total")).to_have_text("¥200,000.00")
    assert Notice.objects.count() == 1
