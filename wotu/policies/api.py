"""The policies REST endpoints: the catalogue, evaluating posted rows, runs, their results,
explanations and scenario comparisons.

Thin, like the registry's: parse, call one permission-scoped selector or one service, render.
Refusals have the shape of :mod:`wotu.api` (``detail``, ``detail_zh``, ``detail_en``): 401
anonymous, 403 a role that may not, 404 unknown or not visible, 413 a body too large, 422 a
request or data that cannot be used (with the bilingual reason and, for bad facts cells, every
``row, column, value, reason``).

``POST /policies/{id}/evaluate`` reads its JSON body itself: numbers with a fraction are kept as
their text (``json.loads(parse_float=str)``) and parsed exactly by Polars, like a CSV cell —
exact and faster than Decimal objects — and the answer is written by Polars as JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any, cast

import polars as pl
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from wotu.core import permissions
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.organisations.schemas import Problem
from wotu.policies.engine import PolicyError
from wotu.policies.explain import explain_rows
from wotu.policies.inputs import FactsInputError
from wotu.policies.models import PolicyRun, RunResult
from wotu.policies.outcomes import (
    Outcome,
    assessments_frame,
    assessments_totals,
    awards_frame,
    awards_totals,
    totals_to_json,
)
from wotu.policies.parameters import ParameterError
from wotu.policies.schemas import (
    CompareOut,
    EvaluateIn,
    EvaluateInvalid,
    EvaluateOut,
    PolicyDetailOut,
    PolicyOut,
    ResultPage,
    ResultQuery,
    RunIn,
    RunOut,
    RunPage,
    RunQuery,
)
from wotu.policies.selectors import (
    PolicyDetail,
    PolicySummary,
    explanation_for_user,
    policy_get_for_user,
    policy_list_for_user,
    posted_outcome_for_user,
    run_compare,
    run_get_for_user,
    run_list_for_user,
    run_results_for_user,
    run_totals,
)
from wotu.policies.services import run_create

router = Router(tags=["policies"])

REFUSALS: dict[int | str, Any] = {401: Problem, 403: Problem, 404: Problem}
UNUSABLE = (PolicyError, ParameterError, WotuError)
MAX_EXPLAINED = 1000


def _caller(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


def _problem(zh: str, en: str, **extra: Any) -> dict[str, Any]:
    return {"detail": f"{zh} / {en}", "detail_zh": zh, "detail_en": en, **extra}


def _unusable(exc: PolicyError | ParameterError | WotuError) -> Status[dict[str, Any]]:
    return Status(422, _problem(exc.zh, exc.en))


# --- the catalogue ------------------------------------------------------------------------


@router.get("/policies", response={200: list[PolicyOut], **REFUSALS})
def policy_list(request: HttpRequest) -> list[PolicySummary]:
    """Every policy of the catalogue (published law: every signed-in role may read it)."""
    return policy_list_for_user(user=_caller(request))


@router.get("/policies/{policy_id}", response={200: PolicyDetailOut, **REFUSALS})
def policy_get(request: HttpRequest, policy_id: str) -> PolicyDetail:
    """Rules (labels, units, references, formula versions) and parameters (every dated value
    with its unit and legal reference)."""
    return policy_get_for_user(user=_caller(request), policy_id=policy_id)


# --- evaluating posted rows ---------------------------------------------------------------


class _BadBody(Exception):
    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.zh, self.en = status, zh, en


@router.post(
    "/policies/{policy_id}/evaluate",
    response={200: EvaluateOut, 413: Problem, 422: EvaluateInvalid, **REFUSALS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": EvaluateIn.model_json_schema()}},
        }
    },
)
def policy_evaluate(request: HttpRequest, policy_id: str) -> HttpResponse | Status[Any]:
    """Evaluate posted facts rows for a year (optionally with scenario overrides); nothing is
    saved. Answers one result per enterprise of the year with its ``basis`` and, when
    ``explain`` is true (at most 1,000 rows), its explanation tree. A bureau officer's tool."""
    user = _caller(request)
    try:
        body = _evaluation_body(request)
        outcome = posted_outcome_for_user(
            user=user, policy_id=policy_id, year=body["year"], rows=body["rows"],
            loans=body["loans"], overrides=body["overrides"],
        )  # fmt: skip
        if body["explain"] and outcome.result.height > MAX_EXPLAINED:
            raise _BadBody(
                422,
                f"解释树最多 {MAX_EXPLAINED} 行；每行的 basis 已说明依据",
                f"explanation trees for at most {MAX_EXPLAINED} rows; each row's basis explains it",
            )
    except _BadBody as exc:
        return Status(exc.status, _problem(exc.zh, exc.en, errors=[]))
    except FactsInputError as exc:
        errors = [{**e.as_dict(), "index": e.row - 2} for e in exc.errors]
        return Status(422, _problem(exc.zh, exc.en, errors=errors))
    except UNUSABLE as exc:
        return Status(422, _problem(exc.zh, exc.en, errors=[]))
    payload = _evaluation_json(outcome, explain=body["explain"])
    return HttpResponse(payload, content_type="application/json")


