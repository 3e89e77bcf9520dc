"""Challenge task pages and API for every persona: public task pages, officers' posting,
selection and milestone acceptance, applicants' bids and milestone reports."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from wotu.core.models import User
from wotu.core.services import api_token_create
from wotu.core.tests.access import persona_client
from wotu.programmes.challenges import (
    challenge_select,
    milestone_plan_set,
    milestone_submit,
)
from wotu.programmes.models import Application, ChallengeTask, Milestone, MilestoneStatus, Status
from wotu.programmes.tests.test_challenges import PLAN, bid, challenge_programme, post, reviewed

pytestmark = pytest.mark.django_db
PERSONAS = ["anonymous", "alice", "bob", "carol", "dave", "erin", "frank", "gina"]


def api_client(request: pytest.FixtureRequest, persona: str) -> Client:
    if persona == "anonymous":
        return Client()
    _, raw = api_token_create(user=request.getfixturevalue(persona), name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def world(alice: User, dave: User, erin: User) -> dict[str, Any]:
    """An open task with dave's bid; a decided task with dave's selected bid and a milestone
    plan whose first milestone is submitted, and erin's bid not selected."""
    open_task = post(alice)
    open_bid = bid(open_task, dave)
    done = post(alice, title="已选定任务")
    winner, loser = bid(done, dave, "1000000"), bid(done, erin, "900000")
    reviewed(winner, loser)
    challenge_select(task=done, actor=alice, application_ids=[winner.pk])
    first, *_ = milestone_plan_set(application=winner, actor=alice, milestones=PLAN)
    milestone_submit(milestone=first, actor=dave, report="样机完成，附测试报告。")
    return {"open": open_task, "open_bid": open_bid, "done": done, "winner": winner,
            "loser": loser, "milestone": first}  # fmt: skip


PAGES = {
    "list": "/challenges/",
    "task": "/challenges/{open}/",
    "missing task": "/challenges/999999/",
    "manage": "/challenges/manage/",
    "post": "/challenges/post/",
    "bids": "/challenges/{open}/bids/",
    "bid form": "/challenges/{open}/bid/",
    "mine": "/challenges/mine/",
    "dave's bid": "/challenges/bids/{winner}/",
    "erin's bid": "/challenges/bids/{loser}/",
}
L = 302
# persona:        anon alice bob  carol dave erin frank gina
ACCESS = {
    "list":         [200, 200, 200, 200, 200, 200, 200, 200],
    "task":         [200, 200, 200, 200, 200, 200, 200, 200],
    "missing task": [404, 404, 404, 404, 404, 404, 404, 404],
    "manage":       [L, 200, 200, 403, 403, 403, 403, 200],
    "post":         [L, 200, 403, 403, 403, 403, 403, 200],
    "bids":         [L, 200, 200, 403, 403, 403, 403, 200],
    "bid form":     [L, 403, 403, 403, 200, 200, 403, 403],
    "mine":         [L, 403, 403, 403, 200, 200, 403, 403],
    "dave's bid":   [L, 200, 200, 404, 200, 404, 404, 200],
    "erin's bid":   [L, 200, 200, 404, 404, 200, 404, 200],
}  # fmt: skip
CASES = [(p, persona, s[i]) for p, s in ACCESS.items() for i, persona in enumerate(PERSONAS)]


def url(page: str, world: dict[str, Any]) -> str:
    return PAGES[page].format(
        open=world["open"].pk, winner=world["winner"].pk, loser=world["loser"].pk
    )


@pytest.mark.parametrize(("page", "persona", "expected"), CASES)
def test_every_page_answers_every_persona_as_the_role_matrix_says(
    request: pytest.FixtureRequest, world: dict[str, Any], page: str, persona: str, expected: int
) -> None:
    response = persona_client(request=request, persona=persona).get(url(page, world))
    assert response.status_code == expected
    if expected == L:
        assert response["Location"].startswith("/login/?next=")


POSTS = {
    "select": "/challenges/{open}/select/",
    "plan": "/challenges/bids/{winner}/plan/",
    "decide": "/challenges/milestones/{milestone}/decide/",
    "submit": "/challenges/milestones/{milestone}/submit/",
}
# persona:  anon alice bob  carol dave erin frank gina  (302 = done, back to the page)
POST_ACCESS = {
    "select": [L, 302, 403, 403, 403, 403, 403, 302],
    "plan":   [L, 302, 403, 403, 403, 403, 403, 302],
    "decide": [L, 302, 403, 404, 403, 404, 404, 302],
    "submit": [L, 403, 403, 404, 302, 404, 404, 403],
}  # fmt: skip
POST_CASES = [(p, pe, s[i]) for p, s in POST_ACCESS.items() for i, pe in enumerate(PERSONAS)]


