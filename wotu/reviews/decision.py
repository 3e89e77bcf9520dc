"""Step 5 of a call: the committee decision, after the public notice (公示) window.

The decision is recorded by a bureau officer only after the notice's window has closed and
every objection is resolved (see :mod:`wotu.reviews.notice`). It turns each application still
on notice into FUNDED with an :class:`~wotu.programmes.models.Award` of its proposed (or
lowered) amount — or, when an upheld objection names it, NOT_FUNDED — and the call into
DECIDED. The funded list is public once the decision is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.core.money import round_fen
from wotu.programmes.models import (
    Application,
    Award,
    Call,
    CallStatus,
    StageKind,
    StageStatus,
    Status,
)
from wotu.programmes.workflow import application_transition
from wotu.reviews.models import Decision, Notice, Objection, ObjectionOutcome
from wotu.reviews.notice import _local, _officer_require, objection_receipt


@dataclass(frozen=True)
class FundedRow:
    reference: str
    organisation: str
    title: str
    field: str
    amount: Decimal


def _amounts_read(
    amounts: Mapping[str, Any] | None, on_notice: dict[str, Application]
) -> dict[str, Decimal]:
    """Overrides by reference: each a positive amount no larger than the proposed one."""
    read: dict[str, Decimal] = {}
    for reference, raw in (amounts or {}).items():
        application = on_notice.get(reference)
        if application is None:
            raise WotuError(
                f"金额调整中的项目 {reference} 不在公示名单上（或已撤回）",
                f"the amount given for {reference} names no application on notice (or it was "
                "withdrawn)",
            )
        try:
            amount = round_fen(Decimal(str(raw)))
        except (InvalidOperation, ValueError) as exc:
            raise WotuError(
                f"项目 {reference} 的金额「{raw}」不是数字",
                f"the amount '{raw}' for {reference} is not a number",
            ) from exc
        proposed = application.proposed or application.requested
        if not Decimal(0) < amount <= proposed:
            raise WotuError(
                f"项目 {reference} 的资助金额 {amount} 元须大于 0 且不超过公示金额 {proposed} 元",
                f"the amount {amount} for {reference} must be above 0 and at most the "
                f"proposed {proposed} CNY",
            )
        read[reference] = amount
    return read


def decision_record(
    *,
    call: Call,
    actor: Any,
    minutes: str,
    amounts: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Decision:
    """Record the committee decision on a call whose notice window has closed.

    A bureau officer only. Refused before the notice's ``closes_at``, while any objection is
    open (naming their receipt numbers), without a minutes reference, for an override (by
    reference) that is not in ``(0, proposed]``, or when the funded total exceeds the
    programme budget. Each application still on notice becomes FUNDED with an Award of its
    proposed (or overridden) amount — unless an upheld objection names it, then NOT_FUNDED.
    Locks the call; the call becomes DECIDED and its notice and committee stages closed
    (``closed_at`` = ``now``); one audit event per application (through
    :func:`~wotu.programmes.workflow.application_transition`) and one ``decision.record``.
    """
    _officer_require(actor, "记录评审委员会决定", "record the committee decision")
    now = now or timezone.now()
    minutes = minutes.strip()
    if not minutes:
        raise WotuError(
            "请填写会议纪要编号或摘要", "give the minutes reference of the committee meeting"
        )
    with transaction.atomic():
        locked = Call.objects.select_for_update().select_related("programme").get(pk=call.pk)
        notice = _decidable_check(locked, now)
        on_notice = {
            a.reference: a
            for a in Application.objects.filter(call=locked, status=Status.NOTICE)
            .select_related("organisation")
            .order_by("reference")
        }
        overrides = _amounts_read(amounts, on_notice)
        refused = set(
            Objection.objects.filter(notice=notice, outcome=ObjectionOutcome.UPHELD)
            .exclude(application=None)
            .values_list("application__reference", flat=True)
        )
        funded = {
            ref: overrides.get(ref, a.proposed or a.requested)
            for ref, a in on_notice.items()
            if ref not in refused
        }
        _budget_check(locked, funded)
        for reference, application in on_notice.items():
            _decide_one(application, funded.get(reference), actor, now)
        decision = Decision.objects.create(
            call=locked,
            decided_at=now,
            minutes=minutes,
            recorded_by=actor if isinstance(actor, User) else None,
        )
        locked.status = CallStatus.DECIDED
        locked.save(update_fields=["status"])
        locked.stages.filter(kind__in=(StageKind.NOTICE, StageKind.COMMITTEE)).exclude(
            status=StageStatus.CLOSED
        ).update(status=StageStatus.CLOSED, closed_at=now)
        audit_record(
            actor=actor,
            action="decision.record",
            subject=decision,
            data={
                "call": locked.code,
                "minutes": minutes,
                "funded": len(funded),
                "not_funded": len(on_notice) - len(funded),
                "total": sum(funded.values(), Decimal("0.00")),
            },
        )
    call.refresh_from_db()
    return decision


def _decidable_check(call: Call, now: datetime) -> Notice:
    notice = Notice.objects.filter(call=call).first()
    if notice is None or call.status != CallStatus.NOTICE:
        raise WotuError(
            f"申报批次 {call.code} 尚未公示（或已作出决定），不能记录决定",
            f"call {call.code} is not on public notice (or is already decided); no decision "
            "can be recorded",
        )
    if now <= notice.closes_at:
        raise WotuError(
            f"公示期至 {_local(notice.closes_at)}（北京时间）结束，结束后才能记录决定",
            f"the notice window runs until {_local(notice.closes_at)} (Beijing time); the "
            "decision can be recorded only after it closes",
        )
    still_open = [
        objection_receipt(objection=o)
        for o in Objection.objects.filter(notice=notice, outcome=ObjectionOutcome.OPEN)
    ]
    if still_open:
        raise WotuError(
            f"尚有 {len(still_open)} 条异议未处理（{', '.join(still_open)}），"
            "处理完毕后才能记录决定",
            f"{len(still_open)} objection(s) are still open ({', '.join(still_open)}); resolve "
            "them before recording the decision",
        )
    return notice


def _budget_check(call: Call, funded: dict[str, Decimal]) -> None:
    total = sum(funded.values(), Decimal("0.00"))
    budget = call.programme.budget
    already = Award.objects.filter(application__call__programme=call.programme).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0.00")
    if total + already > budget:
        raise WotuError(
            f"资助总额 {total} 元（另有本计划已资助 {already} 元）超过计划预算 {budget} 元，"
            "请调减金额",
            f"the funded total {total} CNY (plus {already} CNY already awarded in this "
            f"programme) exceeds the programme budget {budget} CNY; reduce the amounts",
        )


def _decide_one(
    application: Application, amount: Decimal | None, actor: Any, now: datetime
) -> None:
    if amount is None:
        application_transition(
            application=application,
            to=Status.NOT_FUNDED,
            actor=actor,
            feedback="公示期异议经核实成立，不予资助 / an objection during the public notice was "
            "upheld; the project is not funded",
            data={"reason": "objection_upheld"},
        )
        return
    application_transition(
        application=application, to=Status.FUNDED, actor=actor, data={"amount": amount}
    )
    Award.objects.create(application=application, amount=amount, decided_at=now)


def decision_get_public(*, notice: Notice) -> Decision:
    """The decision on a notice's call, public once recorded; Http404 before."""
    try:
        return Decision.objects.select_related("call", "call__programme").get(call=notice.call)
    except Decision.DoesNotExist as exc:
        raise Http404 from exc


def funded_list(*, call: Call) -> list[FundedRow]:
    """The funded applications of a decided call with their award amounts, by reference."""
    awards = (
        Award.objects.filter(application__call=call, application__status=Status.FUNDED)
        .select_related("application", "application__organisation")
        .order_by("application__reference")
    )
    return [
        FundedRow(
            reference=a.application.reference,
            organisation=a.application.organisation.name,
            title=a.application.title,
            field=a.application.field,
            amount=a.amount,
        )
        for a in awards
    ]
