"""Writes for a scored review stage: assignment, the expert's declaration, scores, closing.

The lifecycle of one stage (professional, defence or site inspection)::

    pending ──stage_assign──▶ scoring ──stage_close──▶ closed
                              │  experts: assignment_declare (affirm, or decline → repair)
                              │           score_submit (editable until the stage closes)

Every change writes one audit event in its transaction. Services check *who*: officers assign
and close; an expert declares and scores only their own assignments. Assignment lives in
:mod:`wotu.reviews.services_assign` and closing in :mod:`wotu.reviews.services_close`; both are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.programmes.models import Application, Stage, StageStatus
from wotu.reviews import assignment as library
from wotu.reviews import scoring
from wotu.reviews.models import (
    Assignment,
    AssignmentStatus,
    Conflict,
    ConflictSource,
    Expert,
    Score,
)
from wotu.reviews.selectors import stage_rubric
from wotu.reviews.services_assign import KIND_ZH as KIND_ZH
from wotu.reviews.services_assign import StageInfeasible as StageInfeasible
from wotu.reviews.services_assign import _build as _build
from wotu.reviews.services_assign import _rows, _run_record, _stage_name
from wotu.reviews.services_assign import instance_hash as instance_hash
from wotu.reviews.services_assign import stage_assign as stage_assign
from wotu.reviews.services_close import Closed as Closed
from wotu.reviews.services_close import stage_close as stage_close

SCORE_PLACES = Decimal("0.01")


# --- the expert's declaration -------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    """What a declaration did: the assignment, and for a decline the replacement (or why none
    could be found — the officer then sees a short panel on the stage page)."""

    assignment: Assignment
    replacement: Assignment | None = None
    problems: tuple[tuple[str, str], ...] = ()


def _own(assignment: Assignment, expert_user: Any) -> None:
    expert = Expert.objects.filter(user=expert_user).first() if expert_user else None
    if expert is None or expert.pk != assignment.expert_id:
        raise PermissionDenied("这不是您的评审任务 / this is not your assignment")


def _stage_scoring(stage: Stage) -> None:
    if stage.status != StageStatus.SCORING:
        zh, en = _stage_name(stage)
        raise WotuError(
            f"{zh}不在评分中（{stage.get_status_display()}），不能再声明或评分",
            f"{en} is not scoring ({stage.status}): declarations and scores are closed",
        )


def assignment_declare(
    *, assignment: Assignment, expert_user: Any, no_conflict: bool, reason: str = ""
) -> Declared:
    """The expert affirms "no conflict" (the full application opens to them) or declines with a
    reason: the decline is recorded as an expert-declared conflict (never dismissible) and the
    freed place is re-assigned by :func:`wotu.reviews.assignment.assignment_repair`, which
    changes no other pair. Only once per assignment, only while the stage is scoring."""
    _own(assignment, expert_user)
    with transaction.atomic():
        locked = (
            Assignment.objects.select_for_update()
            .select_related("stage", "application", "expert")
            .get(pk=assignment.pk)
        )
        _stage_scoring(locked.stage)
        who = f"{locked.application.reference}"
        if locked.status != AssignmentStatus.PENDING:
            raise WotuError(
                f"您已就申请 {who} 作出声明（{locked.get_status_display()}）",
                f"you have already declared for application {who} ({locked.status})",
            )
        if not no_conflict and not reason.strip():
            raise WotuError(
                f"回避申请 {who} 须说明理由（如：与申请单位有合作关系）",
                f"declining application {who} needs a reason (e.g. a working relation with the"
                " applicant)",
            )
        locked.declared_at = timezone.now()
        if no_conflict:
            locked.status = AssignmentStatus.ACCEPTED
            locked.save(update_fields=["status", "declared_at"])
            audit_record(
                actor=expert_user,
                action="assignment.accept",
                subject=locked,
                data={"application": who, "expert": locked.expert.code},
            )
            outcome = Declared(assignment=locked)
        else:
            outcome = _decline(locked, expert_user, reason.strip())
    assignment.refresh_from_db()
    return outcome


def _decline(locked: Assignment, expert_user: Any, reason: str) -> Declared:
    locked.status = AssignmentStatus.DECLINED
    locked.decline_reason = reason
    locked.save(update_fields=["status", "declared_at", "decline_reason"])
    Conflict.objects.get_or_create(
        application=locked.application,
        expert=locked.expert,
        source=ConflictSource.EXPERT_DECLARED,
        defaults={"detail": reason[:300]},
    )
    audit_record(
        actor=expert_user,
        action="assignment.decline",
        subject=locked,
        data={"application": locked.application.reference, "expert": locked.expert.code},
    )
    try:
        with transaction.atomic():
            replacement = _repair(locked, expert_user)
    except library.AssignmentInfeasible as exc:
        audit_record(
            actor=expert_user,
            action="assignment.repair_failed",
            subject=locked,
            data={"application": locked.application.reference, "problems": exc.problems},
        )
        return Declared(assignment=locked, problems=tuple(exc.problems))
    return Declared(assignment=locked, replacement=replacement)


def _repair(declined: Assignment, actor: Any) -> Assignment | None:
    stage = declined.stage
    live = list(
        Assignment.objects.filter(stage=stage)
        .exclude(status=AssignmentStatus.DECLINED)
        .select_related("application", "expert")
    )
    app_ids = {a.application_id for a in live} | {declined.application_id}
    applications = list(
        Application.objects.filter(pk__in=app_ids)
        .select_related("organisation")
        .prefetch_related("partners")
        .order_by("reference")
    )
    built = _build(stage, applications, extra_experts=[a.expert for a in live])
    previous = [
        library.Pair(a.application.reference, a.expert.code, a.affinity) for a in [*live, declined]
    ]
    pair = (declined.application.reference, declined.expert.code)
    seed = stage.assignment_runs.values_list("seed", flat=True).first() or 0
    result = library.assignment_repair(
        built.instance, previous=previous, declined={pair}, seed=seed
    )
    kept = {(p.application_id, p.expert_id) for p in previous}
    fresh = [p for p in result.pairs if (p.application_id, p.expert_id) not in kept]
    run = _run_record(
        stage, built, result, actor=actor, seed=seed, kind="repair",
        extra={"declined": list(pair), "changed_pairs": len(fresh)},
    )  # fmt: skip
    rows = Assignment.objects.bulk_create(_rows(stage, built, fresh, run))
    audit_record(
        actor=actor,
        action="assignment.repair",
        subject=stage,
        data={
            "run": run.pk,
            "declined": list(pair),
            "added": [[p.application_id, p.expert_id] for p in fresh],
        },
    )
    if not rows:
        return None
    return Assignment.objects.get(
        stage=stage, application=rows[0].application, expert=rows[0].expert
    )


# --- scores -------------------------------------------------------------------------------------


def _marks_read(marks: Mapping[str, Any]) -> dict[str, Any]:
    """Marks as Decimal where they are numbers (text and floats through their text form);
    anything else is passed on for :func:`scoring.score_total` to refuse by criterion."""
    out: dict[str, Any] = {}
    for code, raw in marks.items():
        value = raw
        if isinstance(raw, (str, float)) and not isinstance(raw, bool):
            try:
                value = Decimal(str(raw).strip())
            except InvalidOperation:
                value = raw
        out[str(code)] = value
    return out


def score_submit(
    *, assignment: Assignment, expert_user: Any, marks: Mapping[str, Any], comment: str = ""
) -> Score:
    """Save (or replace) the expert's marks for their assignment, checked against the stage's
    rubric by :func:`wotu.reviews.scoring.score_total` (every criterion, within its range).
    Only after affirming "no conflict"; editable until the stage closes. The stored total is
    rounded half-up to 0.01 for display; results are recomputed from the marks."""
    _own(assignment, expert_user)
    with transaction.atomic():
        locked = (
            Assignment.objects.select_for_update()
            .select_related("stage", "stage__call", "application")
            .get(pk=assignment.pk)
        )
        _stage_scoring(locked.stage)
        ref = locked.application.reference
        if locked.status == AssignmentStatus.PENDING:
            raise WotuError(
                f"请先就申请 {ref} 声明无利益冲突，再评分",
                f"affirm that you have no conflict with application {ref} before scoring it",
            )
        if locked.status == AssignmentStatus.DECLINED:
            raise WotuError(
                f"您已回避申请 {ref}，不能评分", f"you declined application {ref}: no score"
            )
        clean = _marks_read(marks)
        total = scoring.score_total(rubric=stage_rubric(locked.stage), marks=clean)
        now = timezone.now()
        score, created = Score.objects.update_or_create(
            assignment=locked,
            defaults={
                "marks": {code: str(value) for code, value in clean.items()},
                "total": total.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP),
                "comment": comment.strip(),
                "submitted_at": now,
            },
        )
        locked.status = AssignmentStatus.SCORED
        locked.save(update_fields=["status"])
        audit_record(
            actor=expert_user,
            action="score.submit" if created else "score.update",
            subject=score,
            data={"application": ref, "marks": score.marks, "total": score.total},
        )
    assignment.refresh_from_db()
    return score