@pytest.mark.parametrize(("action", "persona", "expected"), POST_CASES)
def test_every_form_action_answers_every_persona_and_only_the_right_one_acts(
    request: pytest.FixtureRequest, world: dict[str, Any], action: str, persona: str,
    expected: int,
) -> None:  # fmt: skip
    target = POSTS[action].format(open=world["open"].pk, winner=world["winner"].pk,
                                  milestone=world["milestone"].pk)  # fmt: skip
    body = {"decision": "accept", "report": "补充了测试视频与数据。", "bid": world["open_bid"].pk,
            "title-1": "一期", "due-1": "2027-06-30", "amount-1": "100"}  # fmt: skip
    response = persona_client(request=request, persona=persona).post(target, body)
    assert response.status_code == expected
    milestone = Milestone.objects.get(pk=world["milestone"].pk)
    if action == "decide":
        officer = persona in {"alice", "gina"}
        assert (milestone.status == MilestoneStatus.ACCEPTED) == officer


def test_the_public_task_page_shows_requirements_and_kpis(
    client: Client, world: dict[str, Any]
) -> None:
    text = client.get(url("task", world)).content.decode()
    assert "水下 50 米连续作业 8 小时。" in text and "识别准确率 ≥ 95%" in text
    assert "/challenges/" in client.get("/challenges/").content.decode()


def test_an_applicant_bids_through_the_form_and_a_price_over_the_ceiling_is_refused(
    world: dict[str, Any], erin: User
) -> None:
    client = Client()
    client.force_login(erin)
    form = {"title": "胶东方案", "field": "ht_bio", "proposal": "生物传感器阵列。",
            "team": "博士 3 名。", "price": "3000000.01"}  # fmt: skip
    over = client.post(url("bid form", world), form)
    assert over.status_code == 400 and "3000000.00" in over.content.decode()
    done = client.post(url("bid form", world), {**form, "price": "2000000"})
    created = Application.objects.get(title="胶东方案")
    assert done["Location"] == f"/challenges/bids/{created.pk}/"
    assert created.status == Status.SUBMITTED


def test_an_officer_posts_a_task_through_the_form(alice: User) -> None:
    programme = challenge_programme()
    client = Client()
    client.force_login(alice)
    response = client.post("/challenges/post/", {
        "programme": programme.pk, "title": "盐碱地改良", "title_en": "Saline soil",
        "requirements": "三年内改良 1 万亩。", "kpis": "亩产提升 20%\n成本 ≤ 800 元/亩",
        "budget_ceiling": "5000000", "deadline": "2027-03-01T17:00", "max_winners": "3",
    })  # fmt: skip
    task = ChallengeTask.objects.get(call__title="盐碱地改良")
    assert response["Location"] == f"/challenges/{task.pk}/bids/"
    assert task.kpis == ["亩产提升 20%", "成本 ≤ 800 元/亩"] and task.max_winners == 3
    assert f"{task.call.closes_at.astimezone(timezone.get_current_timezone()):%H}" in {"17", "09"}


# --- the API -----------------------------------------------------------------------------------

# persona:                anon alice bob  carol dave erin frank gina
API_ACCESS = {
    "GET /challenges":      [200, 200, 200, 200, 200, 200, 200, 200],
    "GET task":             [200, 200, 200, 200, 200, 200, 200, 200],
    "GET bids":             [401, 200, 200, 403, 200, 200, 403, 200],
    "POST bid":             [401, 403, 403, 403, 400, 201, 403, 403],
    "GET milestones":       [401, 200, 200, 404, 200, 404, 404, 200],
    "GET payable":          [401, 200, 200, 403, 403, 403, 403, 200],
    "POST decision":        [401, 200, 403, 404, 403, 404, 404, 200],
}  # fmt: skip
API_CASES = [(op, p, s[i]) for op, s in API_ACCESS.items() for i, p in enumerate(PERSONAS)]


def call_api(client: Client, op: str, world: dict[str, Any]) -> Any:
    task, winner = world["open"].pk, world["winner"].pk
    match op:
        case "GET /challenges":
            return client.get("/api/challenges")
        case "GET task":
            return client.get(f"/api/challenges/{task}")
        case "GET bids":
            return client.get(f"/api/challenges/{task}/bids")
        case "POST bid":
            body = {"title": "方案", "field": "machinery", "proposal": "方案内容。",
                    "team": "团队。", "price": "100000"}  # fmt: skip
            return client.post(f"/api/challenges/{task}/bids", json.dumps(body),
                               content_type="application/json")  # fmt: skip
        case "GET milestones":
            return client.get(f"/api/bids/{winner}/milestones")
        case "GET payable":
            return client.get("/api/milestones/payable")
        case "POST decision":
            target = f"/api/milestones/{world['milestone'].pk}/decision"
            body_json = json.dumps({"accept": True})
            return client.post(target, body_json, content_type="application/json")
    raise AssertionError(op)


@pytest.mark.parametrize(("op", "persona", "expected"), API_CASES)
def test_every_endpoint_answers_every_persona_as_the_role_matrix_says(
    request: pytest.FixtureRequest, world: dict[str, Any], op: str, persona: str, expected: int
) -> None:
    response = call_api(api_client(request, persona), op, world)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["detail_en"]


def test_the_payable_list_holds_accepted_milestones_only(
    request: pytest.FixtureRequest, world: dict[str, Any]
) -> None:
    client = api_client(request, "alice")
    assert client.get("/api/milestones/payable").json() == []
    call_api(client, "POST decision", world)
    payable = api_client(request, "bob").get("/api/milestones/payable").json()
    assert [(p["reference"], p["amount"]) for p in payable] == [
        (world["winner"].reference, "300000.00")
    ]
