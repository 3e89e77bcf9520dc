"""Assigning experts to a scored review stage (split from :mod:`wotu.reviews.services_stages`,
which re-exports the public names).

    pending ──stage_assign──▶ scoring

An officer assigns: the stage's applications and the expert pool become the assignment
library's input (:func:`instance_hash` fingerprints it), the solution becomes assignments, and
one assignment run plus one audit event are written in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from wotu.core.audit import audit_record, canonical_json
from wotu.core.errors import WotuError
from wotu.programmes.models import Application, Stage, StageKind, StageStatus
from wotu.reviews import assignment as library
from wotu.reviews.models import (
    Assignment,
    AssignmentRun,
    Conflict,
    Expert,
)
from wotu.reviews.selectors import can_manage_reviews, expert_pool, stage_applications
from wotu.reviews.services_experts import conflicts_detect

KIND_ZH = {
    StageKind.PROFESSIONAL: "专业评审",
    StageKind.DEFENCE: "答辩评审",
    StageKind.SITE: "现场考察",
    StageKind.NOTICE: "公示",
    StageKind.COMMITTEE: "决策",
}


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
