"""The policy screens, through the test client, for every persona: the catalogue, explanations,
runs (start, progress, totals, results, Excel export) and scenario comparisons."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.test import Client

from wotu.conftest import facts_row, make_uscc
from wotu.core.models import User
from wotu.core.templatetags.wotu import money
from wotu.core.tests.access import persona_client
from wotu.organisations.models import EnterpriseYear, Kind, Organisation, Region
from wotu.policies import services
from wotu.policies.models import PolicyRun, RunResult, RunStatus

PERSONAS = ["anonymous", "alice", "bob", "carol", "dave", "erin", "frank", "gina"]
POLICY = "qingdao-wotu-2021"
GROWTH = "qingdao.rd_growth_top200"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    """Runs started from a page execute in the request (the documented test backend)."""
    settings.TASKS = IMMEDIATE


@pytest.fixture
def registry(haina: Organisation, jiaodong: Organisation) -> dict[str, str]:
    assert haina.uscc is not None and jiaodong.uscc is not None
    return {"haina": haina.uscc, "jiaodong": jiaodong.uscc}


@pytest.fixture
def baseline(alice: User, registry: dict[str, str]) -> PolicyRun:
    """The Fertile Soil plan for 2023: Haina's R&D rose by 1.1 M, so it gets 220,000."""
    return services.run_create(user=alice, policy_id=POLICY, year=2023, immediately=True)


@pytest.fixture
def scenario(alice: User, baseline: PolicyRun) -> PolicyRun:
    """The same, with the R&D growth award capped at 100,000 instead of 500,000."""
    return services.run_create(
        user=alice, policy_id=POLICY, year=2023, overrides={"rd_growth.cap": "100000"},
        baseline=baseline, immediately=True,
    )  # fmt: skip


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def english(client: Client) -> Client:
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


def growing_firms(count: int) -> list[Organisation]:
    """``count`` industrial firms whose R&D grew by 1,000,000 + i × 10,000 from 2022 to 2023."""
    firms = []
    for i in range(count):
        org = Organisation.objects.create(
            kind=Kind.ENTERPRISE, region=Region.MAINLAND, name=f"成长企业{i:03d}",
            uscc=make_uscc(2000 + i), district_code="370211" if i % 2 else "370212",
        )  # fmt: skip
        common = {"name": org.name, "district_code": org.district_code}
        EnterpriseYear.objects.create(
            organisation=org, year=2022, **facts_row(rd_expense=Decimal(1_000_000), **common)
        )
        EnterpriseYear.objects.create(
            organisation=org, year=2023,
            **facts_row(rd_expense=Decimal(2_000_000 + i * 10_000), **common),
        )  # fmt: skip
        firms.append(org)
    return firms


# -- who may open what ---------------------------------------------------------------------------

PAGES = {
    "catalogue": "/policies/",
    "policy": f"/policies/{POLICY}/",
    "missing policy": "/policies/no-such-policy/",
    "explain form": "/policies/explain/",
    "explain haina": f"/policies/{POLICY}/explain/?year=2023&uscc={{haina}}",
    "explain jiaodong": f"/policies/{POLICY}/explain/?year=2023&uscc={{jiaodong}}",
    "runs": "/policies/runs/",
    "start a run": "/policies/runs/new/",
    "baseline": "/policies/runs/{baseline}/",
    "scenario": "/policies/runs/{scenario}/",
    "missing run": "/policies/runs/999999/",
    "progress": "/policies/runs/{baseline}/progress/",
    "export": "/policies/runs/{baseline}/export.xlsx",
    "export scenario": "/policies/runs/{scenario}/export.xlsx",
    "compare": "/policies/runs/{baseline}/compare/{scenario}/",
}
L = 302  # to the sign-in page
# persona:           anon alice bob carol dave erin frank gina
ACCESS = {
    "catalogue":        [L, 200, 200, 200, 200, 200, 200, 200],
    "policy":           [L, 200, 200, 200, 200, 200, 200, 200],
    "missing policy":   [L, 404, 404, 404, 404, 404, 404, 404],
    "explain form":     [L, 200, 200, 403, 200, 200, 403, 200],
    "explain haina":    [L, 200, 200, 403, 200, 404, 403, 200],
    "explain jiaodong": [L, 200, 200, 403, 404, 200, 403, 200],
    "runs":             [L, 200, 200, 403, 200, 200, 403, 200],
    "start a run":      [L, 200, 403, 403, 403, 403, 403, 200],
    "baseline":         [L, 200, 200, 403, 200, 200, 403, 200],
    "scenario":         [L, 200, 200, 403, 404, 404, 403, 200],
    "missing run":      [L, 404, 404, 403, 404, 404, 403, 404],
    "progress":         [L, 200, 200, 403, 200, 200, 403, 200],
    "export":           [L, 200, 200, 403, 200, 200, 403, 200],
    "export scenario":  [L, 200, 200, 403, 404, 404, 403, 200],
    "compare":          [L, 200, 200, 403, 403, 403, 403, 200],
}  # fmt: skip
CASES = [
    (page, persona, statuses[index])
    for page, statuses in ACCESS.items()
    for index, persona in enumerate(PERSONAS)
]


