"""The review process's REST endpoints under /api/reviews/: the expert pool, conflicts, stage
assignment, progress, closing and results (bureau officers); the expert's own assignments,
declaration, application and score (experts).

Thin: parse, call one scoped selector or one service, render. A service's refusal
(:class:`~wotu.core.errors.WotuError`) is a 400 through :mod:`wotu.api`'s handler; an
impossible assignment is a 409 carrying the diagnosis line by line.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, cast

from django.http import HttpRequest
from django.urls import reverse
from ninja import Query, Router, Status

from wotu.core.models import User
from wotu.organisations.selectors import organisation_get_for_user
from wotu.reviews import selectors, services
from wotu.reviews.models import Assignment, Conflict, Expert
from wotu.reviews.schemas import (
    AdmitIn,
    ApplicationOut,
    AssignIn,
    AssignmentOut,
    ClosedOut,
    ConflictOut,
    DeclareIn,
    DeclareOut,
    DismissIn,
    ExpertIn,
    ExpertOut,
    ExpertPage,
    ExpertQuery,
    Infeasible,
    Problem,
    ResultOut,
    RunOut,
    ScoreIn,
    ScoreOut,
    StageOut,
)

router = Router(tags=["reviews"])

REFUSALS: dict[int | str, Any] = {400: Problem, 401: Problem, 403: Problem, 404: Problem}


def _caller(request: HttpRequest) -> User:
    return cast(User, request.auth)  # type: ignore[attr-defined]


# --- the pool -----------------------------------------------------------------------------------


def _expert_out(expert: Expert) -> dict[str, Any]:
    return {
        "id": expert.pk,
        "code": expert.code,
        "name": expert.name,
        "organisation_id": expert.organisation_id,
        "region": expert.region,
        "title": expert.title,
        "fields": list(expert.fields),
        "max_load": expert.max_load,
        "active": expert.active,
        "admission": dict(expert.admission),
        "admitted_at": expert.admitted_at,
        "in_pool": expert.in_pool,
    }


@router.get("/reviews/experts", response={200: ExpertPage, **REFUSALS})
def expert_list(request: HttpRequest, query: Query[ExpertQuery]) -> dict[str, Any]:
    """The expert pool, filtered by field, region and active flag (bureau officers)."""
    filters = selectors.ExpertFilter(
        q=query.q, field=query.field, region=query.region, active=query.active
    )
    experts = selectors.expert_list_for_user(user=_caller(request), filters=filters)
    total = experts.count()
    start = (query.page - 1) * query.page_size
    return {
        "items": [_expert_out(e) for e in experts[start : start + query.page_size]],
        "total": total,
        "page": query.page,
        "page_size": query.page_size,
        "pages": math.ceil(total / query.page_size),
    }


@router.post("/reviews/experts", response={201: ExpertOut, **REFUSALS})
def expert_create(request: HttpRequest, body: ExpertIn) -> Status[dict[str, Any]]:
    user = _caller(request)
    selectors.expert_list_for_user(user=user)  # officers only, before looking anything up
    organisation = organisation_get_for_user(user=user, pk=body.organisation_id)
    expert = services.expert_create(
        actor=user, code=body.code, name=body.name, organisation=organisation,
        fields=body.fields, region=body.region, title=body.title, max_load=body.max_load,
        active=body.active,
    )  # fmt: skip
    return Status(201, _expert_out(expert))


@router.get("/reviews/experts/{expert_id}", response={200: ExpertOut, **REFUSALS})
def expert_get(request: HttpRequest, expert_id: int) -> dict[str, Any]:
    return _expert_out(selectors.expert_get_for_user(user=_caller(request), pk=expert_id))


@router.post("/reviews/experts/{expert_id}/admit", response={200: ExpertOut, **REFUSALS})
def expert_admit(request: HttpRequest, expert_id: int, body: AdmitIn) -> dict[str, Any]:
    """Admit an HK/MO expert: 400 names the conditions still unmet."""
    user = _caller(request)
    expert = selectors.expert_get_for_user(user=user, pk=expert_id)
    return _expert_out(services.expert_admit(expert=expert, actor=user, ticked=body.conditions))


# --- conflicts ----------------------------------------------------------------------------------


def _conflict_out(conflict: Conflict) -> dict[str, Any]:
    return {
        "id": conflict.pk,
        "application": conflict.application.reference,
        "expert": conflict.expert.code,
        "source": conflict.source,
        "detail": conflict.detail,
        "active": conflict.active,
        "dismissed_reason": conflict.dismissed_reason,
    }


@router.get("/reviews/stages/{stage_id}/conflicts", response={200: list[ConflictOut], **REFUSALS})
def conflict_list(request: HttpRequest, stage_id: int) -> list[dict[str, Any]]:
    user = _caller(request)
    stage = selectors.stage_get_for_user(user=user, pk=stage_id)
    return [_conflict_out(c) for c in selectors.conflict_list_for_user(user=user, stage=stage)]


@router.post(
    "/reviews/stages/{stage_id}/conflicts/detect", response={200: list[ConflictOut], **REFUSALS}
)
def conflicts_detect(request: HttpRequest, stage_id: int) -> list[dict[str, Any]]:
    """Detect conflicts now; returns every conflict still active on the stage's applications."""
    user = _caller(request)
    stage = selectors.stage_get_for_user(user=user, pk=stage_id)
    return [_conflict_out(c) for c in services.conflicts_detect(stage=stage, actor=user)]


