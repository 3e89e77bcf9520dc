"""Writes for programmes, calls and applications: lifecycle steps 1 and 2.

1. A bureau officer creates a programme (form, budget lines, review pipeline) and its calls
   (stages copied from the pipeline), and opens and closes them.
2. An applicant saves drafts and submits before the call closes (Asia/Shanghai); an officer runs
   the formal check: pass (to review, at the first scored stage), return for correction, reject.
   Those writes live in :mod:`wotu.programmes.applications` and are re-exported here.

Services check *who* may act and *what* may be written; an application's status changes only
through :func:`wotu.programmes.workflow.application_transition`. Validation reports every
problem at once as :class:`Invalid` (one :class:`~wotu.programmes.formschema.FieldError` per
field, in Chinese and English); nothing is written when anything is invalid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.programmes.applications import FORMAL_OUTCOMES as FORMAL_OUTCOMES
from wotu.programmes.applications import application_draft_save as application_draft_save
from wotu.programmes.applications import application_formal_check as application_formal_check
from wotu.programmes.applications import application_problems as application_problems
from wotu.programmes.applications import application_submit as application_submit
from wotu.programmes.applications import application_withdraw as application_withdraw
from wotu.programmes.applications import call_accepting as call_accepting
from wotu.programmes.applications import first_scored_stage as first_scored_stage
from wotu.programmes.applications import who_may_apply_problems as who_may_apply_problems
from wotu.programmes.errors import KIND_ZH as KIND_ZH
from wotu.programmes.errors import REGION_EN as REGION_EN
from wotu.programmes.errors import REGION_ZH as REGION_ZH
from wotu.programmes.errors import SHANGHAI as SHANGHAI
from wotu.programmes.errors import Invalid as Invalid
from wotu.programmes.errors import Refused as Refused
from wotu.programmes.errors import manager_require
from wotu.programmes.errors import shanghai as shanghai
from wotu.programmes.models import (
    Call,
    CallStatus,
    Programme,
    Stage,
)
from wotu.programmes.pipeline import APPLICANT_KINDS as APPLICANT_KINDS
from wotu.programmes.pipeline import REGIONS as REGIONS
from wotu.programmes.pipeline import SCORED as SCORED
from wotu.programmes.pipeline import STAGE_KEYS as STAGE_KEYS
from wotu.programmes.pipeline import STAGE_ORDER as STAGE_ORDER
from wotu.programmes.pipeline import field_problem
from wotu.programmes.pipeline import pipeline_problems as pipeline_problems
from wotu.programmes.pipeline import programme_problems as programme_problems

PROGRAMME_FIELDS = (
    "title",
    "title_en",
    "description",
    "year",
    "budget",
    "max_award",
    "kinds",
    "regions",
    "hkmo_may_lead",
    "eligibility",
    "form",
    "budget_lines",
    "pipeline",
    "funding",
)


_problem = field_problem


# --- programmes -------------------------------------------------------------------------------


def programme_create(
    *,
    actor: Any,
    code: str,
    title: str,
    title_en: str,
    year: int,
    budget: Decimal,
    kinds: Sequence[str],
    regions: Sequence[str],
    pipeline: Sequence[Mapping[str, Any]],
    hkmo_may_lead: bool = False,
    max_award: Decimal | None = None,
    eligibility: Sequence[str] = (),
    form: Sequence[Mapping[str, Any]] = (),
    budget_lines: Sequence[Mapping[str, Any]] = (),
    description: str = "",
    funding: Mapping[str, Any] | None = None,
) -> Programme:
    """Create a programme after checking every part of it (raises :class:`Invalid` listing all
    problems: codes, amounts, who may apply, eligibility rule ids, the form spec, budget lines,
    the review pipeline and the funding rule — ``{"partial": "none"}`` when not given, see
    :mod:`wotu.programmes.pipeline`). Writes one ``programme.create`` audit event."""
    manager_require(actor)
    values: dict[str, Any] = {
        "title": title,
        "title_en": title_en,
        "description": description,
        "year": year,
        "budget": budget,
        "max_award": max_award,
        "kinds": list(kinds),
        "regions": list(regions),
        "hkmo_may_lead": hkmo_may_lead,
        "eligibility": list(eligibility),
        "form": list(form),
        "budget_lines": list(budget_lines),
        "pipeline": [dict(s) for s in pipeline],
        "funding": {"partial": "none"} if funding is None else dict(funding),
    }
    errors = programme_problems(values)
    if not code or not code.replace("-", "").replace("_", "").isalnum() or code != code.lower():
        errors.insert(
            0,
            _problem(
                "code",
                code,
                "代码只能用小写字母、数字、- 和 _",
                "the code takes lowercase letters, digits, - and _ only",
            ),
        )
    elif Programme.objects.filter(code=code).exists():
        errors.insert(
            0, _problem("code", code, f"代码 {code} 已被使用", f"the code {code} is already used")
        )
    if errors:
        raise Invalid(errors, zh="计划未保存", en="the programme was not saved")
    with transaction.atomic():
        programme = Programme.objects.create(code=code, **values)
        audit_record(
            actor=actor,
            action="programme.create",
            subject=programme,
            data={"code": code, "budget": programme.budget, "funding": programme.funding},
        )
    return programme


def programme_update(*, actor: Any, programme: Programme, **changes: Any) -> Programme:
    """Change some of a programme's fields (:data:`PROGRAMME_FIELDS`), checked as a whole like
    :func:`programme_create`. Calls already created keep their own stages. Audited."""
    manager_require(actor)
    unknown = sorted(set(changes) - set(PROGRAMME_FIELDS))
    if unknown:
        raise WotuError(f"不能修改字段 {', '.join(unknown)}", f"cannot change {', '.join(unknown)}")
    values = {name: getattr(programme, name) for name in PROGRAMME_FIELDS} | changes
    errors = programme_problems(values)
    if errors:
        raise Invalid(errors, zh="计划未保存", en="the programme was not saved")
    with transaction.atomic():
        for name, value in changes.items():
            setattr(programme, name, value)
        programme.save(update_fields=list(changes) or None)
        audit_record(
            actor=actor,
            action="programme.update",
            subject=programme,
            data={"fields": sorted(changes)},
        )
    return programme


# --- calls ------------------------------------------------------------------------------------


def call_create(
    *,
    actor: Any,
    programme: Programme,
    code: str,
    title: str,
    title_en: str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    conflict_years: int = 3,
) -> Call:
    """A draft call of ``programme`` with its stages copied from the programme's pipeline (a
    later change to the programme never rewrites a running review). ``opens_at`` and
    ``closes_at`` are aware datetimes; the call must close after it opens."""
    manager_require(actor)
    errors = []
    if Call.objects.filter(code=code).exists() or not code:
        errors.append(
            _problem(
                "code",
                code,
                f"申报批次代码 {code!r} 为空或已被使用",
                f"the call code {code!r} is empty or already used",
            )
        )
    if not title.strip() or not title_en.strip():
        errors.append(
            _problem("title", title, "中英文标题不能为空", "both titles are required", "required")
        )
    if timezone.is_naive(opens_at) or timezone.is_naive(closes_at):
        errors.append(
            _problem(
                "opens_at",
                None,
                "开始和截止时间须带时区",
                "opening and closing times need a time zone",
            )
        )
    elif closes_at <= opens_at:
        errors.append(
            _problem(
                "closes_at",
                shanghai(closes_at),
                f"截止时间 {shanghai(closes_at)} 须晚于开始时间 {shanghai(opens_at)}",
                f"the call must close ({shanghai(closes_at)}) after it opens"
                f" ({shanghai(opens_at)})",
            )
        )
    errors += pipeline_problems(programme.pipeline)
    if errors:
        raise Invalid(errors, zh="申报批次未创建", en="the call was not created")
    with transaction.atomic():
        call = Call.objects.create(
            programme=programme,
            code=code,
            title=title,
            title_en=title_en,
            opens_at=opens_at,
            closes_at=closes_at,
            conflict_years=conflict_years,
            created_by=actor,
        )
        Stage.objects.bulk_create(
            Stage(call=call, order=order, **dict(spec))
            for order, spec in enumerate(programme.pipeline, start=1)
        )
        audit_record(
            actor=actor,
            action="call.create",
            subject=call,
            data={"code": code, "opens_at": opens_at, "closes_at": closes_at},
        )
    return call


def _call_status(*, actor: Any, call: Call, old: CallStatus, new: CallStatus) -> Call:
    manager_require(actor)
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.status != old:
            raise WotuError(
                f"申报批次 {locked.code} 当前状态为「{locked.get_status_display()}」，不能改为"
                f"「{new.label}」",
                f"call {locked.code} is {locked.status}; it cannot become {new.value}",
            )
        locked.status = new
        locked.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="call.status",
            subject=locked,
            data={"code": locked.code, "from": str(old), "to": str(new)},
        )
    call.refresh_from_db()
    return call


def call_open(*, actor: Any, call: Call) -> Call:
    """A draft call starts accepting applications (between its opening and closing times)."""
    return _call_status(actor=actor, call=call, old=CallStatus.DRAFT, new=CallStatus.OPEN)


def call_close(*, actor: Any, call: Call) -> Call:
    """An open call stops accepting applications and goes to review (only applications
    returned for correction may still be resubmitted)."""
    return _call_status(actor=actor, call=call, old=CallStatus.OPEN, new=CallStatus.REVIEW)
