"""Writes for a scored review stage: assignment, the expert's declaration, scores, closing.

The lifecycle of one stage (professional, defence or site inspection)::

    pending ──stage_assign──▶ scoring ──stage_close──▶ closed
                              │  experts: assignment_declare (affirm, or decline → repair)
                              │           score_submit (editable until the stage closes)

Every change writes one audit event in its transaction. Services check *who*: officers assign
and close; an expert declares and scores only their own assignments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from importlib.metadata import version
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from wotu.core.audit import audit_record, canonical_json
from wotu.core.errors import WotuError
from wotu.programmes.models import Application, Stage, StageKind, StageStatus, Status
from wotu.programmes.pipeline import funding_rule
from wotu.programmes.workflow import application_transition
from wotu.reviews import assignment as library
from wotu.reviews import scoring
from wotu.reviews.models import (
    Assignment,
    AssignmentRun,
    AssignmentStatus,
    Conflict,
    ConflictSource,
    Expert,
    Score,
    StageResult,
)
from wotu.reviews.selectors import can_manage_reviews, expert_pool, stage_applications, stage_rubric
from wotu.reviews.services_experts import conflicts_detect

KIND_ZH = {
    StageKind.PROFESSIONAL: "专业评审",
    StageKind.DEFENCE: "答辩评审",
    StageKind.SITE: "现场考察",
    StageKind.NOTICE: "公示",
    StageKind.COMMITTEE: "决策",
}
SCORE_PLACES = Decimal("0.01")


def _stage_name(stage: Stage) -> tuple[str, str]:
    kind = StageKind(stage.kind)
    return (
        f"第 {stage.order} 阶段（{KIND_ZH[kind]}）",
        f"stage {stage.order} ({str(kind.label).lower()})",
    )


class StageInfeasible(WotuError):
    """No assignment meets the stage's constraints; ``problems`` are the library's diagnosis,
    one (zh, en) line per application or constraint that cannot be met."""

    def __init__(self, stage: Stage, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        zh, en = _stage_name(stage)
        super().__init__(
            f"{zh}无法分配专家：" + "；".join(p[0] for p in self.problems),
            f"{en}: no assignment of experts is possible: " + "; ".join(p[1] for p in problems),
        )


# --- building the library's input ---------------------------------------------------------------


@dataclass
class _Built:
    instance: library.Instance
    applications: dict[str, Application]  # by reference
    experts: dict[str, Expert]  # by code
    previous: list[library.Pair] = field(default_factory=list)


def _needs_hkmo(application: Application) -> bool:
    if application.organisation.region != "CN":
        return True
    return any(p.region != "CN" for p in application.partners.all())


def _build(
    stage: Stage,
    applications: Sequence[Application],
    *,
    extra_experts: Sequence[Expert] = (),
    affinity: Mapping[tuple[int, int], float] | None = None,
) -> _Built:
    """The library's instance for ``applications`` at ``stage``: the pool (plus
    ``extra_experts``, who are barred from every pair — used by repair to keep pairs of
    experts who have since left the pool), active conflicts, the cross-stage rule."""
    pool = {e.pk: e for e in expert_pool()}
    outsiders = {e.pk: e for e in extra_experts if e.pk not in pool}
    experts = {e.code: e for e in sorted([*pool.values(), *outsiders.values()], key=_code)}
    apps = {a.reference: a for a in applications}
    app_ids = [a.pk for a in applications]
    conflicts = {
        (ref, code)
        for ref, code in Conflict.objects.filter(
            application_id__in=app_ids, dismissed_at__isnull=True
        ).values_list("application__reference", "expert__code")
        if code in experts
    }
    if stage.exclude_experts_of:
        earlier = Assignment.objects.filter(
            stage__call=stage.call_id,
            stage__order__in=stage.exclude_experts_of,
            application_id__in=app_ids,
        ).values_list("application__reference", "expert__code")
        conflicts |= {(ref, code) for ref, code in earlier if code in experts}
    for expert in outsiders.values():
        conflicts |= {(ref, expert.code) for ref in apps}
    scores: dict[tuple[str, str], float] = {}
    if affinity:
        by_pk_app = {a.pk: a.reference for a in applications}
        by_pk_exp = {e.pk: e.code for e in experts.values()}
        scores = {
            (by_pk_app[a], by_pk_exp[e]): float(v)
            for (a, e), v in affinity.items()
            if a in by_pk_app and e in by_pk_exp
        }
    instance = library.Instance(
        applications=[
            library.Application(a.reference, a.field, str(a.organisation_id), _needs_hkmo(a))
            for a in applications
        ],
        experts=[
            library.Expert(
                e.code, frozenset(e.fields), str(e.organisation_id), e.region, e.max_load
            )
            for e in experts.values()
        ],
        per_application=stage.panel_size,
        max_load=stage.max_load,
        min_hkmo=stage.min_hkmo,
        conflicts=conflicts,
        affinity=scores,
    )
    return _Built(instance=instance, applications=apps, experts=experts)


def _code(expert: Expert) -> str:
    return expert.code


def instance_hash(instance: library.Instance) -> str:
    """sha256 of the instance in canonical JSON: the same input always hashes the same."""
    payload = {
        "applications": [
            [a.application_id, a.field, a.organisation_id, a.needs_hkmo]
            for a in instance.applications
        ],
        "experts": [
            [e.expert_id, sorted(e.fields), e.organisation_id, e.region, e.max_load]
            for e in instance.experts
        ],
        "conflicts": sorted(instance.conflicts),
        "affinity": sorted([a, e, s] for (a, e), s in instance.affinity.items()),
        "per_application": instance.per_application,
        "max_load": instance.max_load,
        "min_hkmo": instance.min_hkmo,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def _stage_ready(stage: Stage) -> None:
    zh, en = _stage_name(stage)
    if not stage.is_scored:
        raise WotuError(f"{zh}不是评分阶段，无需分配专家", f"{en} is not scored: no experts")
    if stage.status == StageStatus.SCORING:
        raise WotuError(f"{zh}已分配专家，正在评分", f"{en} already has experts and is scoring")
    if stage.status == StageStatus.CLOSED:
        raise WotuError(f"{zh}已结束", f"{en} is closed")
    if stage.panel_size < 1 or stage.max_load < 1:
        raise WotuError(
            f"{zh}须设定每项申请的专家数和每位专家的最大评审量（现为 {stage.panel_size} 和"
            f" {stage.max_load}）",
            f"{en} needs a panel size and a maximum load per expert (now {stage.panel_size}"
            f" and {stage.max_load})",
        )
    if stage.min_hkmo > stage.panel_size:
        raise WotuError(
            f"{zh}的港澳专家下限 {stage.min_hkmo} 超过每项申请的专家数 {stage.panel_size}",
            f"{en}: the HK/MO minimum {stage.min_hkmo} exceeds the panel size {stage.panel_size}",
        )


# --- assignment ---------------------------------------------------------------------------------


def stage_assign(
    *,
    stage: Stage,
    actor: Any,
    seed: int = 0,
    affinity: Mapping[tuple[int, int], float] | None = None,
) -> AssignmentRun:
    """Assign ``stage.panel_size`` experts to every application under review at ``stage``.

    First refreshes the conflicts (:func:`conflicts_detect`), then solves with the library
    (:mod:`wotu.reviews.assignment`): experts in the pool, no active conflict, no expert of an
    organisation twice on one application, the stage's maximum load (or the expert's own),
    ``stage.min_hkmo`` HK/MO experts on cross-border applications, and none of the experts who
    had the same application at the stages listed in ``stage.exclude_experts_of``.
    ``affinity`` maps (application pk, expert pk) to a score overriding the field match.

    Records the run (seed, input hash, solver and OR-Tools version, parameters, objective) and
    its assignments, and moves the stage to *scoring*. Raises :class:`StageInfeasible` with the
    library's diagnosis when no assignment exists (nothing is written then but the conflicts).
    """
    if not can_manage_reviews(actor):
        raise PermissionDenied(
            "只有科技局工作人员可以分配专家 / only bureau officers assign experts"
        )
    _stage_ready(stage)
    applications = list(
        stage_applications(stage).select_related("organisation").prefetch_related("partners")
    )
    if not applications:
        zh, en = _stage_name(stage)
        raise WotuError(f"{zh}没有待评审的申请", f"{en} has no applications under review")
    conflicts_detect(stage=stage, actor=actor)
    with transaction.atomic():
        locked = Stage.objects.select_for_update().get(pk=stage.pk)
        _stage_ready(locked)
        built = _build(locked, applications, affinity=affinity)
        try:
            result = library.assignment_solve(built.instance, seed=seed)
        except library.AssignmentInfeasible as exc:
            raise StageInfeasible(locked, exc.problems) from exc
        run = _run_record(locked, built, result, actor=actor, seed=seed, kind="assign")
        Assignment.objects.bulk_create(_rows(locked, built, result.pairs, run))
        locked.status = StageStatus.SCORING
        locked.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="stage.assign",
            subject=locked,
            data={"run": run.pk, "seed": seed, "pairs": run.pairs, "hash": run.input_hash},
        )
    stage.refresh_from_db()
    return run


def _run_record(
    stage: Stage,
    built: _Built,
    result: library.Result,
    *,
    actor: Any,
    seed: int,
    kind: str,
    extra: Mapping[str, Any] | None = None,
) -> AssignmentRun:
    instance = built.instance
    return AssignmentRun.objects.create(
        stage=stage,
        seed=seed,
        input_hash=instance_hash(instance),
        solver=result.solver,
        solver_version=f"ortools {version('ortools')}",
        parameters={
            "kind": kind,
            "per_application": instance.per_application,
            "max_load": instance.max_load,
            "min_hkmo": instance.min_hkmo,
            "exclude_experts_of": list(stage.exclude_experts_of),
            "applications": len(instance.applications),
            "experts": len(instance.experts),
            "conflicts": len(instance.conflicts),
            "affinity_supplied": len(instance.affinity),
            "allowed_pairs": result.allowed_pairs,
            **(extra or {}),
        },
        objective=result.total_affinity,
        pairs=len(result.pairs),
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def _rows(
    stage: Stage, built: _Built, pairs: Sequence[library.Pair], run: AssignmentRun
) -> list[Assignment]:
    return [
        Assignment(
            stage=stage,
            application=built.applications[p.application_id],
            expert=built.experts[p.expert_id],
            run=run,
            affinity=p.affinity,
        )
        for p in pairs
    ]


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


# --- closing a stage ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Closed:
    results: list[StageResult]
    passed: int
    failed: int
    #: The last scored stage only: the funding line's total and what the budget has left.
    awarded: Decimal | None = None
    remaining: Decimal | None = None


def stage_close(*, stage: Stage, actor: Any) -> Closed:
    """Close a scoring stage: refuse while any live assignment is unscored (saying how many and
    which); compute each application's mean (and z-normalised, if ``stage.normalise``) score,
    rank, and pass by ``stage.pass_rule`` (:mod:`wotu.reviews.scoring`); store
    :class:`StageResult` rows; and move the applications through
    :func:`wotu.programmes.workflow.application_transition`:

    * passers go to the next stage when it is scored (it stays *pending* until assigned);
    * when the next stage is the notice (or there is none), passers are funded in rank order
      under the programme budget (:func:`scoring.funding_line`): above the line → NOTICE with
      ``proposed`` set; below → NOT_PASSED with the reason;
    * failers → NOT_PASSED, with feedback (rank and score, never expert names).
    """
    if not can_manage_reviews(actor):
        raise PermissionDenied(
            "只有科技局工作人员可以结束评审阶段 / only bureau officers close stages"
        )
    with transaction.atomic():
        locked = (
            Stage.objects.select_for_update().select_related("call__programme").get(pk=stage.pk)
        )
        _closable(locked)
        rubric = stage_rubric(locked)
        applications = {a.pk: a for a in stage_applications(locked).select_related("organisation")}
        sheets = _sheets(locked, applications)
        ranked, raw, normalised = _rank(locked, rubric, sheets, applications)
        passed = {r.application_id for r in _passers(locked, ranked)}
        closed = _advance(locked, ranked, raw, normalised, passed, applications, actor)
        locked.status = StageStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        audit_record(
            actor=actor,
            action="stage.close",
            subject=locked,
            data={
                "applications": len(ranked),
                "passed": closed.passed,
                "failed": closed.failed,
                "awarded": closed.awarded,
            },
        )
    stage.refresh_from_db()
    return closed


def _closable(stage: Stage) -> None:
    zh, en = _stage_name(stage)
    if stage.status != StageStatus.SCORING:
        raise WotuError(
            f"{zh}不在评分中（{stage.get_status_display()}），不能结束",
            f"{en} is not scoring ({stage.status}) and cannot be closed",
        )
    open_ = list(
        Assignment.objects.filter(
            stage=stage, status__in=(AssignmentStatus.PENDING, AssignmentStatus.ACCEPTED)
        )
        .select_related("application", "expert")
        .order_by("application__reference", "expert__code")
    )
    if open_:
        names = ", ".join(f"{a.application.reference}/{a.expert.code}" for a in open_[:10])
        more = f" …(+{len(open_) - 10})" if len(open_) > 10 else ""
        raise WotuError(
            f"{zh}还有 {len(open_)} 份评分未提交（申请/专家）：{names}{more}",
            f"{en} still has {len(open_)} unscored assignment(s) (application/expert):"
            f" {names}{more}",
        )


def _sheets(stage: Stage, applications: dict[int, Application]) -> list[scoring.ScoreSheet]:
    scores = Score.objects.filter(
        assignment__stage=stage, assignment__application_id__in=applications
    ).select_related("assignment")
    sheets = [
        scoring.ScoreSheet(
            expert_id=s.assignment.expert_id,
            application_id=s.assignment.application_id,
            marks={code: Decimal(str(value)) for code, value in s.marks.items()},
        )
        for s in scores
    ]
    unscored = sorted(
        applications[pk].reference for pk in set(applications) - {s.application_id for s in sheets}
    )
    if unscored:
        zh, en = _stage_name(stage)
        raise WotuError(
            f"{zh}中申请 {', '.join(unscored)} 没有任何评分（专家均已回避），请先补派专家",
            f"{en}: application(s) {', '.join(unscored)} have no score at all (every expert"
            " declined); assign another expert first",
        )
    return sheets


def _rank(
    stage: Stage,
    rubric: scoring.Rubric,
    sheets: list[scoring.ScoreSheet],
    applications: dict[int, Application],
) -> tuple[list[scoring.Ranked], dict[int, Decimal], dict[int, Decimal]]:
    submitted = {pk: a.submitted_at or a.created_at for pk, a in applications.items()}
    raw_results = scoring.results_compile(rubric=rubric, sheets=sheets, submitted_at=submitted)
    raw = {r.application_id: r.score for r in raw_results}
    normalised: dict[int, Decimal] = {}
    results = raw_results
    if stage.normalise:
        results = scoring.results_compile(
            rubric=rubric, sheets=sheets, submitted_at=submitted, normalise=True
        )
        normalised = {r.application_id: r.score for r in results}
    return scoring.rank_applications(results=results), raw, normalised


def _passers(stage: Stage, ranked: list[scoring.Ranked]) -> list[scoring.Ranked]:
    try:
        return scoring.stage_pass(ranked=ranked, rule=stage.pass_rule)
    except WotuError as exc:
        zh, en = _stage_name(stage)
        raise WotuError(f"{zh}的晋级规则：{exc.zh}", f"{en}, pass rule: {exc.en}") from exc


def _advance(
    stage: Stage,
    ranked: list[scoring.Ranked],
    raw: dict[int, Decimal],
    normalised: dict[int, Decimal],
    passed: set[int],
    applications: dict[int, Application],
    actor: Any,
) -> Closed:
    following = stage.call.stages.filter(order__gt=stage.order).order_by("order").first()
    funding: dict[int, scoring.Funding] = {}
    line = None
    if following is None or not following.is_scored:
        rule, min_share = funding_rule(funding=stage.call.programme.funding)
        line = scoring.funding_line(
            ranked=[r for r in ranked if r.application_id in passed],
            requested={pk: applications[pk].requested for pk in passed},
            budget=stage.call.programme.budget,
            partial=rule,
            min_share=min_share,
        )
        funding = {row.application_id: row for row in line.rows}
    n = len(ranked)
    results = []
    for r in ranked:
        app = applications[r.application_id]
        feedback = _feedback(stage, following, r, n, r.application_id in passed, funding)
        results.append(
            StageResult(
                stage=stage,
                application=app,
                mean=raw[r.application_id],
                normalised=normalised.get(r.application_id),
                rank=r.rank,
                passed=r.application_id in passed,
                feedback=feedback,
            )
        )
        _move(app, stage, following, r.application_id in passed, funding, feedback, actor)
    StageResult.objects.bulk_create(results)
    return Closed(
        results=results,
        passed=len(passed),
        failed=n - len(passed),
        awarded=line.awarded if line else None,
        remaining=line.remaining if line else None,
    )


def _move(
    app: Application,
    stage: Stage,
    following: Stage | None,
    passed: bool,
    funding: dict[int, scoring.Funding],
    feedback: str,
    actor: Any,
) -> None:
    data = {"stage_closed": stage.pk}
    if passed and following is not None and following.is_scored:
        application_transition(
            application=app, to=Status.IN_REVIEW, actor=actor, stage=following,
            feedback=feedback, data=data,
        )  # fmt: skip
    elif passed and funding[app.pk].outcome != "unfunded":
        Application.objects.filter(pk=app.pk).update(proposed=funding[app.pk].awarded)
        application_transition(
            application=app, to=Status.NOTICE, actor=actor, stage=following,
            feedback=feedback, data={**data, "proposed": funding[app.pk].awarded},
        )  # fmt: skip
    else:
        application_transition(
            application=app, to=Status.NOT_PASSED, actor=actor, feedback=feedback, data=data
        )


def _feedback(
    stage: Stage,
    following: Stage | None,
    r: scoring.Ranked,
    n: int,
    passed: bool,
    funding: dict[int, scoring.Funding],
) -> str:
    kind = StageKind(stage.kind)
    zh, en = KIND_ZH[kind], str(kind.label).lower()
    place_zh, place_en = (
        f"第 {r.rank} 名（共 {n} 项），得分 {r.score}",
        f"rank {r.rank} of {n}, score {r.score}",
    )
    if not passed:
        return f"未通过{zh}：{place_zh}。 / Not passed at the {en}: {place_en}."
    if following is not None and following.is_scored:
        nxt = StageKind(following.kind)
        return (
            f"通过{zh}（{place_zh}），进入{KIND_ZH[nxt]}。"
            f" / Passed the {en} ({place_en}); next: {str(nxt.label).lower()}."
        )
    row = funding[r.application_id]
    if row.outcome == "unfunded":
        return (
            f"通过{zh}（{place_zh}），但位于资助线以下：申请金额 {row.requested} 元超出剩余预算，"
            "不予推荐资助。"
            f" / Passed the {en} ({place_en}) but below the funding line: the request of"
            f" CNY {row.requested} does not fit in what is left of the programme budget."
        )
    if row.outcome == "partial":
        return (
            f"通过{zh}（{place_zh}），按部分资助规则拟资助 {row.awarded} 元"
            f"（申请 {row.requested} 元，为剩余预算），进入公示。"
            f" / Passed the {en} ({place_en}); partial funding: proposed for CNY {row.awarded}"
            f" of the CNY {row.requested} requested (what is left of the budget), on public"
            " notice next."
        )
    return (
        f"通过{zh}（{place_zh}），拟资助 {row.awarded} 元，进入公示。"
        f" / Passed the {en} ({place_en}); proposed for CNY {row.awarded}, on public notice next."
    )