@router.post("/reviews/conflicts/{conflict_id}/dismiss", response={200: ConflictOut, **REFUSALS})
def conflict_dismiss(request: HttpRequest, conflict_id: int, body: DismissIn) -> dict[str, Any]:
    user = _caller(request)
    conflict = selectors.conflict_get_for_user(user=user, pk=conflict_id)
    return _conflict_out(
        services.conflict_dismiss(conflict=conflict, actor=user, reason=body.reason)
    )


# --- stages -------------------------------------------------------------------------------------


@router.get("/reviews/stages/{stage_id}", response={200: StageOut, **REFUSALS})
def stage_get(request: HttpRequest, stage_id: int) -> dict[str, Any]:
    """A stage and its progress — counts only while it is open."""
    user = _caller(request)
    stage = selectors.stage_get_for_user(user=user, pk=stage_id)
    progress = selectors.stage_progress_for_user(user=user, stage=stage)
    return {
        "id": stage.pk,
        "call": stage.call.code,
        "order": stage.order,
        "kind": stage.kind,
        "status": stage.status,
        "panel_size": stage.panel_size,
        "max_load": stage.max_load,
        "min_hkmo": stage.min_hkmo,
        "progress": {**progress.__dict__, "short": list(progress.short)},
    }


@router.post(
    "/reviews/stages/{stage_id}/assign", response={200: RunOut, 409: Infeasible, **REFUSALS}
)
def stage_assign(request: HttpRequest, stage_id: int, body: AssignIn) -> Any:
    """Run the assignment. 409 when impossible, with the diagnosis (which applications, which
    constraint) in ``problems``."""
    user = _caller(request)
    stage = selectors.stage_get_for_user(user=user, pk=stage_id)
    affinity = {(a.application_id, a.expert_id): float(a.score) for a in body.affinity}
    try:
        run = services.stage_assign(stage=stage, actor=user, seed=body.seed, affinity=affinity)
    except services.StageInfeasible as exc:
        return Status(
            409,
            {
                "detail": f"{exc.zh} / {exc.en}",
                "detail_zh": exc.zh,
                "detail_en": exc.en,
                "problems": [{"zh": zh, "en": en} for zh, en in exc.problems],
            },
        )
    return run


@router.post("/reviews/stages/{stage_id}/close", response={200: ClosedOut, **REFUSALS})
def stage_close(request: HttpRequest, stage_id: int) -> dict[str, Any]:
    """Close the stage: 400 while any assignment is unscored (says which)."""
    user = _caller(request)
    stage = selectors.stage_get_for_user(user=user, pk=stage_id)
    closed = services.stage_close(stage=stage, actor=user)
    return {
        "passed": closed.passed,
        "failed": closed.failed,
        "awarded": closed.awarded,
        "remaining": closed.remaining,
    }


