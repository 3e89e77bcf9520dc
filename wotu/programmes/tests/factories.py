"""Builders for tests that need programmes, calls and applications in bulk. Persona tests use
the named fixtures of wotu/conftest.py; these are for volume and setup only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from wotu.organisations.models import Organisation
from wotu.programmes.models import (
    Application,
    Call,
    CallStatus,
    Programme,
    Stage,
    StageKind,
    Status,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
_serial = count(1)

RUBRIC = [
    {"code": "innovation", "label_zh": "创新性", "label_en": "Innovation", "weight": "0.4",
     "min": 0, "max": 100},
    {"code": "feasibility", "label_zh": "可行性", "label_en": "Feasibility", "weight": "0.3",
     "min": 0, "max": 100},
    {"code": "team", "label_zh": "团队", "label_en": "Team", "weight": "0.3", "min": 0, "max": 100},
]  # fmt: skip

FORM = [
    {"name": "summary", "type": "text", "label_zh": "项目摘要", "label_en": "Summary",
     "required": True, "max_length": 2000},
    {"name": "start", "type": "date", "label_zh": "开始日期", "label_en": "Start date",
     "required": True},
    {"name": "plan", "type": "file", "label_zh": "项目申报书", "label_en": "Proposal",
     "required": True, "kinds": ["pdf"]},
]  # fmt: skip

BUDGET_LINES = [
    {"code": "equipment", "label_zh": "设备费", "label_en": "Equipment"},
    {"code": "staff", "label_zh": "劳务费", "label_en": "Staff"},
    {"code": "other", "label_zh": "其他", "label_en": "Other"},
]

PIPELINE: list[dict[str, Any]] = [
    {"kind": "professional", "panel_size": 3, "max_load": 10, "rubric": RUBRIC,
     "pass_rule": {"top_share": 0.5}, "normalise": True},
    {"kind": "defence", "panel_size": 3, "max_load": 10, "rubric": RUBRIC,
     "pass_rule": {"top_share": 0.6}},
    {"kind": "site", "panel_size": 2, "max_load": 6, "rubric": RUBRIC,
     "pass_rule": {"min_score": 60}, "exclude_experts_of": [1]},
    {"kind": "notice"},
    {"kind": "committee"},
]  # fmt: skip


def programme_make(**overrides: Any) -> Programme:
    n = next(_serial)
    values: dict[str, Any] = {
        "code": f"prog-{n}", "title": f"人才创新项目 {n}", "title_en": f"Talent projects {n}",
        "year": 2026, "budget": Decimal("14100000.00"), "max_award": Decimal("500000.00"),
        "kinds": ["enterprise", "university", "institute"], "regions": ["CN", "HK", "MO"],
        "hkmo_may_lead": True, "form": FORM, "budget_lines": BUDGET_LINES, "pipeline": PIPELINE,
    }  # fmt: skip
    values.update(overrides)
    return Programme.objects.create(**values)


def call_make(
    *, programme: Programme | None = None, status: str = CallStatus.OPEN, **overrides: Any
) -> Call:
    """A call with its stages built from the programme's pipeline, open for a month from
    2026-03-01 09:00 Asia/Shanghai unless told otherwise."""
    programme = programme or programme_make()
    n = next(_serial)
    values: dict[str, Any] = {
        "code": f"call-{n}", "title": f"{programme.title} 申报", "title_en": programme.title_en,
        "opens_at": dt.datetime(2026, 3, 1, 9, tzinfo=SHANGHAI),
        "closes_at": dt.datetime(2026, 3, 31, 17, tzinfo=SHANGHAI), "status": status,
    }  # fmt: skip
    values.update(overrides)
    call = Call.objects.create(programme=programme, **values)
    for order, spec in enumerate(programme.pipeline, start=1):
        Stage.objects.create(call=call, order=order, **spec)
    return call


def application_make(
    *, call: Call, organisation: Organisation, status: str = Status.DRAFT, **overrides: Any
) -> Application:
    n = next(_serial)
    values: dict[str, Any] = {
        "reference": f"{call.code}-{n:04d}", "field": "electronics", "title": f"项目 {n}",
        "requested": Decimal("200000.00"), "status": status,
        "budget": {"equipment": "100000.00", "staff": "80000.00", "other": "20000.00"},
    }  # fmt: skip
    values.update(overrides)
    return Application.objects.create(call=call, organisation=organisation, **values)


def first_scored_stage(call: Call) -> Stage:
    return call.stages.filter(kind=StageKind.PROFESSIONAL).get()
