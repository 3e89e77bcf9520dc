"""Shapes of the programmes REST API. Money is written as a string with exactly two decimals
("200000.00"), never a JSON float; money sent in may be a string or a number (read exactly)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema

from wotu.organisations.schemas import Money, MoneyOrNone, Problem


class CallOut(Schema):
    id: int
    code: str
    title: str
    title_en: str
    programme: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    status: str
    accepting: bool
    budget: Money
    max_award: MoneyOrNone


class AttachmentOut(Schema):
    field: str
    name: str
    kind: str
    size: int
    sha256: str


class ApplicationOut(Schema):
    """What the caller may read of an application: never who reviews it."""

    id: int
    reference: str
    call_id: int
    call: str
    organisation_id: int
    organisation: str
    partners: list[int]
    title: str
    field: str
    status: str
    stage: str | None
    feedback: str
    answers: dict[str, Any]
    budget: dict[str, str]
    requested: Money
    submitted_at: dt.datetime | None
    files: list[AttachmentOut]


class DraftIn(Schema):
    """A draft's parts; a part left out stays as it is. ``answers`` replace the same keys.
    Files are uploaded through ``POST /applications/{id}/files/{field}``."""

    title: str | None = None
    field: str | None = None
    answers: dict[str, Any] | None = None
    partners: list[int] | None = None
    budget: dict[str, str | Decimal | int] | None = None
    requested: str | Decimal | int | None = None


class WithdrawIn(Schema):
    reason: str = ""


class FormalCheckIn(Schema):
    outcome: Literal["pass", "return", "reject"]
    note: str = ""


class FieldProblem(Schema):
    field: str
    code: str
    message_zh: str
    message_en: str


class Invalid(Problem):
    """422: every problem at once, each with its field (form field name, ``budget.<code>``,
    ``budget.total``, ``title``, ``field``, ``partners``, ``organisation``,
    ``eligibility.<rule>``, ``note``)."""

    errors: list[FieldProblem]
