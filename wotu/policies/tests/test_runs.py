"""Policy runs as records: created, queued, executed, finished — and then never changed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.http import Http404
from django_tasks_db.models import DBTaskResult

from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.organisations.models import EnterpriseYear, Organisation
from wotu.organisations.synth import city_generate, city_import, city_write
from wotu.policies import services
from wotu.policies.engine import PolicyError
from wotu.policies.models import PolicyRun, RunImmutableError, RunResult, RunStatus
from wotu.policies.parameters import ParameterError
from wotu.policies.selectors import (
    explanation_for_user,
    run_awards,
    run_compare,
    run_get_for_user,
    run_list_for_user,
    run_results_for_user,
    run_totals,
)
from wotu.policies.services import RunTransitionError, run_create, run_execute, run_transition
from wotu.policies.tests.support import (
    BASELINE_AWARDS,
    DUMMY,
    IMMEDIATE,
    QINGDAO,
    YEAR,
    scenario_registry,
    uscc_of,
)


@pytest.fixture(autouse=True)
def _tasks_run_immediately(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def city(db: None) -> dict[str, Organisation]:
    return scenario_registry()


def awards_of(run: PolicyRun) -> dict[tuple[str, str | None], Decimal | None]:
    return {(r.uscc, r.scheme): r.amount for r in run.results.all()}


# --- creating and executing ---------------------------------------------------------------


def test_a_run_over_the_registry_finishes_with_its_awards_and_totals(
    alice: User, city: dict[str, Organisation]
) -> None:
    # given the scenario city in the registry, when a bureau officer runs the Qingdao plan
    run = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    # then the run is done, at 100 %, with one row per positive award
    assert run.status == RunStatus.DONE and run.progress == 100
    assert run.started_at is not None and run.finished_at is not None
    assert run.created_by == alice and run.kind == "evaluate" and run.input_source == "registry"
    expected = {(uscc_of(k), "qingdao.hitech_first_cert"): v for k, v in BASELINE_AWARDS.items()}
    expected[(uscc_of("E"), "qingdao.hitech_recert")] = expected.pop(
        (uscc_of("E"), "qingdao.hitech_first_cert")
    )
    assert awards_of(run) == expected
    result = run.results.get(uscc=uscc_of("C"))
    assert result.organisation == city["C"] and result.district_code == "370212"
    assert "hitech_first_cert.rd_cap=¥300,000.00" in result.basis
    # and the totals per scheme and per district add up
    totals = run_totals(run)
    assert totals is not None
    assert totals["amount"] == Decimal("1800000.00") and totals["beneficiaries"] == 5
    first = next(s for s in totals["schemes"] if s["scheme"] == "qingdao.hitech_first_cert")
    assert first["beneficiaries"] == 4 and first["amount"] == Decimal("1700000.00")
    laoshan = next(d for d in totals["districts"] if d["district_code"] == "370212")
    assert laoshan["beneficiaries"] == 2 and laoshan["amount"] == Decimal("900000.00")
    assert laoshan["label_zh"] == "崂山区"


def test_a_run_records_the_hashes_of_its_parameters_formulas_and_input(
    alice: User, city: dict[str, Organisation]
) -> None:
    run = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    assert all(len(h) == 64 for h in (run.parameters_hash, run.formulas_hash, run.input_hash))
    assert run.input_rows == 5
    assert run.overrides == {} and run.baseline is None and run.scenario == ""


def test_the_same_input_and_parameters_give_the_same_hashes_and_results(
    alice: User, city: dict[str, Organisation]
) -> None:
    first = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    second = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    hashes = ("parameters_hash", "formulas_hash", "input_hash")
    assert [getattr(first, h) for h in hashes] == [getattr(second, h) for h in hashes]
    rows = ("uscc", "scheme", "amount", "basis", "district_code")
    assert list(first.results.values_list(*rows)) == list(second.results.values_list(*rows))
    assert first.totals == second.totals


def test_a_changed_registry_gives_another_input_hash(
    alice: User, city: dict[str, Organisation]
) -> None:
    before = run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    EnterpriseYear.objects.filter(organisation=city["A"]).update(rd_deductible=Decimal("2500000"))

    after = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    assert after.input_hash != before.input_hash
    assert after.parameters_hash == before.parameters_hash
    assert awards_of(after)[(uscc_of("A"), "qingdao.hitech_first_cert")] == Decimal("400000.00")


def test_a_scenario_records_its_overrides_in_the_parameters_hash(
    alice: User, city: dict[str, Organisation]
) -> None:
    baseline = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    scenario = run_create(
        user=alice, policy_id=QINGDAO, year=YEAR, baseline=baseline,
        overrides={"hitech_first_cert.rd_cap": 500000},
    )  # fmt: skip

    assert scenario.baseline == baseline and scenario.is_scenario
    assert scenario.overrides == {"hitech_first_cert.rd_cap": "500000"}
    assert scenario.scenario == "hitech_first_cert.rd_cap=500000"
    assert scenario.parameters_hash != baseline.parameters_hash
    assert scenario.input_hash == baseline.input_hash
    assert "情景假设 / scenario" in scenario.results.get(uscc=uscc_of("D")).basis


def test_a_scenario_without_a_baseline_is_compared_with_the_newest_baseline(
    alice: User, city: dict[str, Organisation]
) -> None:
    run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    newest = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    scenario = run_create(
        user=alice, policy_id=QINGDAO, year=YEAR, overrides={"hitech_first_cert.rd_cap": "5e5"}
    )

    assert scenario.baseline == newest


def test_a_scenario_without_any_baseline_runs_one_first(
    alice: User, city: dict[str, Organisation]
) -> None:
    scenario = run_create(
        user=alice, policy_id=QINGDAO, year=YEAR, overrides={"hitech_recert.award": "120000"}
    )

    assert scenario.baseline is not None and scenario.baseline.status == RunStatus.DONE
    assert PolicyRun.objects.count() == 2


def test_an_assessment_run_stores_one_row_per_enterprise_with_its_values(
    alice: User, city: dict[str, Organisation]
) -> None:
    run = run_create(user=alice, policy_id="cn-tech-sme-2017", year=YEAR)

    assert run.status == RunStatus.DONE and run.kind == "assess"
    assert run.results.count() == 5
    row = run.results.get(uscc=uscc_of("A"))
    assert row.scheme is None and row.amount is None
    assert {"staff_points", "rd_points", "score", "qualified"} <= set(row.values)
    assert isinstance(row.values["qualified"], bool) and row.basis.startswith("staff_points=")
    totals = run_totals(run)
    assert totals is not None and totals["kind"] == "assess" and totals["enterprises"] == 5
    assert "qualified" in {item["output"] for item in totals["outputs"]}


# --- refusing before anything is stored ---------------------------------------------------


@pytest.mark.parametrize(
    ("policy_id", "year", "overrides", "error", "says"),
    [
        ("no-such-policy", YEAR, {}, PolicyError, "unknown policy no-such-policy"),
        (QINGDAO, 2019, {}, PolicyError, "applies to the years 2021–2024"),
        (QINGDAO, 2022, {}, WotuError, "the registry has no facts for 2022"),
        (QINGDAO, YEAR, {"no.such.parameter": "1"}, ParameterError, "unknown parameter"),
        (QINGDAO, YEAR, {"hitech_first_cert.rd_cap": "a lot"}, ParameterError, "not a number"),
    ],
)
def test_a_run_that_cannot_work_is_refused_and_nothing_is_stored(
    alice: User,
    city: dict[str, Organisation],
    policy_id: str,
    year: int,
    overrides: dict[str, str],
    error: type[Exception],
    says: str,
) -> None:
    with pytest.raises(error, match=says):
        run_create(user=alice, policy_id=policy_id, year=year, overrides=overrides)

    assert not PolicyRun.objects.exists()


def test_a_scenario_needs_a_baseline_of_the_same_policy_and_year(
    alice: User, city: dict[str, Organisation]
) -> None:
    assessment = run_create(user=alice, policy_id="cn-tech-sme-2017", year=YEAR)
    baseline = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    with pytest.raises(WotuError, match="not this scenario's policy and year"):
        run_create(user=alice, policy_id=QINGDAO, year=YEAR, baseline=assessment,
                   overrides={"hitech_recert.award": "1"})  # fmt: skip
    with pytest.raises(WotuError, match="needs at least one parameter change"):
        run_create(user=alice, policy_id=QINGDAO, year=YEAR, baseline=baseline)


# --- execution, failure, progress ---------------------------------------------------------


def test_a_queued_run_waits_for_the_worker_and_runs_once(
    alice: User, city: dict[str, Organisation], settings: Any
) -> None:
    settings.TASKS = DUMMY
    run = run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    assert run.status == RunStatus.QUEUED and run.progress == 0
    assert run.progress_message == "排队等待执行 / queued"
    assert run_totals(run) is None

    run_execute(run_id=run.pk)
    again = run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == RunStatus.DONE and again.status == RunStatus.DONE
    assert run.results.count() == 5


@pytest.mark.django_db(transaction=True)  # the worker closes connections inside a transaction
def test_the_database_queue_hands_the_run_to_the_worker(
    alice: User, city: dict[str, Organisation], settings: Any
) -> None:
    # given the production backend: the run is queued in the database
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    run = run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    assert run.status == RunStatus.QUEUED
    assert DBTaskResult.objects.filter(task_path="wotu.policies.tasks.run_execute").count() == 1

    # when the worker drains the queue
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=StringIO(),
                 stderr=StringIO())  # fmt: skip

    # then the run is done
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.progress == 100


def test_progress_is_reported_at_each_step_up_to_100(
    alice: User, city: dict[str, Organisation], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, str]] = []
    record = services._run_record

    def spy(run: PolicyRun, *, progress: int, zh: str, en: str, **fields: Any) -> None:
        seen.append((progress, en))
        record(run, progress=progress, zh=zh, en=en, **fields)

    monkeypatch.setattr(services, "_run_record", spy)

    run = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    assert [p for p, _ in seen] == [2, 10, 60, 90]
    assert seen[1][1] == "read 5 rows" and seen[3][1] == "saved 5 result rows"
    assert run.progress == 100 and run.progress_message == "完成 / done"


def test_a_failing_run_is_recorded_as_failed_with_the_reason_in_both_languages(
    alice: User, city: dict[str, Organisation], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**kwargs: Any) -> pl.DataFrame:
        raise PolicyError("规则冲突", "rules conflict")

    monkeypatch.setattr(services, "registry_facts", refuse)

    run = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    assert run.status == RunStatus.FAILED and run.finished_at is not None
    assert (run.error_zh, run.error_en) == ("规则冲突", "rules conflict")
    assert run.progress == 2 and not run.results.exists() and run_totals(run) is None


def test_an_unexpected_error_fails_the_run_and_saves_no_result(
    alice: User, city: dict[str, Organisation], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "awards_totals", broken)

    run = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    assert run.status == RunStatus.FAILED
    assert run.error_en == "internal error: RuntimeError: disk full"
    assert not RunResult.objects.filter(run=run).exists()  # the insert was rolled back


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (RunStatus.QUEUED, RunStatus.DONE),
        (RunStatus.RUNNING, RunStatus.QUEUED),
        (RunStatus.RUNNING, RunStatus.RUNNING),
        (RunStatus.DONE, RunStatus.RUNNING),
        (RunStatus.DONE, RunStatus.FAILED),
        (RunStatus.FAILED, RunStatus.DONE),
        (RunStatus.FAILED, RunStatus.QUEUED),
    ],
)
def test_a_status_moves_only_from_queued_to_running_to_done_or_failed(
    db: None, old: RunStatus, new: RunStatus
) -> None:
    run = PolicyRun.objects.create(policy_id=QINGDAO, kind="evaluate", year=YEAR, status=old)

    with pytest.raises(RunTransitionError, match=f"cannot move from {old} to {new}"):
        run_transition(run, new)

    assert PolicyRun.objects.get(pk=run.pk).status == old


def test_the_legal_moves_set_the_timestamps(db: None) -> None:
    run = PolicyRun.objects.create(policy_id=QINGDAO, kind="evaluate", year=YEAR)

    run_transition(run, RunStatus.RUNNING)
    run_transition(run, RunStatus.FAILED, error=("坏了", "broken"))

    stored = PolicyRun.objects.get(pk=run.pk)
    assert stored.status == RunStatus.FAILED and stored.started_at and stored.finished_at
    assert (stored.error_zh, stored.error_en) == ("坏了", "broken")


def test_a_stale_copy_cannot_move_a_run_someone_else_already_moved(db: None) -> None:
    run = PolicyRun.objects.create(policy_id=QINGDAO, kind="evaluate", year=YEAR)
    stale = PolicyRun.objects.get(pk=run.pk)
    run_transition(run, RunStatus.RUNNING)

    with pytest.raises(RunTransitionError):
        run_transition(stale, RunStatus.RUNNING)


# --- immutability -------------------------------------------------------------------------


@pytest.fixture
def finished(alice: User, city: dict[str, Organisation]) -> PolicyRun:
    return run_create(user=alice, policy_id=QINGDAO, year=YEAR)


def test_a_finished_run_cannot_be_saved_updated_or_deleted(finished: PolicyRun) -> None:
    finished.scenario = "rewritten"
    with pytest.raises(RunImmutableError):
        finished.save()
    with pytest.raises(RunImmutableError):
        finished.delete()
    with pytest.raises(RunImmutableError):
        PolicyRun.objects.filter(pk=finished.pk).update(year=2024)
    with pytest.raises(RunImmutableError):
        PolicyRun.objects.filter(pk=finished.pk).delete()

    stored = PolicyRun.objects.get(pk=finished.pk)
    assert stored.scenario == "" and stored.year == YEAR


def test_the_results_of_a_finished_run_cannot_be_changed_added_or_deleted(
    finished: PolicyRun,
) -> None:
    result = finished.results.first()
    assert result is not None
    before = list(finished.results.values_list("uscc", "scheme", "amount"))

    result.amount = Decimal("1.00")
    with pytest.raises(RunImmutableError):
        result.save()
    with pytest.raises(RunImmutableError):
        result.delete()
    with pytest.raises(RunImmutableError):
        RunResult.objects.filter(run=finished).update(amount=Decimal("0.00"))
    with pytest.raises(RunImmutableError):
        RunResult.objects.filter(run=finished).delete()
    with pytest.raises(RunImmutableError):
        RunResult.objects.bulk_create([RunResult(run=finished, uscc="X", amount=Decimal(1))])
    with pytest.raises(RunImmutableError):
        RunResult.objects.bulk_update([result], ["amount"])

    assert list(finished.results.values_list("uscc", "scheme", "amount")) == before


def test_a_failed_run_is_a_record_too(db: None) -> None:
    run = PolicyRun.objects.create(policy_id=QINGDAO, kind="evaluate", year=YEAR)
    run_transition(run, RunStatus.FAILED, error=("未启动", "never started"))

    with pytest.raises(RunImmutableError):
        PolicyRun.objects.get(pk=run.pk).delete()


def test_a_queued_run_that_never_ran_may_still_be_removed(db: None) -> None:
    run = PolicyRun.objects.create(policy_id=QINGDAO, kind="evaluate", year=YEAR)

    run.delete()

    assert not PolicyRun.objects.exists()


# --- who may do what (services and selectors, without HTTP) -------------------------------

PERSONAS = ("alice", "bob", "carol", "dave", "erin", "frank", "gina")


@pytest.mark.parametrize(("persona", "allowed"), [
    ("alice", True), ("gina", True), ("bob", False), ("carol", False), ("dave", False),
    ("erin", False), ("frank", False),
])  # fmt: skip
def test_only_a_bureau_officer_creates_runs(
    request: pytest.FixtureRequest, city: dict[str, Organisation], persona: str, allowed: bool
) -> None:
    user = request.getfixturevalue(persona)
    if allowed:
        assert run_create(user=user, policy_id=QINGDAO, year=YEAR).status == RunStatus.DONE
    else:
        with pytest.raises(PermissionDenied):
            run_create(user=user, policy_id=QINGDAO, year=YEAR)
        assert not PolicyRun.objects.exists()


@pytest.fixture
def runs(alice: User, haina: Organisation, jiaodong: Organisation) -> dict[str, PolicyRun]:
    """A baseline and a scenario over a registry of Haina Robotics (awarded) and Jiaodong
    Biotech (not awarded), and a queued run."""
    baseline = run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    scenario = run_create(user=alice, policy_id=QINGDAO, year=YEAR, baseline=baseline,
                          overrides={"rd_growth.cap": "100000"})  # fmt: skip
    queued = PolicyRun.objects.create(policy_id=QINGDAO, kind="evaluate", year=YEAR)
    return {"baseline": baseline, "scenario": scenario, "queued": queued}


@pytest.mark.parametrize(("persona", "visible"), [
    ("alice", {"baseline", "scenario", "queued"}), ("gina", {"baseline", "scenario", "queued"}),
    ("bob", {"baseline", "scenario", "queued"}), ("dave", {"baseline"}), ("erin", {"baseline"}),
    ("carol", None), ("frank", None),
])  # fmt: skip
def test_who_sees_which_runs(
    request: pytest.FixtureRequest,
    runs: dict[str, PolicyRun],
    persona: str,
    visible: set[str] | None,
) -> None:
    user = request.getfixturevalue(persona)
    if visible is None:
        with pytest.raises(PermissionDenied):
            run_list_for_user(user=user)
        with pytest.raises(PermissionDenied):
            run_get_for_user(user=user, pk=runs["baseline"].pk)
        return
    listed = set(run_list_for_user(user=user).values_list("pk", flat=True))
    assert listed == {runs[name].pk for name in visible}
    for name, run in runs.items():
        if name in visible:
            assert run_get_for_user(user=user, pk=run.pk) == run
        else:
            with pytest.raises(Http404):
                run_get_for_user(user=user, pk=run.pk)


def test_officers_see_every_result_and_an_applicant_only_its_own(
    runs: dict[str, PolicyRun], bob: User, dave: User, erin: User, haina: Organisation
) -> None:
    baseline = runs["baseline"]

    everything = run_results_for_user(user=bob, run=baseline)
    dave_sees = run_results_for_user(user=dave, run=baseline)
    erin_sees = run_results_for_user(user=erin, run=baseline)

    assert {r.uscc for r in everything} == {haina.uscc}
    assert everything.count() == 3
    assert {r.uscc for r in dave_sees} == {haina.uscc} and dave_sees.count() == 3
    assert not erin_sees.exists()  # Jiaodong Biotech has no award
    amounts = {r.scheme: r.amount for r in everything}
    assert amounts == {
        "qingdao.listing_pool_project": Decimal("200000.00"),
        "qingdao.listing_pool_rd_growth": Decimal("220000.00"),
        "qingdao.rd_growth_top200": Decimal("220000.00"),
    }


def test_results_filter_by_scheme_and_text_and_sort_by_amount(
    runs: dict[str, PolicyRun], bob: User
) -> None:
    baseline = runs["baseline"]

    growth = run_results_for_user(user=bob, run=baseline, scheme="qingdao.rd_growth_top200")
    by_name = run_results_for_user(user=bob, run=baseline, q="海纳")
    largest = run_results_for_user(user=bob, run=baseline, order="-amount").first()

    assert [r.scheme for r in growth] == ["qingdao.rd_growth_top200"]
    assert by_name.count() == 3
    assert largest is not None and largest.amount == Decimal("220000.00")
    with pytest.raises(WotuError, match="unknown order"):
        run_results_for_user(user=bob, run=baseline, order="random")


def test_an_applicant_gets_explanations_of_its_own_organisation_only(
    runs: dict[str, PolicyRun], dave: User, jiaodong: Organisation, haina: Organisation
) -> None:
    tree = explanation_for_user(user=dave, run=runs["baseline"], uscc=haina.uscc or "")

    assert tree["uscc"] == haina.uscc and tree["run_id"] == runs["baseline"].pk
    assert tree["input_changed"] is False and tree["notes"] == []
    assert {r["scheme"] for r in tree["recorded"]} >= {"qingdao.rd_growth_top200"}
    with pytest.raises(Http404):
        explanation_for_user(user=dave, run=runs["baseline"], uscc=jiaodong.uscc or "")


def test_an_explanation_says_so_when_the_registry_changed_since_the_run(
    runs: dict[str, PolicyRun], alice: User, haina: Organisation
) -> None:
    EnterpriseYear.objects.filter(organisation=haina, year=YEAR).update(employees=121)

    tree = explanation_for_user(user=alice, run=runs["baseline"], uscc=haina.uscc or "")

    assert tree["input_changed"] is True and tree["input_hash_now"] != tree["input_hash"]
    assert "registry changed" in tree["notes"][0]["en"]


def test_explanations_and_comparisons_are_refused_to_roles_without_access(
    runs: dict[str, PolicyRun], carol: User, frank: User, dave: User, haina: Organisation
) -> None:
    for user in (carol, frank):
        with pytest.raises(PermissionDenied):
            explanation_for_user(user=user, run=runs["baseline"], uscc=haina.uscc or "")
    for user in (carol, frank, dave):
        with pytest.raises(PermissionDenied):
            run_compare(user=user, baseline=runs["baseline"], scenario=runs["scenario"])


def test_a_comparison_needs_two_finished_runs(runs: dict[str, PolicyRun], bob: User) -> None:
    with pytest.raises(WotuError, match="both runs must have finished"):
        run_compare(user=bob, baseline=runs["baseline"], scenario=runs["queued"])


def test_the_award_proposals_are_the_positive_awards_of_a_finished_baseline(
    runs: dict[str, PolicyRun],
) -> None:
    awards = run_awards(runs["baseline"])

    assert awards.count() == 3 and all(a.amount and a.amount > 0 for a in awards)
    for run in (runs["scenario"], runs["queued"]):
        with pytest.raises(WotuError, match="only a finished baseline award run"):
            run_awards(run)


# --- a synthetic city, end to end ---------------------------------------------------------


def test_a_run_over_a_synthetic_city_gives_what_wotu_evaluate_writes(
    alice: User, tmp_path: Path
) -> None:
    # given 250 synthetic enterprises (2019–2023) imported into the registry
    rows = city_generate(enterprises=250, first_year=2019, last_year=2023, seed=11,
                         today=dt.date(2026, 6, 1))  # fmt: skip
    facts = tmp_path / "city.parquet"
    city_write(rows=rows, path=facts)
    city_import(path=facts)

    # when the plan runs over the registry and `wotu evaluate` over the same file
    run = run_create(user=alice, policy_id=QINGDAO, year=2023)
    out = tmp_path / "awards.csv"
    call_command("evaluate", "--policy", QINGDAO, "--year", "2023", "--facts", str(facts),
                 "--out", str(out), "--quiet", stdout=StringIO())  # fmt: skip

    # then both give the same awards, to the fen
    from_file = pl.read_csv(out, infer_schema=False)
    recorded = sorted(run.results.values_list("uscc", "scheme", "amount"))
    written = sorted(
        (u, s, Decimal(a))
        for u, s, a in from_file.select("uscc", "scheme", "amount_cny").iter_rows()
    )
    assert recorded == written and len(recorded) > 0
    totals = run_totals(run)
    assert totals is not None
    assert totals["amount"] == sum(a for _, _, a in written)
