"""The policies REST API through HTTP: who may call what, evaluating posted rows, runs, results,
explanations and comparisons."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.organisations.tests.test_api import api_client
from wotu.policies.models import PolicyRun, RunStatus
from wotu.policies.services import run_create
from wotu.policies.tests.support import IMMEDIATE, QINGDAO, YEAR, scenario_rows, uscc_of

PERSONAS = ("anonymous", "alice", "bob", "carol", "dave", "erin", "frank", "gina")


@pytest.fixture(autouse=True)
def _tasks_run_immediately(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def as_user(request: pytest.FixtureRequest) -> Any:
    def client_for(persona: str) -> Client:
        if persona == "anonymous":
            return api_client(None)
        return api_client(request.getfixturevalue(persona))

    return client_for


def post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def runs(alice: User, haina: Organisation, jiaodong: Organisation) -> dict[str, PolicyRun]:
    """Over Haina Robotics (dave's, awarded 640,000) and Jiaodong Biotech (erin's, nothing)."""
    baseline = run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    scenario = run_create(user=alice, policy_id=QINGDAO, year=YEAR, baseline=baseline,
                          overrides={"rd_growth.cap": "100000"})  # fmt: skip
    return {"baseline": baseline, "scenario": scenario}


# --- the access matrix --------------------------------------------------------------------

ALL = {"alice", "bob", "carol", "dave", "erin", "frank", "gina"}
OFFICERS = {"alice", "bob", "gina"}
BUREAU = {"alice", "gina"}


def expected_status(persona: str, allowed: set[str], ok: int = 200, hidden: int = 403) -> int:
    if persona == "anonymous":
        return 401
    return ok if persona in allowed else hidden


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_endpoint_answers_each_role_as_the_matrix_says(
    as_user: Any,
    runs: dict[str, PolicyRun],
    haina: Organisation,
    persona: str,
) -> None:
    client = as_user(persona)
    base, scen = runs["baseline"].pk, runs["scenario"].pk
    haina_uscc = haina.uscc or ""
    applicants = {"dave", "erin"}
    calls: list[tuple[str, Any, int]] = [
        ("GET /api/policies", client.get("/api/policies"), expected_status(persona, ALL)),
        ("GET /api/policies/{id}", client.get(f"/api/policies/{QINGDAO}"),
         expected_status(persona, ALL)),
        ("POST evaluate", post_json(client, f"/api/policies/{QINGDAO}/evaluate",
                                    {"year": YEAR, "rows": scenario_rows()}),
         expected_status(persona, BUREAU)),
        ("GET /api/runs", client.get("/api/runs"), expected_status(persona, OFFICERS | applicants)),
        ("GET baseline", client.get(f"/api/runs/{base}"),
         expected_status(persona, OFFICERS | applicants)),
        ("GET scenario", client.get(f"/api/runs/{scen}"),
         expected_status(persona, OFFICERS) if persona not in applicants else 404),
        ("GET results", client.get(f"/api/runs/{base}/results"),
         expected_status(persona, OFFICERS | applicants)),
        ("GET explain", client.get(f"/api/runs/{base}/explain/{haina_uscc}"),
         expected_status(persona, OFFICERS | {"dave"}) if persona != "erin" else 404),
        ("GET compare", client.get(f"/api/runs/{base}/compare/{scen}"),
         expected_status(persona, OFFICERS)),
        ("POST /api/runs", post_json(client, "/api/runs", {"policy_id": QINGDAO, "year": YEAR}),
         expected_status(persona, BUREAU, ok=202)),
    ]  # fmt: skip
    for name, response, status in calls:
        assert response.status_code == status, (name, response.content[:300])
        if status >= 400:
            body = response.json()
            assert body["detail"] == f"{body['detail_zh']} / {body['detail_en']}", name


def test_an_applicant_sees_only_its_own_results_and_no_totals(
    as_user: Any, runs: dict[str, PolicyRun], haina: Organisation
) -> None:
    base = runs["baseline"].pk

    dave_run = as_user("dave").get(f"/api/runs/{base}").json()
    dave_results = as_user("dave").get(f"/api/runs/{base}/results").json()
    erin_results = as_user("erin").get(f"/api/runs/{base}/results").json()
    listed = as_user("dave").get("/api/runs").json()

    assert dave_run["status"] == "done" and dave_run["totals"] is None
    assert {r["uscc"] for r in dave_results["items"]} == {haina.uscc}
    assert dave_results["total"] == 3 and erin_results["total"] == 0
    assert [item["id"] for item in listed["items"]] == [base]


# --- the catalogue ------------------------------------------------------------------------


def test_the_catalogue_lists_every_policy(as_user: Any, carol: User) -> None:
    policies = as_user("carol").get("/api/policies").json()

    assert {p["id"] for p in policies} >= {QINGDAO, "cn-tech-sme-2017"}
    qingdao = next(p for p in policies if p["id"] == QINGDAO)
    assert qingdao["kind"] == "evaluate" and qingdao["years"] == [2021, 2024]


def test_a_policy_shows_its_rules_and_dated_parameters_with_references(
    as_user: Any, bob: User
) -> None:
    policy = as_user("bob").get(f"/api/policies/{QINGDAO}").json()

    rule = next(r for r in policy["rules"] if r["name"] == "qingdao.hitech_first_cert")
    assert (
        rule["output"] is True and rule["unit"] == "CNY" and rule["versions"] == [{"since": None}]
    )
    cap = next(p for p in policy["parameters"] if p["name"] == "hitech_first_cert.rd_cap")
    assert cap["values"][0]["since"] == "2021-01-01"
    assert cap["values"][0]["value_text"] == "¥300,000.00"
    assert cap["values"][0]["reference"]["document"].startswith("青岛市高新技术企业培育")
    assert len(policy["formulas_hash"]) == 64


def test_an_unknown_policy_is_not_found(as_user: Any, alice: User) -> None:
    response = as_user("alice").get("/api/policies/no-such-policy")

    assert response.status_code == 404


# --- evaluating posted rows ---------------------------------------------------------------


def test_posted_rows_are_evaluated_with_a_basis_per_row_and_nothing_is_saved(
    as_user: Any, alice: User
) -> None:
    response = post_json(as_user("alice"), f"/api/policies/{QINGDAO}/evaluate",
                         {"year": YEAR, "rows": scenario_rows()})  # fmt: skip

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["policy"] == QINGDAO and body["count"] == 5 and body["overrides"] == {}
    by_uscc = {row["uscc"]: row for row in body["results"]}
    assert by_uscc[uscc_of("C")]["qingdao.hitech_first_cert"] == "450000.00"
    assert by_uscc[uscc_of("E")]["qingdao.hitech_recert"] == "100000.00"
    assert by_uscc[uscc_of("C")]["qingdao.cultivation_pool"] is False
    assert "hitech_first_cert.rd_cap=¥300,000.00" in by_uscc[uscc_of("C")]["basis"]
    assert "explanation" not in by_uscc[uscc_of("C")]
    assert body["totals"]["amount"] == "1800000.00" and body["totals"]["beneficiaries"] == 5
    assert not PolicyRun.objects.exists()


def test_posted_rows_take_money_as_numbers_or_text_and_scenario_overrides(
    as_user: Any, alice: User
) -> None:
    rows = scenario_rows()
    for row in rows:
        row["rd_deductible"] = json.loads(row["rd_deductible"] + ".10")  # a JSON number
        row["employees"] = int(row["employees"])
    body = {"year": YEAR, "rows": rows, "overrides": {"hitech_first_cert.rd_cap": 500000}}

    response = post_json(as_user("alice"), f"/api/policies/{QINGDAO}/evaluate", body)

    assert response.status_code == 200, response.content
    by_uscc = {row["uscc"]: row for row in response.json()["results"]}
    assert by_uscc[uscc_of("A")]["qingdao.hitech_first_cert"] == "350000.01"  # 200,000.01
    assert by_uscc[uscc_of("D")]["qingdao.hitech_first_cert"] == "650000.00"
    assert response.json()["overrides"] == {"hitech_first_cert.rd_cap": "500000"}


def test_posted_rows_can_be_explained_row_by_row(as_user: Any, alice: User) -> None:
    response = post_json(as_user("alice"), f"/api/policies/{QINGDAO}/evaluate",
                         {"year": YEAR, "rows": scenario_rows(), "explain": True})  # fmt: skip

    row = next(r for r in response.json()["results"] if r["uscc"] == uscc_of("D"))
    first = next(
        n for n in row["explanation"]["outputs"] if n["rule"] == "qingdao.hitech_first_cert"
    )
    assert first["branch"]["en"] == "first certified as high-tech this year"
    assert {p["name"] for p in first["parameters"]} >= {"hitech_first_cert.rd_cap"}


def test_posted_loans_feed_the_interest_subsidy(as_user: Any, alice: User) -> None:
    row = {"uscc": "91370212MA3C000114", "name": "贷款企业", "year": 2022,
           "registered_on": "2015-01-01", "employees": 10, "st_staff": 2, "revenue": "1000000",
           "rd_expense": "0"}  # fmt: skip
    loan = {"loan_id": "L1", "uscc": "91370212MA3C000114", "bank": "青岛银行",
            "principal": 5000000, "annual_rate": "4.5%", "start_date": "2022-01-01",
            "end_date": "2023-01-01", "linkage": "invest"}  # fmt: skip

    response = post_json(as_user("alice"), f"/api/policies/{QINGDAO}/evaluate",
                         {"year": 2022, "rows": [row], "loans": [loan]})  # fmt: skip

    assert response.status_code == 200, response.content
    result = response.json()["results"][0]
    assert result["qingdao.loan_interest_subsidy"] == "192638.89"


def test_bad_posted_cells_are_listed_by_row_column_and_index(as_user: Any, alice: User) -> None:
    rows = scenario_rows()
    rows[2]["revenue"] = "many"

    response = post_json(as_user("alice"), f"/api/policies/{QINGDAO}/evaluate",
                         {"year": YEAR, "rows": rows})  # fmt: skip

    assert response.status_code == 422
    body = response.json()
    assert body["detail_en"] == "1 cells cannot be read"
    assert body["errors"] == [{"row": 4, "index": 2, "column": "revenue", "value": "many",
                               "reason_zh": "无法读取为该列的类型",
                               "reason_en": "cannot be read as this column's type"}]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "en"),
    [
        ("not json", "the body is not JSON"),
        ([], "the body must be a JSON object"),
        ({"year": "2023", "rows": []}, "year: an integer"),
        ({"year": YEAR, "rows": "x"}, "rows: a list of objects"),
        ({"year": YEAR, "rows": [], "explain": "yes"}, "explain: true or false"),
        ({"year": YEAR, "rows": []}, "required columns are missing"),
        ({"year": 2019, "rows": []}, "applies to the years 2021–2024, not to 2019"),
        (
            {"year": YEAR, "rows": scenario_rows(), "overrides": {"nope": 1}},
            "unknown parameter nope",
        ),
    ],
)
def test_an_unusable_evaluation_request_is_refused_with_the_reason(
    as_user: Any, alice: User, body: Any, en: str
) -> None:
    client = as_user("alice")
    if isinstance(body, str):
        response = client.post(f"/api/policies/{QINGDAO}/evaluate", data=body,
                               content_type="application/json")  # fmt: skip
    else:
        response = post_json(client, f"/api/policies/{QINGDAO}/evaluate", body)

    assert response.status_code == 422
    assert en in response.json()["detail_en"]


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    as_user: Any, alice: User, settings: Any
) -> None:
    settings.WOTU_MAX_EVALUATE_BYTES = 100

    response = post_json(as_user("alice"), f"/api/policies/{QINGDAO}/evaluate",
                         {"year": YEAR, "rows": scenario_rows()})  # fmt: skip

    assert response.status_code == 413 and "too large" in response.json()["detail_en"]


def test_a_body_larger_than_djangos_form_limit_is_still_evaluated(
    as_user: Any, alice: User, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = post_json(as_user("alice"), f"/api/policies/{QINGDAO}/evaluate",
                         {"year": YEAR, "rows": scenario_rows()})  # fmt: skip

    assert response.status_code == 200


# --- runs ---------------------------------------------------------------------------------


def test_a_bureau_officer_queues_a_run_and_follows_it_to_done(
    as_user: Any, alice: User, haina: Organisation
) -> None:
    client = as_user("alice")

    created = post_json(client, "/api/runs", {"policy_id": QINGDAO, "year": YEAR})
    run = client.get(f"/api/runs/{created.json()['id']}").json()

    assert created.status_code == 202
    assert run["status"] == "done" and run["progress"] == 100
    assert run["created_by"] == "alice" and run["input_source"] == "registry"
    assert run["totals"]["amount"] == "640000.00"
    schemes = {s["scheme"]: s["amount"] for s in run["totals"]["schemes"]}
    assert schemes["qingdao.rd_growth_top200"] == "220000.00"
    assert run["totals"]["districts"][0]["label_en"] == "Laoshan District"


def test_a_queued_run_shows_its_progress_and_no_totals(
    as_user: Any, alice: User, haina: Organisation, settings: Any
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}

    created = post_json(as_user("alice"), "/api/runs", {"policy_id": QINGDAO, "year": YEAR})

    body = created.json()
    assert body["status"] == "queued" and body["progress"] == 0 and body["totals"] is None
    assert body["progress_message"] == "排队等待执行 / queued"


def test_a_scenario_run_is_posted_with_its_baseline_and_overrides(
    as_user: Any, runs: dict[str, PolicyRun]
) -> None:
    response = post_json(as_user("alice"), "/api/runs", {
        "policy_id": QINGDAO, "year": YEAR, "baseline_id": runs["baseline"].pk,
        "overrides": {"rd_growth.rate": "10%"}, "scenario": "减半",
    })  # fmt: skip

    body = response.json()
    assert response.status_code == 202 and body["baseline_id"] == runs["baseline"].pk
    assert body["scenario"] == "减半" and body["overrides"] == {"rd_growth.rate": "10%"}


@pytest.mark.parametrize(
    ("body", "en"),
    [
        ({"policy_id": "nope", "year": YEAR}, "unknown policy nope"),
        ({"policy_id": QINGDAO, "year": 2030}, "not to 2030"),
        ({"policy_id": QINGDAO, "year": 2021}, "the registry has no facts for 2021"),
        ({"policy_id": QINGDAO, "year": YEAR, "overrides": {"x": 1}}, "unknown parameter x"),
    ],
)
def test_a_run_that_cannot_work_is_refused_with_422(
    as_user: Any, alice: User, haina: Organisation, body: dict[str, Any], en: str
) -> None:
    response = post_json(as_user("alice"), "/api/runs", body)

    assert response.status_code == 422 and en in response.json()["detail_en"]
    assert not PolicyRun.objects.exists()


def test_results_are_paginated_and_filtered_by_scheme_and_uscc(
    as_user: Any, runs: dict[str, PolicyRun], haina: Organisation
) -> None:
    client = as_user("bob")
    base = runs["baseline"].pk

    page = client.get(f"/api/runs/{base}/results?page_size=2").json()
    growth = client.get(f"/api/runs/{base}/results?scheme=qingdao.rd_growth_top200").json()
    by_uscc = client.get(f"/api/runs/{base}/results?uscc={(haina.uscc or '')[:8]}").json()
    largest = client.get(f"/api/runs/{base}/results?order=-amount").json()

    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 2)
    assert [r["amount"] for r in growth["items"]] == ["220000.00"]
    assert by_uscc["total"] == 3
    assert largest["items"][0]["amount"] == "220000.00"
    assert growth["items"][0]["organisation_id"] == haina.pk


def test_an_explanation_of_a_run_cites_the_branch_and_the_parameters(
    as_user: Any, runs: dict[str, PolicyRun], haina: Organisation
) -> None:
    response = as_user("dave").get(f"/api/runs/{runs['baseline'].pk}/explain/{haina.uscc}")

    tree = response.json()
    growth = next(n for n in tree["outputs"] if n["rule"] == "qingdao.rd_growth_top200")
    assert growth["value"] == "220000.00"
    assert growth["branch"]["en"] == "ranked within the number rewarded"
    assert tree["input_changed"] is False and tree["run_id"] == runs["baseline"].pk


def test_the_comparison_shows_totals_winners_losers_and_the_budget_impact(
    as_user: Any, runs: dict[str, PolicyRun], haina: Organisation
) -> None:
    base, scen = runs["baseline"].pk, runs["scenario"].pk

    body = as_user("bob").get(f"/api/runs/{base}/compare/{scen}").json()

    # the R&D growth award capped at 100,000 instead of 500,000: Haina loses 120,000
    assert body["budget_impact"] == "-120000.00" and body["same_input"] is True
    assert body["losers_count"] == 1 and body["winners_count"] == 0
    assert body["losers"][0] == {
        "uscc": haina.uscc, "name": "海纳机器人有限公司", "district_code": "370212",
        "baseline": "640000.00", "scenario": "520000.00", "difference": "-120000.00",
    }  # fmt: skip
    growth = next(s for s in body["schemes"] if s["key"] == "qingdao.rd_growth_top200")
    assert (growth["baseline_amount"], growth["scenario_amount"]) == ("220000.00", "100000.00")
    assert body["scenario"]["overrides"] == {"rd_growth.cap": "100000"}


def test_comparing_runs_of_different_policies_is_refused(
    as_user: Any, runs: dict[str, PolicyRun], alice: User
) -> None:
    other = run_create(user=alice, policy_id="cn-tech-sme-2017", year=YEAR)
    assert other.status == RunStatus.DONE

    response = as_user("alice").get(f"/api/runs/{runs['baseline'].pk}/compare/{other.pk}")

    assert response.status_code == 422
    assert "same policy and year" in response.json()["detail_en"]


def test_an_unknown_run_is_not_found(as_user: Any, alice: User) -> None:
    assert as_user("alice").get("/api/runs/999999").status_code == 404


def test_the_openapi_schema_lists_the_policy_endpoints(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()

    assert {
        "/api/policies", "/api/policies/{policy_id}", "/api/policies/{policy_id}/evaluate",
        "/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/results",
        "/api/runs/{run_id}/explain/{uscc}", "/api/runs/{baseline_id}/compare/{scenario_id}",
    } <= set(schema["paths"])  # fmt: skip
    evaluate = schema["paths"]["/api/policies/{policy_id}/evaluate"]["post"]
    body = evaluate["requestBody"]["content"]["application/json"]["schema"]
    assert {"year", "rows", "loans", "overrides", "explain"} <= set(body["properties"])
