"""A review stage in a real browser: the officer runs the assignment, the expert affirms "no
conflict", reads the application and scores it."""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in this thread; the ORM calls made between browser
# steps are plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from playwright.sync_api import Page, expect

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.reviews.models import Assignment, AssignmentStatus, Expert
from wotu.reviews.tests.test_stages import expert_make, review_call

pytestmark = pytest.mark.browser


def sign_in(page: Page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_selector("section.home[data-role]")


def test_an_officer_assigns_and_an_expert_affirms_and_scores(
    page: Page, alice: User, carol: User, haina: Organisation
) -> None:
    # given a stage with one application and carol as the only expert
    _, stage, (app,) = review_call(applicants=[haina], panel=1)
    app.answers = {"summary": "一种协作机器人关节模组"}
    app.save()
    expert_make(user=carol, code="E-CAROL")
    # when the officer runs the assignment
    sign_in(page, "alice")
    page.goto(f"/reviews/stages/{stage.pk}/")
    page.fill("#id_seed", "11")
    page.click("[data-testid=assign]")
    # then the stage is scoring and one declaration is awaited
    expect(page.locator("[data-testid=pending]")).to_have_text("1")
    expect(page.locator("[data-testid=run]")).to_contain_text("11")
    # when carol opens her assignments and affirms no conflict
    sign_in(page, "carol")
    page.goto("/reviews/mine/")
    page.locator("[data-testid=my-assignments] a.button").first.click()
    expect(page.locator("[data-testid=lead]")).to_have_text(haina.name)
    expect(page.get_by_text("一种协作机器人关节模组")).to_have_count(0)
    page.check("input[name=declaration][value=none]")
    page.click("[data-testid=declare]")
    # then the full application opens
    expect(page.locator("[data-testid=answers]")).to_contain_text("一种协作机器人关节模组")
    # when she scores it
    page.click("[data-testid=score-link]")
    page.fill("#id_mark_innovation", "85")
    page.fill("#id_mark_feasibility", "75")
    page.fill("#id_mark_team", "90")
    page.fill("#id_comment", "技术路线清晰")
    page.click("[data-testid=submit-score]")
    # then her assignment is scored, and the officer sees the count
    expect(page.locator("[data-testid=my-assignments]")).to_be_visible()
    assignment = Assignment.objects.get()
    assert assignment.status == AssignmentStatus.SCORED
    assert str(assignment.score.total) == "83.50"
    sign_in(page, "alice")
    page.goto(f"/reviews/stages/{stage.pk}/")
    expect(page.locator("[data-testid=scored]")).to_have_text("1")


def test_an_officer_finds_the_experts_organisation_by_typing_and_picks_it(
    page: Page, alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    # given the expert form
    sign_in(page, "alice")
    page.goto("/reviews/experts/new/")
    page.fill("#id_code", "E-300")
    page.fill("#id_name", "周工")
    page.check("input[name=fields_][value=machinery]")
    # when the officer types part of an English name and picks the suggestion
    page.fill("#id_organisation", "Haina")
    suggestion = page.get_by_test_id("org-suggestion")
    expect(suggestion).to_have_count(1)
    suggestion.click()
    # then the box shows the choice, whose id the form posts
    expect(page.get_by_test_id("org-chosen")).to_contain_text(haina.name)
    expect(page.locator("#id_organisation-value")).to_have_value(str(haina.pk))
    # (the picker was swapped in by htmx: let it settle so the new box listens before typing)
    page.wait_for_function(
        "() => document.querySelectorAll('.htmx-request, .htmx-swapping, .htmx-settling')"
        ".length === 0"
    )
    # when the officer types again, the choice is cleared until a suggestion is picked
    page.fill("#id_organisation", "Jiaodong")
    expect(page.get_by_test_id("org-suggestion")).to_contain_text(jiaodong.name)
    expect(page.locator("#id_organisation-value")).to_have_value("")
    page.get_by_test_id("org-suggestion").click()
    expect(page.get_by_test_id("org-chosen")).to_contain_text(jiaodong.name)
    page.click("[data-testid=expert-form] button[type=submit]")
    expect(page.get_by_test_id("error-summary")).to_have_count(0)
    expect(page.locator("h1")).to_contain_text("周工")
    assert Expert.objects.get(code="E-300").organisation == jiaodong
