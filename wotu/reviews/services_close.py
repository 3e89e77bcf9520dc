"""Closing a scored review stage (split from :mod:`wotu.reviews.services_stages`, which
re-exports the public names).

    scoring ──stage_close──▶ closed

An officer closes: every score sheet is ranked, the passers move on to the next stage (or to
the notice), the others are not funded, each with feedback; one audit event per change.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.programmes.models import Application, Stage, StageKind, StageStatus, Status
from wotu.programmes.pipeline import funding_rule
from wotu.programmes.workflow import application_transition
from wotu.reviews import scoring
from wotu.reviews.models import (
    Assignment,
    AssignmentStatus,
    Score,
    StageResult,
)
from wotu.reviews.selectors import can_manage_reviews, stage_applications, stage_rubric
from wotu.reviews.services_assign import KIND_ZH, _stage_name

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