def _evaluation_body(request: HttpRequest) -> dict[str, Any]:
    limit = settings.WOTU_MAX_EVALUATE_BYTES
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > limit:
        raise _BadBody(
            413,
            f"请求体过大（{length} 字节，上限 {limit}）：请分批提交",
            f"the body is too large ({length} bytes, limit {limit}): post the rows in parts",
        )
    # Read the stream, not request.body: Django caps .body at DATA_UPLOAD_MAX_MEMORY_SIZE.
    raw = request.read()
    try:
        data = json.loads(raw, parse_float=str)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _BadBody(
            422, f"请求体不是有效的 JSON：{exc}", f"the body is not JSON: {exc}"
        ) from exc
    return _evaluation_fields(data)


def _evaluation_fields(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _BadBody(422, "请求体应为 JSON 对象", "the body must be a JSON object")
    year, rows, loans = data.get("year"), data.get("rows"), data.get("loans")
    overrides, explain = data.get("overrides") or {}, data.get("explain", False)
    problems = [
        (not isinstance(year, int) or isinstance(year, bool), "year 应为整数", "year: an integer"),
        (not _objects(rows), "rows 应为对象数组", "rows: a list of objects"),
        (
            loans is not None and not _objects(loans),
            "loans 应为对象数组",
            "loans: a list of objects",
        ),
        (not isinstance(overrides, dict), "overrides 应为对象", "overrides: an object"),
        (not isinstance(explain, bool), "explain 应为 true/false", "explain: true or false"),
    ]
    bad = [(zh, en) for wrong, zh, en in problems if wrong]
    if bad:
        raise _BadBody(
            422, "请求体字段无效：" + "；".join(z for z, _ in bad),
            "invalid fields: " + "; ".join(e for _, e in bad),
        )  # fmt: skip
    return {"year": year, "rows": rows, "loans": loans, "overrides": overrides, "explain": explain}


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _evaluation_json(outcome: Outcome, *, explain: bool) -> bytes:
    results = assessments_frame(outcome, with_names=True)
    if outcome.policy.kind == "evaluate":
        totals = awards_totals(
            awards_frame(outcome, basis=False), policy=outcome.policy, enterprises=results.height
        )
    else:
        totals = assessments_totals(results, policy=outcome.policy)
    head = {
        "policy": outcome.policy.id,
        "kind": outcome.policy.kind,
        "year": outcome.year,
        "parameters_hash": outcome.parameters_hash,
        "overrides": outcome.overrides,
        "count": results.height,
        "totals": totals_to_json(totals),
    }
    safe = results.with_columns(
        [_finite(name) for name, dtype in results.schema.items() if dtype.is_float()]
    )
    if explain:
        rows = safe.to_dicts()
        for row in rows:
            row["explanation"] = explain_rows(outcome.plan, outcome.result, uscc=row["uscc"])
        body = json.dumps(rows, ensure_ascii=False, default=str).encode()
    else:
        body = safe.write_json().encode()
    head_json = json.dumps(head, ensure_ascii=False, default=str).encode()
    return head_json[:-1] + b', "results": ' + body + b"}"


def _finite(name: str) -> pl.Expr:
    column = pl.col(name)
    return pl.when(column.is_finite()).then(column).otherwise(None).alias(name)


# --- runs ---------------------------------------------------------------------------------


def _run_out(run: PolicyRun, user: User) -> dict[str, Any]:
    return {
        "id": run.pk, "policy_id": run.policy_id, "kind": run.kind, "year": run.year,
        "status": run.status, "progress": run.progress, "progress_message": run.progress_message,
        "created_by": run.created_by.username if run.created_by else None,
        "created_at": run.created_at, "started_at": run.started_at,
        "finished_at": run.finished_at, "parameters_hash": run.parameters_hash,
        "formulas_hash": run.formulas_hash, "input_hash": run.input_hash,
        "input_source": run.input_source, "input_rows": run.input_rows,
        "overrides": run.overrides, "scenario": run.scenario, "baseline_id": run.baseline_id,
        "totals": run_totals(run) if permissions.can_view_runs(user) else None,
        "error_zh": run.error_zh, "error_en": run.error_en,
    }  # fmt: skip


def _page(queryset: QuerySet[Any], *, page: int, size: int) -> tuple[list[Any], dict[str, int]]:
    total = queryset.count()
    start = (page - 1) * size
    counts = {"total": total, "page": page, "page_size": size, "pages": math.ceil(total / size)}
    return list(queryset[start : start + size]), counts


@router.get("/runs", response={200: RunPage, **REFUSALS})
def run_list(request: HttpRequest, query: Query[RunQuery]) -> dict[str, Any]:
    """Runs, newest first: all for bureau and finance officers, finished baseline runs for an
    applicant (which then sees its own results only)."""
    user = _caller(request)
    runs = run_list_for_user(user=user, policy_id=query.policy_id, year=query.year)
    items, counts = _page(runs, page=query.page, size=query.page_size)
    return {"items": [_run_out(run, user) for run in items], **counts}


@router.post("/runs", response={202: RunOut, 422: Problem, **REFUSALS})
def run_post(request: HttpRequest, body: RunIn) -> Status[Any]:
    """Queue a run of a policy for a year over the registry; with ``overrides`` a scenario
    against ``baseline_id`` (default: the newest baseline run). Poll ``GET /runs/{id}``."""
    user = _caller(request)
    baseline = run_get_for_user(user=user, pk=body.baseline_id) if body.baseline_id else None
    try:
        run = run_create(
            user=user, policy_id=body.policy_id, year=body.year, overrides=body.overrides,
            baseline=baseline, scenario=body.scenario,
        )  # fmt: skip
    except UNUSABLE as exc:
        return _unusable(exc)
    return Status(202, _run_out(run, user))


@router.get("/runs/{run_id}", response={200: RunOut, **REFUSALS})
def run_get(request: HttpRequest, run_id: int) -> dict[str, Any]:
    """Status, progress (0–100) with its message, hashes and — when done — totals."""
    user = _caller(request)
    return _run_out(run_get_for_user(user=user, pk=run_id), user)


@router.get("/runs/{run_id}/results", response={200: ResultPage, **REFUSALS})
def run_results(request: HttpRequest, run_id: int, query: Query[ResultQuery]) -> dict[str, Any]:
    """A finished run's results, paginated; filter by scheme, USCC (prefix) or name."""
    user = _caller(request)
    run = run_get_for_user(user=user, pk=run_id)
    results = run_results_for_user(
        user=user, run=run, scheme=query.scheme, q=query.uscc or query.q, order=query.order
    )
    items, counts = _page(results, page=query.page, size=query.page_size)
    return {"items": [_result_out(result) for result in items], **counts}


def _result_out(result: RunResult) -> dict[str, Any]:
    return {
        "uscc": result.uscc, "name": result.name, "district_code": result.district_code,
        "organisation_id": result.organisation_id, "scheme": result.scheme,
        "amount": result.amount, "values": result.values, "basis": result.basis,
    }  # fmt: skip


@router.get("/runs/{run_id}/explain/{uscc}", response={200: dict[str, Any], 422: Problem,
                                                        **REFUSALS})  # fmt: skip
def run_explain(request: HttpRequest, run_id: int, uscc: str) -> Any:
    """How each output was reached for one enterprise in this run (branch taken, inputs,
    parameters with references); says when the registry or formulas changed since."""
    user = _caller(request)
    run = run_get_for_user(user=user, pk=run_id)
    try:
        return explanation_for_user(user=user, run=run, uscc=uscc)
    except UNUSABLE as exc:
        return _unusable(exc)


@router.get(
    "/runs/{baseline_id}/compare/{scenario_id}",
    response={200: CompareOut, 422: Problem, **REFUSALS},
)
def run_compare_get(
    request: HttpRequest, baseline_id: int, scenario_id: int, limit: int = 50
) -> Any:
    """A scenario against its baseline: totals per scheme and district, beneficiaries,
    winners, losers, new and dropped beneficiaries (lists cut to ``limit``), budget impact."""
    user = _caller(request)
    if not permissions.can_view_runs(user):
        raise PermissionDenied  # before looking the runs up: the role may not compare at all
    baseline = run_get_for_user(user=user, pk=baseline_id)
    scenario = run_get_for_user(user=user, pk=scenario_id)
    try:
        return run_compare(
            user=user, baseline=baseline, scenario=scenario, limit=max(0, min(limit, 1000))
        )
    except UNUSABLE as exc:
        return _unusable(exc)