@router.get("/reviews/stages/{stage_id}/results", response={200: list[ResultOut], **REFUSALS})
def stage_results(request: HttpRequest, stage_id: int) -> list[dict[str, Any]]:
    """Ranked results of a closed stage (an empty list while it is open)."""
    user = _caller(request)
    stage = selectors.stage_get_for_user(user=user, pk=stage_id)
    return [
        {
            "application": r.application.reference,
            "rank": r.rank,
            "mean": r.mean,
            "normalised": r.normalised,
            "passed": r.passed,
        }
        for r in selectors.stage_results_for_user(user=user, stage=stage)
    ]


# --- the expert portal --------------------------------------------------------------------------


def _assignment_out(a: Assignment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "stage_id": a.stage_id,
        "stage_kind": a.stage.kind,
        "status": a.status,
        "reference": a.application.reference,
        "title": a.application.title,
        "field": a.application.field,
        "organisation": a.application.organisation.name,
    }


@router.get("/reviews/assignments", response={200: list[AssignmentOut], **REFUSALS})
def my_assignments(request: HttpRequest) -> list[dict[str, Any]]:
    """The calling expert's own assignments (nobody else's)."""
    return [_assignment_out(a) for a in selectors.assignments_for_expert(user=_caller(request))]


@router.post("/reviews/assignments/{assignment_id}/declare", response={200: DeclareOut, **REFUSALS})
def assignment_declare(request: HttpRequest, assignment_id: int, body: DeclareIn) -> dict[str, Any]:
    """Affirm "no conflict" (the application opens), or decline with a reason."""
    user = _caller(request)
    assignment = selectors.assignment_get_for_user(user=user, pk=assignment_id)
    outcome = services.assignment_declare(
        assignment=assignment, expert_user=user, no_conflict=body.no_conflict, reason=body.reason
    )
    return {"id": outcome.assignment.pk, "status": outcome.assignment.status}


@router.get(
    "/reviews/assignments/{assignment_id}/application", response={200: ApplicationOut, **REFUSALS}
)
def assignment_application(request: HttpRequest, assignment_id: int) -> dict[str, Any]:
    """The full application: 404 until the expert has affirmed "no conflict"."""
    user = _caller(request)
    assignment = selectors.assignment_get_for_user(user=user, pk=assignment_id)
    app = selectors.assignment_application_for_user(user=user, assignment=assignment)
    return {
        "reference": app.reference,
        "title": app.title,
        "field": app.field,
        "organisation": app.organisation.name,
        "partners": [p.name for p in app.partners.all()],
        "answers": app.answers,
        "budget": {k: str(v) for k, v in app.budget.items()},
        "requested": app.requested,
        "files": [
            {
                "id": f.pk,
                "field": f.field,
                "name": f.original_name,
                "size": f.size,
                "url": reverse("reviews:assignment_file", args=[assignment.pk, f.pk]),
            }
            for f in app.files.all()
        ],
    }


@router.post("/reviews/assignments/{assignment_id}/score", response={200: ScoreOut, **REFUSALS})
def assignment_score(request: HttpRequest, assignment_id: int, body: ScoreIn) -> dict[str, Any]:
    """Submit or change the score (until the stage closes): 400 names a missing or
    out-of-range criterion."""
    user = _caller(request)
    assignment = selectors.assignment_get_for_user(user=user, pk=assignment_id)
    selectors.assignment_application_for_user(user=user, assignment=assignment)  # 404 before
    marks: dict[str, Decimal] = dict(body.marks)
    score = services.score_submit(
        assignment=assignment, expert_user=user, marks=marks, comment=body.comment
    )
    return {
        "assignment_id": assignment.pk,
        "marks": score.marks,
        "total": score.total,
        "comment": score.comment,
        "submitted_at": score.submitted_at,
    }
