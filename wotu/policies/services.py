"""Writes about policy runs: create one (validated, then queued), execute it, and move its status.

A run over the registry is a record: :func:`run_create` checks everything it can before
anything is stored (policy, kind, year, overrides, baseline, facts for the year), then queues
:func:`wotu.policies.tasks.run_execute`, which calls :func:`run_execute` in the worker
(``wotu db_worker``). The status changes only through :func:`run_transition`. Results are
inserted once, in one transaction with the move to "done"; after that the run and its results
are immutable (see :mod:`wotu.policies.models`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from wotu.core import permissions
from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.policies.catalog import CATALOGUE
from wotu.policies.engine import Policy, PolicyError
from wotu.policies.inputs import FactsInputError
from wotu.policies.models import PolicyRun, RunKind, RunResult, RunStatus
from wotu.policies.outcomes import (
    assessments_frame,
    assessments_totals,
    awards_export,
    awards_frame,
    awards_totals,
    facts_hash,
    formulas_hash,
    outcome_compute,
    overrides_normalise,
    parameters_for,
    policy_for,
    totals_to_json,
)
from wotu.policies.parameters import ParameterError
from wotu.policies.selectors import registry_facts, registry_has_year

logger = logging.getLogger(__name__)

BATCH = 2000
REFUSALS = (PolicyError, ParameterError, FactsInputError, WotuError)


class RunTransitionError(WotuError):
    def __init__(self, run: PolicyRun, old: str, new: str) -> None:
        super().__init__(
            f"运行 #{run.pk} 不能从 {old} 变为 {new}",
            f"run #{run.pk} cannot move from {old} to {new}",
        )


# ---- status ----------------------------------------------------------------------------------


def run_transition(
    run: PolicyRun, new_status: RunStatus, *, error: tuple[str, str] | None = None
) -> None:
    """Move ``run`` to ``new_status``: queued → running → done | failed (queued → failed when
    it could not start). Raises RunTransitionError on any other move, or when the stored status
    is no longer the one ``run`` holds (someone else moved it). Sets the timestamps, the
    progress (100 when done) and, for failed, the error in Chinese and English."""
    old = run.status
    now = timezone.now()
    changes: dict[str, Any] = {"status": new_status}
    match (old, new_status):
        case (RunStatus.QUEUED, RunStatus.RUNNING):
            changes |= {"started_at": now, "progress_message": "开始 / started"}
        case (RunStatus.RUNNING, RunStatus.DONE):
            changes |= {"finished_at": now, "progress": 100, "progress_message": "完成 / done"}
        case (RunStatus.QUEUED | RunStatus.RUNNING, RunStatus.FAILED):
            zh, en = error or ("运行失败", "the run failed")
            changes |= {"finished_at": now, "error_zh": zh, "error_en": en,
                        "progress_message": "失败 / failed"}  # fmt: skip
        case _:
            raise RunTransitionError(run, old, new_status)
    # Compare-and-set: only a run still in ``old`` moves, so two workers cannot both run it.
    with transaction.atomic():
        if PolicyRun.objects.filter(pk=run.pk, status=old).update(**changes) != 1:
            raise RunTransitionError(run, old, new_status)
        data: dict[str, Any] = {"policy": run.policy_id, "year": run.year, "from": str(old),
                                "to": str(new_status)}  # fmt: skip
        if new_status == RunStatus.DONE:
            data["totals"] = run.totals
        if new_status == RunStatus.FAILED:
            data["error"] = changes["error_en"]
        audit_record(actor=run.created_by, action="policy.run.status", subject=run, data=data)
    for name, value in changes.items():
        setattr(run, name, value)
    logger.info("policy run %s: %s → %s", run.pk, old, new_status)


def _run_record(run: PolicyRun, *, progress: int, zh: str, en: str, **fields: Any) -> None:
    """Progress (and any other fields) of a run that is still running."""
    changes = {"progress": progress, "progress_message": f"{zh} / {en}", **fields}
    PolicyRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**changes)
    for name, value in changes.items():
        setattr(run, name, value)


# ---- creating --------------------------------------------------------------------------------


def run_create(
    *,
    user: User | None,
    policy_id: str,
    year: int,
    overrides: Mapping[str, Any] | None = None,
    baseline: PolicyRun | None = None,
    scenario: str = "",
    immediately: bool = False,
) -> PolicyRun:
    """Validate and queue a run of ``policy_id`` for ``year`` over the registry.

    With ``overrides`` it is a scenario: it points at ``baseline`` (same policy and year, no
    overrides of its own) or, when none is given, at the newest baseline run that has not
    failed — queued first if there is none. ``user=None`` is the command line. ``immediately``
    executes in this process instead of the task queue (the CLI and the demo build).
    Raises PermissionDenied, or PolicyError / ParameterError / WotuError (bilingual) before
    anything is stored.
    """
    if user is not None and not permissions.can_create_runs(user):
        raise PermissionDenied
    policy = policy_for(policy_id, year=year)
    changes = overrides_normalise(overrides or {})
    parameters = parameters_for(policy, year=year, overrides=changes)
    if not registry_has_year(year=year):
        raise WotuError(
            f"登记库中没有 {year} 年度的企业数据：请先导入（wotu import facts）",
            f"the registry has no facts for {year}: import them first (wotu import facts)",
        )
    if baseline is not None:
        _baseline_check(baseline, policy_id=policy_id, year=year, overrides=changes)
    elif changes:
        baseline = _baseline_ensure(user=user, policy=policy, year=year, immediately=immediately)
    with transaction.atomic():
        run = PolicyRun.objects.create(
            policy_id=policy_id,
            kind=policy.kind,
            year=year,
            created_by=user,
            parameters_hash=parameters.version_hash(),
            formulas_hash=formulas_hash(policy_id),
            overrides=changes,
            scenario=(scenario.strip() or scenario_name(changes))[:200],
            baseline=baseline,
            progress_message="排队等待执行 / queued",
        )
        _run_audit(run)
    _start(run, immediately=immediately)
    run.refresh_from_db()
    return run


def _run_audit(run: PolicyRun) -> None:
    """Audit the new run, and — when a baseline run meets parameters or formulas that differ from
    the previous baseline of the same policy — the change itself ("policy.parameters"): the
    catalogue's parameters live in YAML under version control, and this is where a change
    first takes effect on money."""
    audit_record(
        actor=run.created_by, action="policy.run.create", subject=run,
        data={"policy": run.policy_id, "year": run.year, "parameters": run.parameters_hash,
              "formulas": run.formulas_hash, "overrides": run.overrides,
              "baseline": run.baseline_id},
    )  # fmt: skip
    if run.overrides:
        return
    previous = (
        PolicyRun.objects.filter(policy_id=run.policy_id, year=run.year, overrides={})
        .exclude(pk=run.pk)
        .order_by("-created_at", "-id")
        .first()
    )
    if previous is None:
        return
    changed = {
        name: {"from": getattr(previous, f"{name}_hash"), "to": getattr(run, f"{name}_hash")}
        for name in ("parameters", "formulas")
        if getattr(previous, f"{name}_hash") != getattr(run, f"{name}_hash")
    }
    if changed:
        audit_record(
            actor=run.created_by, action="policy.parameters", subject=run,
            data={"policy": run.policy_id, "year": run.year, "previous_run": previous.pk,
                  **changed},
        )  # fmt: skip


def scenario_name(overrides: Mapping[str, Any]) -> str:
    """The default name of a scenario: its settings, ``name=value; …``."""
    return "; ".join(f"{name}={value}" for name, value in overrides.items())


def _baseline_check(
    baseline: PolicyRun, *, policy_id: str, year: int, overrides: Mapping[str, Any]
) -> None:
    if not overrides:
        raise WotuError(
            "情景运行至少要修改一个参数（--set 名称=值）",
            "a scenario run needs at least one parameter change (--set NAME=VALUE)",
        )
    if (baseline.policy_id, baseline.year) != (policy_id, year):
        raise WotuError(
            f"基准运行 #{baseline.pk} 是 {baseline.policy_id} {baseline.year} 年度，与情景不符",
            f"baseline run #{baseline.pk} is {baseline.policy_id} {baseline.year}, not this"
            " scenario's policy and year",
        )
    if baseline.is_scenario or baseline.overrides:
        raise WotuError(
            f"运行 #{baseline.pk} 本身是情景，不能作为基准",
            f"run #{baseline.pk} is itself a scenario and cannot be a baseline",
        )
    if baseline.status == RunStatus.FAILED:
        raise WotuError(
            f"基准运行 #{baseline.pk} 失败了，请重新运行基准",
            f"baseline run #{baseline.pk} failed: run the baseline again",
        )


def _baseline_ensure(
    *, user: User | None, policy: Policy, year: int, immediately: bool
) -> PolicyRun:
    found = (
        PolicyRun.objects.filter(policy_id=policy.id, year=year, baseline__isnull=True)
        .exclude(status=RunStatus.FAILED)
        .order_by("-created_at", "-id")
        .first()
    )
    if found is not None:
        return found
    return run_create(user=user, policy_id=policy.id, year=year, immediately=immediately)


def _start(run: PolicyRun, *, immediately: bool) -> None:
    if immediately:
        run_execute(run_id=run.pk)
        return
    from wotu.policies.tasks import run_execute as run_execute_task

    try:
        run_execute_task.enqueue(run.pk)
    except Exception as exc:
        logger.exception("policy run %s could not be queued", run.pk)
        run_transition(run, RunStatus.FAILED, error=(
            f"无法加入任务队列：{exc}", f"the run could not be queued: {exc}"))  # fmt: skip
        raise WotuError(
            f"运行 #{run.pk} 无法加入任务队列：{exc}", f"run #{run.pk} could not be queued: {exc}"
        ) from exc


# ---- executing -------------------------------------------------------------------------------


def run_execute(*, run_id: int) -> PolicyRun:
    """Execute a queued run: read the registry (10 %), evaluate (60 %), save the results and
    totals (90 %) and finish "done" (100 %) — or "failed" with the error in both languages.
    Never raises for a problem of the run itself; it is recorded on the run."""
    run = PolicyRun.objects.get(pk=run_id)
    try:
        run_transition(run, RunStatus.RUNNING)
    except RunTransitionError:
        logger.warning("policy run %s is %s, not queued: not executed again", run.pk, run.status)
        return run
    try:
        _execute(run)
    except REFUSALS as exc:
        run_transition(run, RunStatus.FAILED, error=(exc.zh, exc.en))
    except Exception as exc:
        logger.exception("policy run %s failed", run.pk)
        run_transition(run, RunStatus.FAILED, error=(
            f"内部错误：{type(exc).__name__}: {exc}", f"internal error: {type(exc).__name__}: {exc}"
        ))  # fmt: skip
    return run


def _execute(run: PolicyRun) -> None:
    policy = policy_for(run.policy_id, year=run.year)
    _run_record(run, progress=2, zh="读取登记库数据", en="reading the registry")
    facts = registry_facts(year=run.year)
    _run_record(
        run, progress=10, zh=f"已读取 {facts.height} 行", en=f"read {facts.height} rows",
        input_hash=facts_hash(facts), input_source="registry", input_rows=facts.height,
    )  # fmt: skip
    outcome = outcome_compute(policy, facts, year=run.year, overrides=run.overrides)
    _run_record(
        run, progress=60, zh="计算完成，正在保存结果", en="evaluated; saving the results",
        parameters_hash=outcome.parameters_hash, formulas_hash=formulas_hash(run.policy_id),
    )  # fmt: skip
    with transaction.atomic():
        if policy.kind == RunKind.EVALUATE:
            awards = awards_frame(outcome)
            saved = _insert(_award_results(run, awards))
            totals = awards_totals(awards, policy=policy, enterprises=outcome.result.height)
        else:
            assessed = assessments_frame(outcome, with_names=True)
            saved = _insert(_assessment_results(run, assessed, policy))
            totals = assessments_totals(assessed, policy=policy)
        _run_record(
            run, progress=90, zh=f"已保存 {saved} 行结果", en=f"saved {saved} result rows",
            totals=totals_to_json(totals),
        )  # fmt: skip
        run_transition(run, RunStatus.DONE)


def _organisation_ids() -> dict[str, int]:
    rows = Organisation.objects.filter(uscc__isnull=False).values_list("uscc", "id")
    return {uscc: pk for uscc, pk in rows if uscc}


def _insert(results: Iterator[RunResult]) -> int:
    """bulk_create in batches of :data:`BATCH` (a few queries per thousand rows)."""
    count = 0
    batch: list[RunResult] = []
    for result in results:
        batch.append(result)
        if len(batch) == BATCH:
            count += len(RunResult.objects.bulk_create(batch))
            batch = []
    if batch:
        count += len(RunResult.objects.bulk_create(batch))
    return count


def _award_results(run: PolicyRun, awards: pl.DataFrame) -> Iterator[RunResult]:
    organisations = _organisation_ids()
    rows = awards_export(awards).select(
        "uscc", "scheme", "amount_cny", "basis", "name", "district_code"
    )
    for uscc, scheme, amount, basis, name, district in rows.iter_rows():
        yield RunResult(
            run_id=run.pk, organisation_id=organisations.get(uscc), uscc=uscc,
            name=name[:200], district_code=district[:6], scheme=scheme,
            amount=Decimal(amount), basis=basis,
        )  # fmt: skip


def _assessment_results(
    run: PolicyRun, assessed: pl.DataFrame, policy: Policy
) -> Iterator[RunResult]:
    organisations = _organisation_ids()
    outputs = list(policy.outputs)
    values = assessed.select(
        "uscc", "basis", "name", "district_code", *[_jsonable(assessed, n) for n in outputs]
    )
    for row in values.iter_rows(named=True):
        uscc = row["uscc"]
        yield RunResult(
            run_id=run.pk, organisation_id=organisations.get(uscc), uscc=uscc,
            name=row["name"][:200], district_code=row["district_code"][:6],
            values={k: row[k] for k in outputs}, basis=row["basis"],
        )  # fmt: skip


def _jsonable(frame: pl.DataFrame, name: str) -> pl.Expr:
    """An output column as JSON can hold it: exact decimals as text, no NaN or infinity."""
    dtype = frame.schema[name]
    column = pl.col(name)
    if isinstance(dtype, pl.Decimal) or dtype.is_temporal():
        return column.cast(pl.String)
    if dtype.is_float():
        return pl.when(column.is_finite()).then(column).otherwise(None).alias(name)
    return column


# ---- the demo --------------------------------------------------------------------------------

DEMO_SCENARIO = {"hitech_first_cert.rd_cap": "500000"}


def runs_demo_ensure(*, year: int, user: User | None) -> str:
    """The demo's runs for ``year``: the Qingdao plan and the tech-SME assessment over the
    registry, and one scenario raising the R&D cap of the first-certification award from
    300,000 to 500,000. Runs that already finished are kept; executed in this process."""
    made: list[str] = []
    for policy_id in ("qingdao-wotu-2021", "cn-tech-sme-2017"):
        if policy_id not in CATALOGUE:
            made.append(f"{policy_id}：尚未收录，跳过 / not in the catalogue yet, skipped")
            continue
        run = _demo_run(user=user, policy_id=policy_id, year=year, overrides={})
        made.append(f"{policy_id} #{run.pk} {run.status}")
    baseline = _demo_run(user=user, policy_id="qingdao-wotu-2021", year=year, overrides={})
    scenario = _demo_run(
        user=user, policy_id="qingdao-wotu-2021", year=year, overrides=DEMO_SCENARIO,
        baseline=baseline,
    )  # fmt: skip
    made.append(f"情景 / scenario #{scenario.pk} {scenario.scenario} {scenario.status}")
    return "; ".join(made)


def _demo_run(
    *,
    user: User | None,
    policy_id: str,
    year: int,
    overrides: Mapping[str, Any],
    baseline: PolicyRun | None = None,
) -> PolicyRun:
    name = scenario_name(overrides_normalise(overrides))
    found = PolicyRun.objects.filter(
        policy_id=policy_id, year=year, status=RunStatus.DONE, baseline=baseline, scenario=name
    ).first()
    if found is not None:
        return found
    return run_create(
        user=user, policy_id=policy_id, year=year, overrides=overrides, baseline=baseline,
        immediately=True,
    )  # fmt: skip
