"""The public notice's REST endpoints.

Public (no token needed): the published notices and their lists, filing an objection (answers
with a receipt number only), and a decided call's funded list. Bureau officers: publish a
call's notice, read and resolve objections, record the committee decision. Role refusals are
403, objects outside the caller's view 404, refusals a person can act on 400 (see
:mod:`wotu.api`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from wotu.core.api_support import REFUSALS, ProblemOut, caller
from wotu.programmes.selectors import call_get_for_user
from wotu.reviews import decision as decisions
from wotu.reviews import notice as svc
from wotu.reviews.models import Notice, Objection

router = Router(tags=["public notices"])


class EntryOut(Schema):
    reference: str
    organisation: str
    title: str
    field: str
    amount: Decimal


class NoticeOut(Schema):
    id: int
    call: str
    title: str
    title_en: str
    published_at: dt.datetime
    closes_at: dt.datetime
    working_days: int
    open: bool
    decided: bool
    total: Decimal
    entries: list[EntryOut]


class ObjectionIn(Schema):
    name: str
    contact: str
    text: str
    reference: str = ""


class ReceiptOut(Schema):
    receipt: str
    filed_at: dt.datetime


class ObjectionOut(Schema):
    id: int
    receipt: str
    reference: str | None
    name: str
    contact: str
    text: str
    filed_at: dt.datetime
    officer: str | None
    outcome: str
    resolution: str
    resolved_at: dt.datetime | None


class ResolveIn(Schema):
    outcome: str
    resolution: str


class PublishIn(Schema):
    working_days: int = 5


class DecisionIn(Schema):
    minutes: str
    #: Optional award amounts by reference, each no larger than the proposed amount.
    amounts: dict[str, Decimal] = {}


class FundedOut(Schema):
    reference: str
    organisation: str
    title: str
    field: str
    amount: Decimal


class DecisionOut(Schema):
    call: str
    decided_at: dt.datetime
    minutes: str
    total: Decimal
    funded: list[FundedOut]


def _notice_out(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.pk,
        "call": notice.call.code,
        "title": notice.call.title,
        "title_en": notice.call.title_en,
        "published_at": notice.published_at,
        "closes_at": notice.closes_at,
        "working_days": notice.working_days,
        "open": svc.notice_is_open(notice=notice),
        "decided": notice.call.status == "decided",
        "total": svc.notice_total(notice=notice),
        "entries": notice.entries,
    }


def _objection_out(objection: Objection) -> dict[str, Any]:
    return {
        "id": objection.pk,
        "receipt": svc.objection_receipt(objection=objection),
        "reference": objection.application.reference if objection.application else None,
        "name": objection.name,
        "contact": objection.contact,
        "text": objection.text,
        "filed_at": objection.filed_at,
        "officer": objection.officer.username if objection.officer else None,
        "outcome": objection.outcome,
        "resolution": objection.resolution,
        "resolved_at": objection.resolved_at,
    }


# --- public ----------------------------------------------------------------------------------


@router.get("/notices", response={200: list[NoticeOut]}, auth=None)
def notice_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Published notices, newest first (public)."""
    return [_notice_out(n) for n in svc.notice_list_public()]


@router.get("/notices/{notice_id}", response={200: NoticeOut, 404: ProblemOut}, auth=None)
def notice_get(request: HttpRequest, notice_id: int) -> dict[str, Any]:
    return _notice_out(svc.notice_get_public(pk=notice_id))


@router.post("/notices/{notice_id}/objections", response={201: ReceiptOut, **REFUSALS}, auth=None)
def objection_file(
    request: HttpRequest, notice_id: int, body: ObjectionIn
) -> Status[dict[str, Any]]:
    """File an objection under a real name with a phone or e-mail (public). The answer is the
    receipt number only."""
    notice = svc.notice_get_public(pk=notice_id)
    application = svc.notice_application_get(notice=notice, reference=body.reference)
    objection = svc.objection_file(
        notice=notice,
        name=body.name,
        contact=body.contact,
        text=body.text,
        application=application,
    )
    return Status(
        201, {"receipt": svc.objection_receipt(objection=objection), "filed_at": objection.filed_at}
    )


@router.get(
    "/notices/{notice_id}/decision", response={200: DecisionOut, 404: ProblemOut}, auth=None
)
def decision_get(request: HttpRequest, notice_id: int) -> dict[str, Any]:
    """The funded list with award amounts, public once the committee has decided."""
    notice = svc.notice_get_public(pk=notice_id)
    decision = decisions.decision_get_public(notice=notice)
    rows = decisions.funded_list(call=notice.call)
    return {
        "call": notice.call.code,
        "decided_at": decision.decided_at,
        "minutes": decision.minutes,
        "total": sum((r.amount for r in rows), Decimal("0.00")),
        "funded": [r.__dict__ for r in rows],
    }


# --- bureau officers -------------------------------------------------------------------------


@router.post("/calls/{call_id}/notice", response={201: NoticeOut, **REFUSALS})
def notice_publish(request: HttpRequest, call_id: int, body: PublishIn) -> Status[dict[str, Any]]:
    user = caller(request)
    svc.calls_ready_for_notice(user=user)  # the role check first: 403 before 404
    call = call_get_for_user(user=user, pk=call_id)
    if not 1 <= body.working_days <= 30:
        raise HttpError(422, "working_days must be 1–30 / 公示期须为 1–30 个工作日")
    notice = svc.notice_publish(call=call, actor=user, working_days=body.working_days)
    return Status(201, _notice_out(notice))


@router.get("/notices/{notice_id}/objections", response={200: list[ObjectionOut], **REFUSALS})
def objection_list(request: HttpRequest, notice_id: int) -> list[dict[str, Any]]:
    user = caller(request)
    notice = svc.notice_get_for_user(user=user, pk=notice_id)
    return [_objection_out(o) for o in svc.objection_list_for_user(user=user, notice=notice)]


@router.post("/objections/{objection_id}/resolve", response={200: ObjectionOut, **REFUSALS})
def objection_resolve(request: HttpRequest, objection_id: int, body: ResolveIn) -> dict[str, Any]:
    user = caller(request)
    objection = svc.objection_get_for_user(user=user, pk=objection_id)
    resolved = svc.objection_resolve(
        objection=objection, actor=user, outcome=body.outcome, resolution=body.resolution
    )
    return _objection_out(resolved)


@router.post("/notices/{notice_id}/decision", response={201: DecisionOut, **REFUSALS})
def decision_record(
    request: HttpRequest, notice_id: int, body: DecisionIn
) -> Status[dict[str, Any]]:
    user = caller(request)
    notice = svc.notice_get_for_user(user=user, pk=notice_id)
    decisions.decision_record(
        call=notice.call, actor=user, minutes=body.minutes, amounts=body.amounts
    )
    return Status(201, decision_get(request, notice_id))
