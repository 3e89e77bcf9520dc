"""Reads about policies and their runs, scoped to what the asking user may see.

Views, API endpoints and commands fetch runs, results, explanations and comparisons through
these functions (roles: :mod:`wotu.core.permissions`). ``PermissionDenied`` means the role may
not look at this kind of data at all; ``Http404`` that this particular object is not visible
to the user (we do not reveal that it exists). ``user=None`` is the command line (operator).

Return shapes (the web pages and the API render these):

- :func:`policy_list_for_user` → ``[PolicySummary]``; :func:`policy_get_for_user` →
  ``PolicyDetail`` (rules with their formula versions, parameters with every dated value, all
  with legal references);
- :func:`run_list_for_user` → ``QuerySet[PolicyRun]`` (newest first); :func:`run_get_for_user`
  → ``PolicyRun`` (poll ``status``, ``progress`` 0–100 and ``progress_message``);
- :func:`run_results_for_user` → ``QuerySet[RunResult]``;
- :func:`run_totals` → ``outcomes.Totals`` or None until the run is done;
- :func:`explanation_for_user` → the explanation tree (``explain.explain_rows``) plus
  ``run_id``, ``recorded`` (the stored rows), ``input_changed``, ``formulas_changed`` and
  ``notes`` (zh/en);
- :func:`run_compare` → ``outcomes.Comparison`` plus ``policy_id``, ``year``, ``baseline``,
  ``scenario`` (run summaries) and ``same_input``;
- :func:`run_awards` → the award proposals of a finished baseline run (for the ledger).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, TypedDict

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from wotu.core import permissions
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.organisations.models import EnterpriseYear
from wotu.policies.catalog import policy_get, policy_ids
from wotu.policies.engine import Policy, PolicyError
from wotu.policies.inputs import facts_frame_from_db, facts_frame_normalise
from wotu.policies.models import PolicyRun, RunKind, RunResult, RunStatus
from wotu.policies.outcomes import (
    Comparison,
    Outcome,
    Totals,
    awards_compare,
    facts_hash,
    formulas_hash,
    outcome_compute,
    outcome_explain,
    policy_for,
    totals_from_json,
)
from wotu.policies.parameters import Reference, display

DEFAULT_SINCE = dt.date(1900, 1, 1)  # a rule registered without ``since``: always in force
RESULT_ORDERS: dict[str, tuple[str, ...]] = {
    "uscc": ("uscc", "scheme"),
    "name": ("name", "uscc", "scheme"),
    "district": ("district_code", "uscc", "scheme"),
    "scheme": ("scheme", "uscc"),
    "amount": ("amount", "uscc", "scheme"),
    "-amount": ("-amount", "uscc", "scheme"),
}


# ---- the catalogue ---------------------------------------------------------------------------


class ReferenceInfo(TypedDict):
    document: str
    article: str
    url: str
    note: str


class PolicySummary(TypedDict):
    id: str
    zh: str
    en: str
    kind: str
    years: list[int] | None
    description_zh: str
    description_en: str
    reference: ReferenceInfo | None
    outputs: list[str]
    tables: list[str]


class RuleVersionInfo(TypedDict):
    since: dt.date | None  # None: in force from the start


class RuleInfo(TypedDict):
    name: str
    label_zh: str
    label_en: str
    unit: str
    output: bool
    reference: ReferenceInfo
    versions: list[RuleVersionInfo]


class CombinationInfo(TypedDict):
    name: str
    mode: str
    rules: list[str]
    cap: str | None


class ValueInfo(TypedDict):
    since: dt.date
    value_text: str
    reference: ReferenceInfo


class ParameterInfo(TypedDict):
    name: str
    label_zh: str
    label_en: str
    unit: str
    scale: bool
    note: str
    values: list[ValueInfo]


class PolicyDetail(PolicySummary):
    rules: list[RuleInfo]
    combinations: list[CombinationInfo]
    parameters: list[ParameterInfo]
    formulas_hash: str
    parameters_hash: str


def reference_info(reference: Reference) -> ReferenceInfo:
    return ReferenceInfo(
        document=reference.document, article=reference.article, url=reference.url,
        note=reference.note,
    )  # fmt: skip


def policy_summary(policy: Policy) -> PolicySummary:
    return PolicySummary(
        id=policy.id,
        zh=policy.zh,
        en=policy.en,
        kind=policy.kind,
        years=list(policy.years) if policy.years else None,
        description_zh=policy.description_zh,
        description_en=policy.description_en,
        reference=reference_info(policy.reference) if policy.reference else None,
        outputs=list(policy.outputs),
        tables=list(policy.tables),
    )


def policy_summaries() -> list[PolicySummary]:
    """Every catalogue policy, by id (operator access: the command line)."""
    return [policy_summary(policy_get(policy_id)) for policy_id in policy_ids()]


def policy_describe(policy_id: str) -> PolicyDetail:
    """A policy's rules and parameters with every dated value and its legal reference.
    Raises PolicyError (bilingual) for an unknown id."""
    policy = policy_get(policy_id)
    rules = [
        RuleInfo(
            name=rule.name, label_zh=rule.zh, label_en=rule.en, unit=rule.unit,
            output=rule.name in policy.outputs, reference=reference_info(rule.reference),
            versions=[
                RuleVersionInfo(since=None if v.since <= DEFAULT_SINCE else v.since)
                for v in sorted(rule.versions, key=lambda v: v.since)
            ],
        )
        for rule in policy.rules.values()
    ]  # fmt: skip
    parameters = [
        ParameterInfo(
            name=p.name, label_zh=p.label_zh, label_en=p.label_en, unit=p.unit, scale=p.scale,
            note=p.note,
            values=[
                ValueInfo(since=v.since, value_text=display(v.value, p.unit),
                          reference=reference_info(v.reference))
                for v in p.values
            ],
        )
        for p in (policy.parameters[name] for name in policy.parameters.names())
    ]  # fmt: skip
    combinations = [
        CombinationInfo(name=c.name, mode=c.mode, rules=list(c.rules), cap=c.cap)
        for c in policy.combinations
    ]
    return PolicyDetail(
        **policy_summary(policy),
        rules=rules,
        combinations=combinations,
        parameters=parameters,
        formulas_hash=formulas_hash(policy_id),
        parameters_hash=policy.parameters.version_hash(),
    )


def policy_list_for_user(*, user: User) -> list[PolicySummary]:
    if not permissions.can_view_policy_catalogue(user):
        raise PermissionDenied
    return policy_summaries()


def policy_get_for_user(*, user: User, policy_id: str) -> PolicyDetail:
    if not permissions.can_view_policy_catalogue(user):
        raise PermissionDenied
    try:
        return policy_describe(policy_id)
    except PolicyError as exc:
        raise Http404 from exc


# ---- evaluating posted rows (nothing is saved) ------------------------------------------------


def posted_outcome_for_user(
    *,
    user: User,
    policy_id: str,
    year: int,
    rows: list[dict[str, Any]],
    loans: list[dict[str, Any]] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Outcome:
    """Evaluate a policy over facts rows posted as JSON objects; nothing is stored.

    The frame is built column-wise by Polars straight from the objects (mixed cell types become
    text) and typed by the same vectorised ``facts_frame_normalise`` a facts file goes through,
    so the API accepts and refuses what a file does. Raises PermissionDenied, Http404 (unknown
    policy), PolicyError / ParameterError / FactsInputError (bilingual).
    """
    if not permissions.can_evaluate_policies(user):
        raise PermissionDenied
    if policy_id not in policy_ids():
        raise Http404
    policy = policy_for(policy_id, year=year)
    facts = facts_frame_normalise(pl.DataFrame(rows, infer_schema_length=None))
    tables = {"loans": pl.DataFrame(loans, infer_schema_length=None)} if loans is not None else {}
    return outcome_compute(policy, facts, year=year, overrides=overrides, tables=tables)


# ---- the registry as a policy reads it -------------------------------------------------------


def registry_facts(*, year: int) -> pl.DataFrame:
    """The registry's facts for ``year`` and every year before it (rules look back: previous
    year, three-year sums, "ever before"), in engine types. Operator access: runs and the CLI."""
    years = (
        EnterpriseYear.objects.filter(year__lte=year)
        .order_by("year")
        .values_list("year", flat=True)
        .distinct()
    )
    return facts_frame_from_db(years=list(years))


def registry_has_year(*, year: int) -> bool:
    return EnterpriseYear.objects.filter(year=year, organisation__uscc__isnull=False).exists()


# ---- runs ------------------------------------------------------------------------------------


def run_list_for_user(
    *, user: User, policy_id: str | None = None, year: int | None = None
) -> QuerySet[PolicyRun]:
    """Runs newest first. Bureau and finance officers: all; an applicant: finished baseline runs
    (never scenarios); other roles: PermissionDenied."""
    if permissions.can_view_runs(user):
        runs = PolicyRun.objects.all()
    elif permissions.can_view_own_run_results(user):
        runs = PolicyRun.objects.filter(status=RunStatus.DONE, baseline__isnull=True)
    else:
        raise PermissionDenied
    if policy_id:
        runs = runs.filter(policy_id=policy_id)
    if year is not None:
        runs = runs.filter(year=year)
    return runs.select_related("created_by").order_by("-created_at", "-id")


def run_get_for_user(*, user: User, pk: int) -> PolicyRun:
    try:
        return run_list_for_user(user=user).get(pk=pk)
    except PolicyRun.DoesNotExist as exc:
        raise Http404 from exc


def _own_uscc(user: User) -> str | None:
    organisation = user.organisation
    return organisation.uscc if organisation is not None else None


def run_results_for_user(
    *,
    user: User,
    run: PolicyRun,
    scheme: str | None = None,
    q: str | None = None,
    order: str = "uscc",
) -> QuerySet[RunResult]:
    """A run's results: all of them for bureau and finance officers, the applicant's own
    organisation's only. Empty until the run is done. ``q`` matches a USCC prefix or a name;
    ``order`` is one of :data:`RESULT_ORDERS`."""
    visible = run_get_for_user(user=user, pk=run.pk)
    if order not in RESULT_ORDERS:
        raise WotuError(
            f"未知排序 {order}（可选：{', '.join(RESULT_ORDERS)}）",
            f"unknown order {order} (one of: {', '.join(RESULT_ORDERS)})",
        )
    results = RunResult.objects.filter(run=visible)
    if visible.status != RunStatus.DONE:
        return results.none()
    if not permissions.can_view_runs(user):
        results = results.filter(uscc=_own_uscc(user) or "-")
    if scheme:
        results = results.filter(scheme=scheme)
    if q and q.strip():
        text = q.strip()
        results = results.filter(Q(uscc__startswith=text.upper()) | Q(name__icontains=text))
    return results.order_by(*RESULT_ORDERS[order])


def run_totals(run: PolicyRun) -> Totals | None:
    """Per scheme and district: beneficiaries and amount (CNY), as recorded when the run
    finished; None until it is done. Show it only where ``permissions.can_view_runs(user)``."""
    if run.status != RunStatus.DONE or not run.totals:
        return None
    return totals_from_json(run.totals)


def run_awards(run: PolicyRun) -> QuerySet[RunResult]:
    """The award proposals of a finished baseline "evaluate" run, by USCC and scheme — what the
    ledger turns into commitments. Scenario runs are what-ifs and never award anything."""
    if run.status != RunStatus.DONE or run.kind != RunKind.EVALUATE or run.is_scenario:
        raise WotuError(
            "只有已完成的基准奖励运行才有奖励建议（情景运行不是）",
            "only a finished baseline award run proposes awards (a scenario run does not)",
        )
    awards = run.results.filter(amount__gt=0).select_related("organisation")
    return awards.order_by("uscc", "scheme")


# ---- explanations ----------------------------------------------------------------------------


def explanation_for_user(*, user: User, run: PolicyRun, uscc: str) -> dict[str, Any]:
    """How every output of ``run`` was reached for one enterprise, re-evaluated from the run's
    input (the registry, re-read) with its year and overrides. When the registry or the
    formulas changed since the run, the result says so (``input_changed``,
    ``formulas_changed``) and ``recorded`` holds what the run stored."""
    visible = run_get_for_user(user=user, pk=run.pk)
    uscc = uscc.strip().upper()
    if not permissions.can_view_runs(user) and uscc != _own_uscc(user):
        raise Http404
    if visible.status != RunStatus.DONE:
        raise WotuError("运行尚未完成，暂无解释", "the run has not finished: nothing to explain")
    if visible.input_source != "registry":
        raise WotuError(
            f"此运行的输入是文件 {visible.input_source}，无法重新读取",
            f"this run read the file {visible.input_source}, which cannot be read again",
        )
    facts = registry_facts(year=visible.year)
    outcome = outcome_compute(
        policy_get(visible.policy_id), facts, year=visible.year, overrides=visible.overrides
    )
    try:
        tree = outcome_explain(outcome, uscc=uscc)
    except WotuError as exc:
        raise Http404 from exc
    drift = _drift(
        visible, input_now=facts_hash(facts), formulas_now=formulas_hash(visible.policy_id)
    )
    return {**tree, "run_id": visible.pk, "recorded": _recorded(visible, uscc), **drift}


def _recorded(run: PolicyRun, uscc: str) -> list[dict[str, Any]]:
    rows = run.results.filter(uscc=uscc).order_by("scheme")
    return [
        {"scheme": r.scheme, "amount": r.amount, "values": r.values, "basis": r.basis} for r in rows
    ]


def _drift(run: PolicyRun, *, input_now: str, formulas_now: str) -> dict[str, Any]:
    input_changed = input_now != run.input_hash
    formulas_changed = formulas_now != run.formulas_hash
    notes = []
    if input_changed:
        notes.append({
            "zh": "登记库数据自本次运行以来已变化：此解释按当前数据重新计算，可能与记录不同",
            "en": "the registry changed since this run: this explanation is recomputed from"
                  " today's data and may differ from the recorded results",
        })  # fmt: skip
    if formulas_changed:
        notes.append({
            "zh": "政策公式或参数文件自本次运行以来已修改",
            "en": "the policy's formulas or parameter file changed since this run",
        })  # fmt: skip
    return {
        "input_hash": run.input_hash,
        "input_hash_now": input_now,
        "input_changed": input_changed,
        "formulas_changed": formulas_changed,
        "notes": notes,
    }


# ---- comparing a scenario with its baseline --------------------------------------------------


def run_summary(run: PolicyRun) -> dict[str, Any]:
    return {
        "id": run.pk, "policy_id": run.policy_id, "year": run.year, "scenario": run.scenario,
        "overrides": run.overrides, "parameters_hash": run.parameters_hash,
        "input_hash": run.input_hash, "finished_at": run.finished_at,
    }  # fmt: skip


def run_compare(
    *, user: User | None, baseline: PolicyRun, scenario: PolicyRun, limit: int | None = None
) -> dict[str, Any]:
    """Two finished "evaluate" runs of the same policy and year, compared (see
    ``outcomes.Comparison``); ``same_input`` tells whether both read identical facts."""
    if user is not None:
        if not permissions.can_view_runs(user):
            raise PermissionDenied
        baseline = run_get_for_user(user=user, pk=baseline.pk)
        scenario = run_get_for_user(user=user, pk=scenario.pk)
    _comparable(baseline, scenario)
    comparison: Comparison = awards_compare(
        _awards_of(baseline), _awards_of(scenario), policy=policy_get(baseline.policy_id),
        limit=limit,
    )  # fmt: skip
    return {
        "policy_id": baseline.policy_id,
        "year": baseline.year,
        "baseline": run_summary(baseline),
        "scenario": run_summary(scenario),
        "same_input": baseline.input_hash == scenario.input_hash,
        **comparison,
    }


def _comparable(baseline: PolicyRun, scenario: PolicyRun) -> None:
    if baseline.status != RunStatus.DONE or scenario.status != RunStatus.DONE:
        raise WotuError("两次运行都完成后才能比较", "both runs must have finished to be compared")
    if (baseline.policy_id, baseline.year) != (scenario.policy_id, scenario.year):
        raise WotuError(
            "只能比较同一政策、同一年度的运行", "only runs of the same policy and year compare"
        )
    if baseline.kind != RunKind.EVALUATE:
        raise WotuError(
            "情景比较目前只适用于奖励类政策", "scenario comparison covers award policies only"
        )


def _awards_of(run: PolicyRun) -> pl.DataFrame:
    rows = list(
        run.results.filter(amount__gt=0).values_list(
            "uscc", "scheme", "amount", "name", "district_code"
        )
    )
    frame = pl.DataFrame(
        rows,
        schema={"uscc": pl.String, "scheme": pl.String, "amount": pl.Decimal(20, 2),
                "name": pl.String, "district_code": pl.String},
        orient="row",
    )  # fmt: skip
    return frame.with_columns(amount_fen=(pl.col("amount") * Decimal(100)).cast(pl.Int64)).drop(
        "amount"
    )