@pytest.mark.parametrize(("page", "persona", "expected"), CASES)
def test_every_policy_page_answers_every_persona_as_the_role_matrix_says(
    request: pytest.FixtureRequest, registry: dict[str, str], scenario: PolicyRun, page: str,
    persona: str, expected: int,
) -> None:  # fmt: skip
    ids = {"baseline": scenario.baseline_id, "scenario": scenario.pk}
    response = persona_client(request=request, persona=persona).get(
        PAGES[page].format(**registry, **ids)
    )
    assert response.status_code == expected
    if expected == L:
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("alice", 302), ("gina", 302), ("bob", 403), ("carol", 403), ("dave", 403), ("frank", 403)],
)
def test_only_bureau_officers_may_start_a_run(
    request: pytest.FixtureRequest, registry: dict[str, str], immediate_tasks: None,
    persona: str, expected: int,
) -> None:  # fmt: skip
    response = persona_client(request=request, persona=persona).post(
        "/policies/runs/new/", {"policy": POLICY, "year": "2023"}
    )
    assert response.status_code == expected
    assert PolicyRun.objects.count() == (1 if expected == 302 else 0)


def test_starting_a_run_needs_the_csrf_token(alice: User, registry: dict[str, str]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/policies/runs/new/", {"policy": POLICY, "year": "2023"})
    assert response.status_code == 403
    assert not PolicyRun.objects.exists()


# -- the catalogue -------------------------------------------------------------------------------


def test_the_catalogue_lists_each_policy_with_names_kind_years_and_rule_count(alice: User) -> None:
    response = signed_in(alice).get("/policies/")
    text = response.content.decode()
    line = next(p for p in response.context["policies"] if p["id"] == POLICY)
    assert line["rules"] >= 5 and line["years"] == [2021, 2024]
    assert "青岛市“沃土计划”（2021—2024年）" in text
    assert "Qingdao Fertile Soil plan (2021–2024)" in text
    assert "2021–2024" in text and "奖补兑现" in text
    assert f'href="/policies/{POLICY}/"' in text


def test_the_policy_page_shows_every_rule_with_its_branches_and_reference(alice: User) -> None:
    text = signed_in(alice).get(f"/policies/{POLICY}/?year=2023").content.decode()
    assert 'data-rule="qingdao.hitech_first_cert"' in text
    assert "高企首次认定奖励" in text and "first high-tech certification award" in text
    assert "本年度首次认定为高新技术企业" in text  # a branch, in Chinese
    assert "first certified as high-tech this year" in text  # and in English
    assert "否则：" in text  # the last branch reads as "otherwise"
    assert "青岛市高新技术企业培育“沃土计划”（2021—2024年）" in text  # the rule's reference
    assert 'href="#param-rd_growth.cap"' in text  # a branch links the parameters it uses
    assert "自始施行" in text and "2023 年适用" in text  # the formula version in force


def test_the_policy_page_shows_every_parameter_with_dated_values_and_references(
    alice: User,
) -> None:
    response = signed_in(alice).get(f"/policies/{POLICY}/?year=2023")
    text = response.content.decode()
    cap = next(p for p in response.context["parameters"] if p["name"] == "rd_growth.cap")
    assert cap["zh"] == "研发投入增长奖励上限"
    assert [(str(v["since"]), v["text"], v["in_force"]) for v in cap["values"]] == [
        ("2021-01-01", "¥500,000.00", True)
    ]
    assert cap["values"][0]["reference"].article == "企业研发投入增长奖励"
    assert 'id="param-rd_growth.cap"' in text
    assert "¥500,000.00" in text and "20%" in text
    assert "2021-01-01" in text
    assert "企业研发投入增长奖励" in text


def test_every_reference_with_a_url_is_a_link(alice: User) -> None:
    for policy_id in ("cn-tech-sme-2017", "cn-hitech-2016", POLICY):
        response = signed_in(alice).get(f"/policies/{policy_id}/")
        assert response.status_code == 200
        text = response.content.decode()
        for parameter in response.context["parameters"]:
            for value in parameter["values"]:
                if value["reference"].url:
                    assert f'href="{value["reference"].url}"' in text


def test_a_year_before_the_parameters_existed_says_the_rules_cannot_be_resolved(
    alice: User,
) -> None:
    response = signed_in(alice).get(f"/policies/{POLICY}/?year=2015")
    assert response.status_code == 200
    assert 'data-testid="plan-problem"' in response.content.decode()


def test_the_catalogue_reads_in_english(bob: User) -> None:
    text = english(signed_in(bob)).get(f"/policies/{POLICY}/?year=2023").content.decode()
    assert "Qingdao Fertile Soil plan (2021–2024)" in text
    assert "Otherwise:" in text
    assert "in force in 2023" in text


# -- explanations ------------------------------------------------------------------------------


def explain(client: Client, uscc: str, year: int = 2023, run: PolicyRun | None = None) -> str:
    extra = f"&run={run.pk}" if run else ""
    response = client.get(f"/policies/{POLICY}/explain/?year={year}&uscc={uscc}{extra}")
    assert response.status_code == 200, response.content.decode()[:400]
    return response.content.decode()


def test_an_explanation_shows_each_output_with_its_value_inputs_and_parameters(
    alice: User, registry: dict[str, str], baseline: PolicyRun
) -> None:
    text = explain(signed_in(alice), registry["haina"])
    # R&D rose from 3.1 M to 4.2 M: rank 1, 20 % of the 1.1 M increase
    assert "¥220,000.00" in text
    assert "¥1,100,000.00" in text
    assert "¥4,200,000.00" in text and "¥3,100,000.00" in text  # this year's and last year's R&D
    assert "研发费用（上年）" in text  # a history value says which year it is
    assert 'data-parameter="rd_growth.rate"' in text and "20%" in text
    assert "企业研发投入增长奖励" in text  # the parameter's reference
    assert f'href="/policies/runs/{baseline.pk}/"' in text


def test_an_explanation_shows_only_the_branch_that_applied(
    alice: User, registry: dict[str, str], baseline: PolicyRun
) -> None:
    text = explain(signed_in(alice), registry["haina"])
    assert "排名在奖励名额内" in text  # ranked within the number rewarded
    assert "未进入奖励名额" not in text  # the branch not taken is not cited
    assert "本年度不是首次认定" in text
    assert "本年度首次认定为高新技术企业" not in text
    assert 'data-parameter="hitech_first_cert.base"' not in text  # used only by a branch not taken


def test_an_explanation_in_a_scenario_uses_the_changed_parameter(
    alice: User, registry: dict[str, str], scenario: PolicyRun
) -> None:
    text = explain(signed_in(alice), registry["haina"], run=scenario)
    assert "¥100,000.00" in text  # the scenario's cap
    assert "情景假设" in text  # the override is cited as a scenario assumption, not a law


def test_a_rule_explained_as_an_earlier_output_is_not_repeated_in_full(
    alice: User, registry: dict[str, str]
) -> None:
    services.run_create(user=alice, policy_id="cn-tech-sme-2017", year=2023, immediately=True)
    response = signed_in(alice).get(
        f"/policies/cn-tech-sme-2017/explain/?year=2023&uscc={registry['haina']}"
    )
    score = next(node for node in response.context["tree"]["outputs"] if node["rule"] == "score")
    assert {"rule": "ip_points", "see_above": True} in score["rules"]
    assert response.content.decode().count('data-node="ip_points"') == 2  # in full once


def test_without_a_run_for_the_year_the_explanation_says_so_and_offers_to_run(
    alice: User, registry: dict[str, str]
) -> None:
    response = signed_in(alice).get(
        f"/policies/{POLICY}/explain/?year=2023&uscc={registry['haina']}"
    )
    assert response.status_code == 404
    text = response.content.decode()
    assert 'data-testid="explain-no-run"' in text
    assert f'href="/policies/runs/new/?policy={POLICY}&amp;year=2023"' in text


def test_an_applicant_explains_its_own_results_without_typing_its_code(
    dave: User, registry: dict[str, str]
) -> None:
    response = signed_in(dave).get(f"/policies/explain/?policy={POLICY}&year=2023")
    assert response.status_code == 302
    assert response["Location"] == f"/policies/{POLICY}/explain/?year=2023&uscc={registry['haina']}"


def test_an_enterprise_without_facts_in_the_year_is_not_found(
    alice: User, baseline: PolicyRun
) -> None:
    other = make_uscc(999)
    response = signed_in(alice).get(f"/policies/{POLICY}/explain/?year=2023&uscc={other}")
    assert response.status_code == 404
    assert 'data-testid="explain-missing"' in response.content.decode()


def test_a_mistyped_code_is_refused_with_the_reason(alice: User, registry: dict[str, str]) -> None:
    wrong = "91370212000000019X"  # the check character does not match
    response = signed_in(alice).get(f"/policies/{POLICY}/explain/?year=2023&uscc={wrong}")
    assert response.status_code == 400
    assert "error-summary" in response.content.decode()


# -- starting a run ----------------------------------------------------------------------------


def test_the_run_form_starts_a_run_and_leads_to_its_page(
    alice: User, registry: dict[str, str], immediate_tasks: None
) -> None:
    client = signed_in(alice)
    form = client.get(f"/policies/runs/new/?policy={POLICY}&year=2023")
    assert 'name="set:rd_growth.cap"' in form.content.decode()
    assert 'placeholder="¥500,000.00"' in form.content.decode()  # the value in force
    response = client.post("/policies/runs/new/", {"policy": POLICY, "year": "2023"})
    run = PolicyRun.objects.get()
    assert response["Location"] == f"/policies/runs/{run.pk}/"
    assert (run.status, run.created_by, run.is_scenario) == (RunStatus.DONE, alice, False)
    growth = RunResult.objects.get(run=run, scheme=GROWTH)
    assert (growth.uscc, growth.amount) == (registry["haina"], Decimal("220000.00"))


def test_changing_a_parameter_runs_a_scenario_on_the_newest_baseline(
    alice: User, baseline: PolicyRun, immediate_tasks: None
) -> None:
    response = signed_in(alice).post(
        "/policies/runs/new/",
        {"policy": POLICY, "year": "2023", "set:rd_growth.cap": "100000", "scenario": "低上限"},
    )
    run = PolicyRun.objects.exclude(pk=baseline.pk).get()
    assert response["Location"] == f"/policies/runs/{run.pk}/"
    assert (run.baseline, run.scenario, run.overrides) == (
        baseline, "低上限", {"rd_growth.cap": "100000"},
    )  # fmt: skip
    assert run.results.get(scheme=GROWTH).amount == Decimal("100000.00")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"year": "2024"}, "没有 2024 年度的企业数据"),  # nothing in the registry for 2024
        ({"year": "2030"}, "2021–2024"),  # outside the plan's years
        ({"set:rd_growth.cap": "lots"}, "rd_growth.cap"),  # not an amount
    ],
)
def test_a_run_that_cannot_start_is_refused_with_the_reason_and_nothing_is_stored(
    alice: User, registry: dict[str, str], immediate_tasks: None, data: dict[str, str],
    message: str,
) -> None:  # fmt: skip
    posted = {"policy": POLICY, "year": "2023"} | data
    response = signed_in(alice).post("/policies/runs/new/", posted)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PolicyRun.objects.exists()


