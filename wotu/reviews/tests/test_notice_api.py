"""The public notice's REST API: public reads and objections without a token, officers'
publishing, resolving and deciding with one; every endpoint for every persona."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from wotu.core.models import User
from wotu.core.services import api_token_create
from wotu.organisations.models import Organisation
from wotu.reviews.decision import decision_record
from wotu.reviews.models import Notice, Objection, ObjectionOutcome
from wotu.reviews.notice import notice_publish
from wotu.reviews.tests.test_notice import AFTER, PUBLISHED, call_on_notice_stage

pytestmark = pytest.mark.django_db
PERSONAS = ["anonymous", "alice", "bob", "carol", "dave", "erin", "frank", "gina"]


def api_client(request: pytest.FixtureRequest, persona: str) -> Client:
    if persona == "anonymous":
        return Client()
    _, raw = api_token_create(user=request.getfixturevalue(persona), name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def world(haina: Organisation, jiaodong: Organisation, alice: User) -> dict[str, Any]:
    live_call, apps = call_on_notice_stage([haina, jiaodong])
    live = notice_publish(call=live_call, actor=alice, published_at=timezone.now())
    done_call, _ = call_on_notice_stage([jiaodong])
    done = notice_publish(call=done_call, actor=alice, published_at=PUBLISHED)
    decision_record(call=done_call, actor=alice, minutes="纪要", now=AFTER)
    ready, _ = call_on_notice_stage([haina])
    objection = Objection.objects.create(
        notice=live, name="王芳", contact="13900001111", text="材料不实，请核查。谢谢。",
        filed_at=timezone.now(), officer=alice,
    )  # fmt: skip
    return {"live": live, "done": done, "ready": ready, "apps": apps, "objection": objection}


GOOD_OBJECTION = {"name": "李华", "contact": "lihua@example.cn",
                  "text": "该单位不具备申报资格，请核查其注册地。"}  # fmt: skip
OK = "ok"
# persona:                 anon alice bob  carol dave erin frank gina
ACCESS = {
    "GET /notices":          [200, 200, 200, 200, 200, 200, 200, 200],
    "GET notice":            [200, 200, 200, 200, 200, 200, 200, 200],
    "GET decision (done)":   [200, 200, 200, 200, 200, 200, 200, 200],
    "GET decision (live)":   [404, 404, 404, 404, 404, 404, 404, 404],
    "POST objection":        [201, 201, 201, 201, 201, 201, 201, 201],
    "GET objections":        [401, 200, 403, 403, 403, 403, 403, 200],
    "POST resolve":          [401, 200, 403, 403, 403, 403, 403, 200],
    "POST publish":          [401, 201, 403, 403, 403, 403, 403, 201],
    "POST decision (early)": [401, 400, 403, 403, 403, 403, 403, 400],
}  # fmt: skip
CASES = [(op, persona, s[i]) for op, s in ACCESS.items() for i, persona in enumerate(PERSONAS)]


def call_op(client: Client, op: str, world: dict[str, Any], persona: str) -> Any:
    live, done = world["live"].pk, world["done"].pk
    match op:
        case "GET /notices":
            return client.get("/api/notices")
        case "GET notice":
            return client.get(f"/api/notices/{live}")
        case "GET decision (done)":
            return client.get(f"/api/notices/{done}/decision")
        case "GET decision (live)":
            return client.get(f"/api/notices/{live}/decision")
        case "POST objection":
            body = {**GOOD_OBJECTION, "contact": f"{persona}@example.cn"}
            return post(client, f"/api/notices/{live}/objections", body)
        case "GET objections":
            return client.get(f"/api/notices/{live}/objections")
        case "POST resolve":
            body = {"outcome": "dismissed", "resolution": "经核查不成立。"}
            return post(client, f"/api/objections/{world['objection'].pk}/resolve", body)
        case "POST publish":
            return post(client, f"/api/calls/{world['ready'].pk}/notice", {})
        case "POST decision (early)":
            return post(client, f"/api/notices/{live}/decision", {"minutes": "纪要"})
    raise AssertionError(op)


@pytest.mark.parametrize(("op", "persona", "expected"), CASES)
def test_every_endpoint_answers_every_persona_as_the_role_matrix_says(
    request: pytest.FixtureRequest, world: dict[str, Any], op: str, persona: str, expected: int
) -> None:
    response = call_op(api_client(request, persona), op, world, persona)
    assert response.status_code == expected, response.content
    if expected >= 400:
        body = response.json()
        assert body["detail_zh"] and body["detail_en"]


def test_the_public_reads_a_notice_with_its_entries_and_window(
    client: Client, world: dict[str, Any]
) -> None:
    body = client.get(f"/api/notices/{world['live'].pk}").json()
    assert body["open"] is True and body["total"] == "500000.00"
    assert [e["reference"] for e in body["entries"]] == sorted(a.reference for a in world["apps"])
    assert set(body["entries"][0]) == {"reference", "organisation", "title", "field", "amount"}


def test_an_objection_through_the_api_answers_with_a_receipt_only(
    client: Client, world: dict[str, Any]
) -> None:
    target = world["apps"][1]
    response = post(client, f"/api/notices/{world['live'].pk}/objections",
                    {**GOOD_OBJECTION, "reference": target.reference})  # fmt: skip
    assert response.status_code == 201
    assert set(response.json()) == {"receipt", "filed_at"}
    assert Objection.objects.get(name="李华").application == target


@pytest.mark.parametrize(
    ("body", "problem"),
    [({**GOOD_OBJECTION, "name": "匿名"}, "anonymous"),
     ({**GOOD_OBJECTION, "contact": "123"}, "contact"),
     ({**GOOD_OBJECTION, "text": "太差"}, "characters")],
)  # fmt: skip
def test_a_refused_objection_is_a_400_saying_why(
    client: Client, world: dict[str, Any], body: dict[str, str], problem: str
) -> None:
    response = post(client, f"/api/notices/{world['live'].pk}/objections", body)
    assert response.status_code == 400 and problem in response.json()["detail_en"]


def test_an_objection_naming_a_project_off_the_notice_is_a_404(
    client: Client, world: dict[str, Any]
) -> None:
    response = post(client, f"/api/notices/{world['live'].pk}/objections",
                    {**GOOD_OBJECTION, "reference": "NOT-ON-IT"})  # fmt: skip
    assert response.status_code == 404


def test_officers_resolve_and_then_decide_through_the_api(
    request: pytest.FixtureRequest, world: dict[str, Any]
) -> None:
    client = api_client(request, "alice")
    listed = client.get(f"/api/notices/{world['live'].pk}/objections").json()
    assert listed[0]["contact"] == "13900001111" and listed[0]["outcome"] == "open"
    resolved = post(client, f"/api/objections/{listed[0]['id']}/resolve",
                    {"outcome": "upheld", "resolution": "情况属实。"})  # fmt: skip
    assert resolved.json()["outcome"] == ObjectionOutcome.UPHELD
    Notice.objects.filter(pk=world["live"].pk).update(closes_at=AFTER)
    amounts = {world["apps"][0].reference: "1000.50"}
    decided = post(
        client,
        f"/api/notices/{world['live'].pk}/decision",
        {"minutes": "纪要 9", "amounts": amounts},
    )
    assert decided.status_code == 201
    body = decided.json()
    assert body["total"] == "201000.50" and len(body["funded"]) == 2
