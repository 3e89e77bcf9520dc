"""What the review API reads and writes (ninja schemas). Marks and scores are decimals written
as strings ("85.50"); a JSON number in a request is read as an exact Decimal (wotu.api's
parser), never a float."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import PlainSerializer, WithJsonSchema

from wotu.organisations.schemas import Money, MoneyOrNone, Problem

Score = Annotated[
    Decimal,
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["85.50"]}),
]
ScoreOrNone = Annotated[
    Decimal | None,
    PlainSerializer(lambda v: None if v is None else f"{v:.2f}", return_type=str | None),
    WithJsonSchema({"type": ["string", "null"], "examples": ["85.50"]}),
]

__all__ = ["Money", "MoneyOrNone", "Problem"]


# --- the pool -----------------------------------------------------------------------------------


class ExpertQuery(Schema):
    q: str = Field("", max_length=100)
    field: str = Field("", max_length=40, description="a field code of the taxonomy")
    region: Literal["", "CN", "HK", "MO"] = ""
    active: Literal["", "yes", "no"] = ""
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class ExpertIn(Schema):
    code: str = Field(..., max_length=30)
    name: str = Field(..., max_length=100)
    organisation_id: int
    region: Literal["CN", "HK", "MO"] = "CN"
    title: str = Field("", max_length=100)
    fields: list[str] = Field(..., description="codes from the field taxonomy")
    max_load: int | None = Field(None, ge=1)
    active: bool = True


class ExpertOut(Schema):
    id: int
    code: str
    name: str
    organisation_id: int
    region: str
    title: str
    fields: list[str]
    max_load: int | None
    active: bool
    admission: dict[str, bool]
    admitted_at: dt.datetime | None
    in_pool: bool


class ExpertPage(Schema):
    items: list[ExpertOut]
    total: int
    page: int
    page_size: int
    pages: int


class AdmitIn(Schema):
    conditions: list[str] = Field(..., description="codes of the admission conditions met")


# --- conflicts ----------------------------------------------------------------------------------


class ConflictOut(Schema):
    id: int
    application: str = Field(..., description="the application's reference")
    expert: str = Field(..., description="the expert's number")
    source: str
    detail: str
    active: bool
    dismissed_reason: str


class DismissIn(Schema):
    reason: str = Field(..., max_length=2000)


# --- stages -------------------------------------------------------------------------------------


class AffinityIn(Schema):
    application_id: int
    expert_id: int
    score: Decimal


class AssignIn(Schema):
    seed: int = Field(0, ge=0)
    affinity: list[AffinityIn] = Field(
        default_factory=list, description="scores overriding the field match, per pair"
    )


class RunOut(Schema):
    id: int
    stage_id: int
    seed: int
    input_hash: str
    solver: str
    solver_version: str
    parameters: dict[str, object]
    objective: float | None
    pairs: int


class ProblemLine(Schema):
    zh: str
    en: str


class Infeasible(Problem):
    problems: list[ProblemLine]


class ProgressOut(Schema):
    applications: int
    assignments: int
    pending: int
    accepted: int
    declined: int
    scored: int
    short: list[str]


class StageOut(Schema):
    id: int
    call: str
    order: int
    kind: str
    status: str
    panel_size: int
    max_load: int
    min_hkmo: int
    progress: ProgressOut


class ResultOut(Schema):
    application: str
    rank: int
    mean: Score
    normalised: ScoreOrNone
    passed: bool


class ClosedOut(Schema):
    passed: int
    failed: int
    awarded: MoneyOrNone
    remaining: MoneyOrNone


# --- the expert portal --------------------------------------------------------------------------


class AssignmentOut(Schema):
    """What the expert sees before affirming: enough to judge a conflict."""

    id: int
    stage_id: int
    stage_kind: str
    status: str
    reference: str
    title: str
    field: str
    organisation: str


class DeclareIn(Schema):
    no_conflict: bool
    reason: str = Field("", max_length=2000)


class DeclareOut(Schema):
    id: int
    status: str


class AttachmentOut(Schema):
    id: int
    field: str
    name: str
    size: int
    url: str


class ApplicationOut(Schema):
    """The full application, once the expert affirmed "no conflict"."""

    reference: str
    title: str
    field: str
    organisation: str
    partners: list[str]
    answers: dict[str, object]
    budget: dict[str, str]
    requested: Money
    files: list[AttachmentOut]


class ScoreIn(Schema):
    marks: dict[str, Decimal]
    comment: str = Field("", max_length=4000)


class ScoreOut(Schema):
    assignment_id: int
    marks: dict[str, str]
    total: Score
    comment: str
    submitted_at: dt.datetime