def test_choosing_another_policy_reloads_its_parameters_in_place(
    alice: User, registry: dict[str, str]
) -> None:
    response = signed_in(alice).get(
        "/policies/runs/new/?policy=cn-tech-sme-2017&year=2023", headers={"HX-Request": "true"}
    )
    text = response.content.decode()
    assert "<html" not in text and 'id="run-form-panel"' in text
    assert 'name="set:rd_growth.cap"' not in text


# -- a run's page --------------------------------------------------------------------------------


def test_a_queued_run_shows_a_progress_bar_that_polls_until_it_is_done(
    alice: User, registry: dict[str, str], settings: Any
) -> None:
    settings.TASKS = DUMMY  # queued, not executed
    run = services.run_create(user=alice, policy_id=POLICY, year=2023)
    client = signed_in(alice)
    text = client.get(f"/policies/runs/{run.pk}/").content.decode()
    assert 'data-testid="run-progress"' in text and 'hx-trigger="every 1s"' in text
    assert f'hx-get="/policies/runs/{run.pk}/progress/"' in text
    assert "排队等待执行" in text  # the progress message, in the reader's language
    poll = client.get(f"/policies/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert 'data-status="queued"' in poll.content.decode() and "HX-Refresh" not in poll
    services.run_execute(run_id=run.pk)
    poll = client.get(f"/policies/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert poll["HX-Refresh"] == "true"  # the page reloads to show the outcome
    assert "every 1s" not in poll.content.decode()


def test_a_run_page_shows_totals_by_scheme_and_district_with_chart_data(
    bob: User, baseline: PolicyRun
) -> None:
    response = signed_in(bob).get(f"/policies/runs/{baseline.pk}/")
    text = response.content.decode()
    total = sum(result.amount or 0 for result in baseline.results.all())
    assert f'data-testid="total-amount">{money(total)}' in text
    assert 'data-testid="totals-scheme"' in text and 'data-testid="totals-district_code"' in text
    assert "研发投入增长奖励（前 200 名）" in text and "崂山区" in text
    chart = response.context["chart"]
    by_scheme = dict(zip(chart["schemes"]["categories"], chart["schemes"]["series"][0]["values"],
                         strict=True))  # fmt: skip
    assert by_scheme["研发投入增长奖励（前 200 名）"] == "220000.00"
    assert chart["districts"]["categories"] == ["崂山区"]
    assert chart["districts"]["series"][0]["values"] == [f"{total:.2f}"]
    assert 'id="chart-schemes"' in text and "vendor/echarts/echarts.min.js" in text


def test_an_applicant_sees_its_own_results_but_no_totals(
    erin: User, dave: User, baseline: PolicyRun, registry: dict[str, str]
) -> None:
    mine = signed_in(dave).get(f"/policies/runs/{baseline.pk}/")
    assert {row["result"].uscc for row in mine.context["rows"]} == {registry["haina"]}
    assert 'data-testid="totals"' not in mine.content.decode()
    theirs = signed_in(erin).get(f"/policies/runs/{baseline.pk}/")
    assert theirs.context["rows"] == []
    assert "¥220,000.00" not in theirs.content.decode()


def amounts(response: Any) -> list[Decimal]:
    return [row["result"].amount for row in response.context["rows"]]


def test_results_are_sorted_by_amount_largest_first_and_sortable_by_any_column(
    alice: User, haina: Organisation, jiaodong: Organisation, immediate_tasks: None
) -> None:
    growing_firms(12)
    run = services.run_create(user=alice, policy_id=POLICY, year=2023, immediately=True)
    client = signed_in(alice)
    default = amounts(client.get(f"/policies/runs/{run.pk}/"))
    assert len(default) > 12 and default == sorted(default, reverse=True)
    ascending = amounts(client.get(f"/policies/runs/{run.pk}/?sort=amount&dir=asc"))
    assert ascending == sorted(default)
    by_name = client.get(f"/policies/runs/{run.pk}/?sort=name&dir=desc")
    names = [row["result"].name for row in by_name.context["rows"]]
    assert names == sorted(names, reverse=True)
    assert 'aria-sort="descending"' in by_name.content.decode()
    nonsense = client.get(f"/policies/runs/{run.pk}/?sort=nonsense&dir=sideways")
    assert nonsense.status_code == 200 and amounts(nonsense) == default


def test_results_page_by_fifty_and_filter_by_name_code_and_scheme(
    alice: User, haina: Organisation, immediate_tasks: None
) -> None:
    firms = growing_firms(60)
    run = services.run_create(user=alice, policy_id=POLICY, year=2023, immediately=True)
    client = signed_in(alice)
    count = run.results.count()
    assert count > 60
    first = client.get(f"/policies/runs/{run.pk}/")
    assert first.context["page"].paginator.count == count and len(first.context["rows"]) == 50
    assert len(client.get(f"/policies/runs/{run.pk}/?page=2").context["rows"]) == count - 50
    by_name = client.get(f"/policies/runs/{run.pk}/?q=成长企业007")
    assert {row["result"].name for row in by_name.context["rows"]} == {"成长企业007"}
    by_code = client.get(f"/policies/runs/{run.pk}/?q={firms[3].uscc}")
    assert {row["result"].uscc for row in by_code.context["rows"]} == {firms[3].uscc}
    other_scheme = client.get(f"/policies/runs/{run.pk}/?scheme=qingdao.hitech_recert")
    assert other_scheme.context["rows"] == []
    growth = client.get(f"/policies/runs/{run.pk}/?scheme={GROWTH}")
    assert {row["result"].scheme for row in growth.context["rows"]} == {GROWTH}
    partial = client.get(f"/policies/runs/{run.pk}/?page=2", headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    assert 'data-testid="results-table"' in partial.content.decode()


def test_each_result_links_to_its_explanation_in_that_run(
    alice: User, baseline: PolicyRun, registry: dict[str, str]
) -> None:
    text = signed_in(alice).get(f"/policies/runs/{baseline.pk}/").content.decode()
    query = f"year=2023&amp;uscc={registry['haina']}&amp;run={baseline.pk}"
    assert f'href="/policies/{POLICY}/explain/?{query}"' in text


def test_a_failed_run_shows_its_error_in_both_languages(
    alice: User, registry: dict[str, str], settings: Any
) -> None:
    settings.TASKS = DUMMY
    run = services.run_create(user=alice, policy_id=POLICY, year=2023)
    services.run_transition(run, RunStatus.FAILED, error=("数据有误", "the data is wrong"))
    text = signed_in(alice).get(f"/policies/runs/{run.pk}/").content.decode()
    assert 'data-testid="run-failed"' in text
    assert "数据有误" in text and "the data is wrong" in text


def test_the_runs_list_shows_status_totals_and_scenarios(bob: User, scenario: PolicyRun) -> None:
    text = signed_in(bob).get("/policies/runs/").content.decode()
    assert f'data-run="{scenario.pk}"' in text and f'data-run="{scenario.baseline_id}"' in text
    for run in (scenario, scenario.baseline):
        assert run is not None
        assert money(sum(result.amount or 0 for result in run.results.all())) in text
    assert "rd_growth.cap=100000" in text
    assert 'data-testid="start-run"' not in text  # a finance officer does not start runs


# -- export ------------------------------------------------------------------------------------


def workbook(response: Any) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_the_export_is_an_xlsx_with_the_contract_columns_and_a_basis(
    alice: User, baseline: PolicyRun, registry: dict[str, str]
) -> None:
    response = signed_in(alice).get(f"/policies/runs/{baseline.pk}/export.xlsx")
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert f"wotu-run-{baseline.pk}-{POLICY}-2023.xlsx" in response["Content-Disposition"]
    rows = workbook(response)
    assert rows[0] == ("uscc", "year", "scheme", "amount_cny", "basis", "name", "district_code")
    assert len(rows) == 1 + baseline.results.count()
    uscc, year, scheme, amount, basis, name, district = next(r for r in rows if r[2] == GROWTH)
    assert (uscc, year, scheme, name, district) == (
        registry["haina"], 2023, "qingdao.rd_growth_top200", "海纳机器人有限公司", "370212",
    )  # fmt: skip
    assert Decimal(str(amount)) == Decimal("220000.00")
    assert "qingdao.rd_growth_top200=220000.00" in basis and "rd_growth.cap" in basis


def test_an_assessment_exports_one_row_per_enterprise_with_its_output_columns(
    alice: User, registry: dict[str, str]
) -> None:
    run = services.run_create(user=alice, policy_id="cn-tech-sme-2017", year=2023, immediately=True)
    assert run.status == RunStatus.DONE, run.error_en
    rows = workbook(signed_in(alice).get(f"/policies/runs/{run.pk}/export.xlsx"))
    assert rows[0][:2] == ("uscc", "year") and rows[0][-3:] == ("basis", "name", "district_code")
    assert "qualified" in rows[0]
    assert sorted(row[0] for row in rows[1:]) == sorted(registry.values())


def test_an_applicant_exports_only_its_own_rows(
    dave: User, erin: User, baseline: PolicyRun
) -> None:
    for user in (dave, erin):
        rows = workbook(signed_in(user).get(f"/policies/runs/{baseline.pk}/export.xlsx"))
        assert user.organisation is not None
        assert {row[0] for row in rows[1:]} <= {user.organisation.uscc}
        assert len(rows) == 1 + baseline.results.filter(uscc=user.organisation.uscc).count()
    assert baseline.results.filter(uscc=dave.organisation.uscc).exists()  # type: ignore[union-attr]


# -- comparing a scenario with its baseline ----------------------------------------------------


def test_a_comparison_shows_totals_side_by_side_the_budget_impact_and_who_loses(
    alice: User, scenario: PolicyRun, registry: dict[str, str]
) -> None:
    response = signed_in(alice).get(f"/policies/runs/{scenario.baseline_id}/compare/{scenario.pk}/")
    text = response.content.decode()
    assert "¥220,000.00" in text and "¥100,000.00" in text
    assert 'data-testid="budget-impact">-¥120,000.00' in text
    comparison = response.context["comparison"]
    assert [firm["uscc"] for firm in comparison["losers"]] == [registry["haina"]]
    assert comparison["winners"] == []
    chart = response.context["chart"]["schemes"]
    growth = chart["categories"].index("研发投入增长奖励（前 200 名）")
    assert [series["values"][growth] for series in chart["series"]] == ["220000.00", "100000.00"]
    assert 'data-testid="compare-chart"' in text and 'id="compare-schemes"' in text


def test_runs_of_different_years_cannot_be_compared(
    alice: User, baseline: PolicyRun, haina: Organisation
) -> None:
    other = services.run_create(user=alice, policy_id=POLICY, year=2022, immediately=True)
    response = signed_in(alice).get(f"/policies/runs/{baseline.pk}/compare/{other.pk}/")
    assert response.status_code == 400
    assert "只能比较同一政策、同一年度的运行" in response.content.decode()


def test_a_run_page_reads_in_english(alice: User, scenario: PolicyRun) -> None:
    text = english(signed_in(alice)).get(f"/policies/runs/{scenario.pk}/").content.decode()
    assert "Compare with the baseline" in text
    assert "R&amp;D growth award (top 200)" in text
    assert dt.date.today().isoformat()[:4] in text  # the run's dates are shown
