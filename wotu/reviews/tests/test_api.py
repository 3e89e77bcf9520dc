"""The review API under /api/reviews/: the pool, conflicts, assignment with its diagnosis,
closing and results for officers; the expert's assignments, declaration and score."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.reviews.models import Assignment, Conflict, Expert
from wotu.reviews.services import stage_assign
from wotu.reviews.tests.test_stages import expert_make, expert_users, org_make, review_call


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


def test_an_officer_lists_and_creates_experts(alice: User, haina: Organisation) -> None:
    client = client_for(alice)
    response = post(
        client,
        "/api/reviews/experts",
        {"code": "E1", "name": "李工", "organisation_id": haina.pk, "fields": ["machinery"]},
    )
    assert response.status_code == 201 and response.json()["in_pool"] is True
    listed = client.get("/api/reviews/experts?field=machinery").json()
    assert [e["code"] for e in listed["items"]] == ["E1"] and listed["total"] == 1


def test_an_unknown_field_code_is_refused_in_both_languages(
    alice: User, haina: Organisation
) -> None:
    response = post(
        client_for(alice),
        "/api/reviews/experts",
        {"code": "E1", "name": "李工", "organisation_id": haina.pk, "fields": ["robots"]},
    )
    assert response.status_code == 400
    assert "robots" in response.json()["detail_en"] and "领域目录" in response.json()["detail_zh"]


def test_admission_through_the_api_names_missing_conditions(
    alice: User, hkust: Organisation
) -> None:
    expert = expert_make(organisation=hkust, region="HK", admitted=False)
    response = post(
        client_for(alice), f"/api/reviews/experts/{expert.pk}/admit", {"conditions": ["identity"]}
    )
    assert response.status_code == 400 and "Holds a senior title" in response.json()["detail_en"]


def test_an_impossible_assignment_is_a_409_with_the_diagnosis(
    alice: User, haina: Organisation
) -> None:
    _, stage, apps = review_call(applicants=[haina], panel=3)
    expert_users(1)
    response = post(client_for(alice), f"/api/reviews/stages/{stage.pk}/assign", {"seed": 1})
    assert response.status_code == 409
    problems = response.json()["problems"]
    assert any(apps[0].reference in p["en"] and "needs 3 experts" in p["en"] for p in problems)


def test_the_whole_stage_through_the_api(
    alice: User, carol: User, haina: Organisation, jiaodong: Organisation
) -> None:
    # given a stage with carol and one other expert, panel of 2
    _, stage, apps = review_call(applicants=[haina, jiaodong], panel=2)
    expert_make(user=carol)
    (other,) = expert_users(1)
    officer, expert = client_for(alice), client_for(carol)
    # when the officer assigns
    run = post(officer, f"/api/reviews/stages/{stage.pk}/assign", {"seed": 5}).json()
    assert run["pairs"] == 4 and run["seed"] == 5 and run["solver_version"].startswith("ortools")
    # then carol sees only her two assignments, and not the application before affirming
    mine = expert.get("/api/reviews/assignments").json()
    assert sorted(a["reference"] for a in mine) == sorted(a.reference for a in apps)
    first = mine[0]["id"]
    assert expert.get(f"/api/reviews/assignments/{first}/application").status_code == 404
    # when carol affirms and scores both, and the other expert too
    for a in mine:
        assert post(expert, f"/api/reviews/assignments/{a['id']}/declare",
                    {"no_conflict": True}).json()["status"] == "accepted"  # fmt: skip
        scored = post(
            expert,
            f"/api/reviews/assignments/{a['id']}/score",
            {"marks": {"innovation": 85.5, "feasibility": 70, "team": 90}},
        )
        assert scored.status_code == 200 and scored.json()["total"] == "82.20"
    assert expert.get(f"/api/reviews/assignments/{first}/application").status_code == 200
    progress = officer.get(f"/api/reviews/stages/{stage.pk}").json()["progress"]
    assert (progress["scored"], progress["pending"]) == (2, 2)
    assert officer.get(f"/api/reviews/stages/{stage.pk}/results").json() == []
    refused = post(officer, f"/api/reviews/stages/{stage.pk}/close", {})
    assert refused.status_code == 400 and "2 unscored" in refused.json()["detail_en"]
    assert other.user is not None
    other_client = client_for(other.user)
    for a in other_client.get("/api/reviews/assignments").json():
        post(other_client, f"/api/reviews/assignments/{a['id']}/declare", {"no_conflict": True})
        post(other_client, f"/api/reviews/assignments/{a['id']}/score",
             {"marks": {"innovation": 60, "feasibility": 60, "team": 60}})  # fmt: skip
    closed = post(officer, f"/api/reviews/stages/{stage.pk}/close", {})
    # then
    assert closed.status_code == 200 and closed.json()["passed"] == 1
    results = officer.get(f"/api/reviews/stages/{stage.pk}/results").json()
    assert [r["rank"] for r in results] == [1, 2] and results[0]["mean"] == "71.10"


def test_a_score_out_of_range_names_the_criterion(
    alice: User, carol: User, haina: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=1)
    expert_make(user=carol)
    stage_assign(stage=stage, actor=alice)
    a = Assignment.objects.get()
    client = client_for(carol)
    post(client, f"/api/reviews/assignments/{a.pk}/declare", {"no_conflict": True})
    response = post(
        client,
        f"/api/reviews/assignments/{a.pk}/score",
        {"marks": {"innovation": 101, "feasibility": 70, "team": 90}},
    )
    assert response.status_code == 400 and "innovation" in response.json()["detail_en"]
    assert "outside" in response.json()["detail_en"]


def test_conflicts_are_detected_and_dismissed_through_the_api(
    alice: User, haina: Organisation
) -> None:
    _, stage, apps = review_call(applicants=[haina])
    partner = org_make()
    apps[0].partners.add(partner)
    expert = expert_make(organisation=partner)
    client = client_for(alice)
    found = post(client, f"/api/reviews/stages/{stage.pk}/conflicts/detect", {}).json()
    assert [(c["expert"], c["source"]) for c in found] == [(expert.code, "co_applicant")]
    refused = post(client, f"/api/reviews/conflicts/{found[0]['id']}/dismiss", {"reason": " "})
    assert refused.status_code == 400
    done = post(client, f"/api/reviews/conflicts/{found[0]['id']}/dismiss", {"reason": "已离职"})
    assert done.json()["active"] is False
    assert not Conflict.objects.get().active


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_officer_endpoints_refuse_other_roles(
    request: pytest.FixtureRequest, haina: Organisation, persona: str
) -> None:
    _, stage, _ = review_call(applicants=[haina])
    client = client_for(request.getfixturevalue(persona))
    assert client.get("/api/reviews/experts").status_code == 403
    assert post(client, f"/api/reviews/stages/{stage.pk}/assign", {}).status_code == 403
    assert post(client, f"/api/reviews/stages/{stage.pk}/close", {}).status_code == 403


def test_an_anonymous_caller_gets_401(haina: Organisation) -> None:
    assert Client().get("/api/reviews/assignments").status_code == 401


def test_an_expert_cannot_reach_another_experts_assignment(
    alice: User, carol: User, haina: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=1)
    expert_make(user=carol)
    (other,) = expert_users(1)
    Expert.objects.filter(user=carol).update(active=False)
    stage_assign(stage=stage, actor=alice)
    theirs = Assignment.objects.get(expert=other)
    client = client_for(carol)
    assert client.get("/api/reviews/assignments").json() == []
    response = post(client, f"/api/reviews/assignments/{theirs.pk}/declare", {"no_conflict": True})
    assert response.status_code == 404
