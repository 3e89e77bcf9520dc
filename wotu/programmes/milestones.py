"""Milestones of a selected challenge bid (揭榜挂帅): planned by the bureau, submitted by the
bidder with a report, accepted or rejected by the bureau, and paid only once accepted.

A plan's amounts never exceed the bid's price (its award); it may be replaced only while no
milestone has been submitted or decided. Each change writes one audit event. The ledger reads
:func:`milestone_payable` and calls :func:`milestone_payment_check` before paying.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from wotu.core import permissions
from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.programmes.challenge_selectors import bid_get_for_user, bid_is_selected, bid_price
from wotu.programmes.errors import Refused, amount_positive, officer_require
from wotu.programmes.models import Application, ChallengeTask, Milestone, MilestoneStatus

#: The shortest report (in characters) a milestone may be submitted with.
REPORT_MIN = 10


def _selected_require(bid: Application) -> None:
    if not bid_is_selected(bid=bid):
        raise WotuError(
            f"方案 {bid.reference} 未入选，不能安排里程碑",
            f"bid {bid.reference} was not selected; it has no milestone plan",
        )


def milestone_plan_set(
    *, application: Application, actor: Any, milestones: Sequence[Mapping[str, Any]]
) -> list[Milestone]:
    """Set a selected bid's milestone plan: ``[{title, due_on (date or ISO), amount}]`` in order.

    A bureau officer only. Each milestone needs a title, a date (not earlier than the one
    before) and an amount above 0; the amounts together must not exceed the bid's price (its
    award). The plan replaces the previous one only while no milestone has been submitted or
    decided. One ``milestone.plan`` audit event.
    """
    officer_require(actor=actor, what_zh="安排里程碑", what_en="set a milestone plan")
    _selected_require(application)
    rows = [_milestone_read(i, m) for i, m in enumerate(milestones, start=1)]
    if not rows:
        raise WotuError("里程碑计划至少包含一项", "a milestone plan needs at least one milestone")
    for before, after in pairwise(rows):
        if after[1] < before[1]:
            raise WotuError(
                f"第 {rows.index(after) + 1} 个里程碑的日期早于前一个",
                f"milestone {rows.index(after) + 1} is due before the one before it",
            )
    price = bid_price(bid=application)
    total = sum((amount for _, _, amount in rows), Decimal("0.00"))
    if total > price:
        raise WotuError(
            f"里程碑付款合计 {total} 元超过方案金额 {price} 元",
            f"the milestones add up to {total} CNY, more than the bid's {price} CNY",
        )
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.milestones.exclude(status=MilestoneStatus.PLANNED).exists():
            raise WotuError(
                f"方案 {locked.reference} 已有里程碑提交验收，计划不能再修改",
                f"bid {locked.reference} already has milestones submitted or decided; "
                "its plan can no longer change",
            )
        locked.milestones.all().delete()
        created = Milestone.objects.bulk_create(
            Milestone(application=locked, order=i, title=t, due_on=d, amount=a)
            for i, (t, d, a) in enumerate(rows, start=1)
        )
        audit_record(
            actor=actor, action="milestone.plan", subject=locked,
            data={"reference": locked.reference, "milestones": len(rows), "total": total},
        )  # fmt: skip
    return created


def _milestone_read(order: int, raw: Mapping[str, Any]) -> tuple[str, dt.date, Decimal]:
    title = str(raw.get("title") or "").strip()
    if not title:
        raise WotuError(f"第 {order} 个里程碑缺少名称", f"milestone {order} needs a title")
    due = raw.get("due_on")
    try:
        due_on = due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due))
    except ValueError as exc:
        raise WotuError(
            f"第 {order} 个里程碑的日期「{due}」无效（YYYY-MM-DD）",
            f"milestone {order}'s date '{due}' is not a YYYY-MM-DD date",
        ) from exc
    amount = amount_positive(
        raw=raw.get("amount"),
        what_zh=f"第 {order} 个里程碑的金额",
        what_en=f"milestone {order}'s amount",
    )
    return title, due_on, amount


def milestone_get_for_user(*, user: Any, pk: int) -> Milestone:
    try:
        milestone = Milestone.objects.select_related("application").get(pk=pk)
    except Milestone.DoesNotExist as exc:
        raise Http404 from exc
    bid_get_for_user(user=user, pk=milestone.application_id)  # 404 outside the user's bids
    return milestone


def milestone_submit(*, milestone: Milestone, actor: Any, report: str) -> Milestone:
    """The bid's applicant submits a planned (or rejected) milestone for acceptance with a
    written report. One ``milestone.submit`` audit event."""
    if not (
        permissions.can_apply(actor)
        and milestone.application.organisation_id == actor.organisation_id
    ):
        raise Refused("只有揭榜单位可以提交里程碑", "only the bidding organisation may submit")
    report = report.strip()
    if len(report) < REPORT_MIN:
        raise WotuError(
            f"请写明完成情况（至少 {REPORT_MIN} 个字）",
            f"describe what was done (at least {REPORT_MIN} characters)",
        )
    return _milestone_move(
        milestone, actor, (MilestoneStatus.PLANNED, MilestoneStatus.REJECTED),
        MilestoneStatus.SUBMITTED, {"report": report}, "milestone.submit",
    )  # fmt: skip


def milestone_decide(
    *, milestone: Milestone, actor: Any, accept: bool, note: str = ""
) -> Milestone:
    """A bureau officer accepts or rejects a submitted milestone (a rejection needs a note; the
    applicant may resubmit). The note is stored on the milestone (``Milestone.note``, replaced
    by each decision) and shown to the applicant. Only an accepted milestone's payment is
    released (see :func:`milestone_payable`). One ``milestone.decide`` audit event with the
    note."""
    officer_require(actor=actor, what_zh="验收里程碑", what_en="decide on milestones")
    note = note.strip()
    if not accept and not note:
        raise WotuError("不予验收须写明理由", "a rejection needs a written reason")
    to = MilestoneStatus.ACCEPTED if accept else MilestoneStatus.REJECTED
    fields = {"decided_by": actor, "decided_at": timezone.now(), "note": note}
    return _milestone_move(
        milestone, actor, (MilestoneStatus.SUBMITTED,), to, fields, "milestone.decide", note
    )


def _milestone_move(
    milestone: Milestone,
    actor: Any,
    old: tuple[MilestoneStatus, ...],
    new: MilestoneStatus,
    changes: dict[str, Any],
    action: str,
    note: str = "",
) -> Milestone:
    with transaction.atomic():
        locked = (
            Milestone.objects.select_for_update().select_related("application").get(pk=milestone.pk)
        )
        if locked.status not in old:
            raise WotuError(
                f"里程碑「{locked.title}」当前为「{locked.get_status_display()}」，不能改为"
                f"「{new.label}」",
                f"milestone '{locked.title}' is {locked.status}; it cannot become {new.value}",
            )
        locked.status = new
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", *changes])
        data: dict[str, Any] = {"reference": locked.application.reference, "order": locked.order,
                                "to": str(new), "amount": locked.amount}  # fmt: skip
        if note:
            data["note"] = note
        audit_record(actor=actor, action=action, subject=locked, data=data)
    milestone.refresh_from_db()
    return milestone


@dataclass(frozen=True)
class Payable:
    """An accepted milestone whose payment may be released (for the ledger)."""

    milestone_id: int
    reference: str
    order: int
    title: str
    amount: Decimal
    accepted_at: dt.datetime | None


def milestone_payable(
    *, application: Application | None = None, task: ChallengeTask | None = None
) -> list[Payable]:
    """Accepted milestones — the only ones whose payment may be released — of one bid, one
    task, or every task, by bid reference and order. Amounts in CNY."""
    milestones = Milestone.objects.filter(status=MilestoneStatus.ACCEPTED)
    if application is not None:
        milestones = milestones.filter(application=application)
    if task is not None:
        milestones = milestones.filter(application__call_id=task.call_id)
    return [
        Payable(m.pk, m.application.reference, m.order, m.title, m.amount, m.decided_at)
        for m in milestones.select_related("application").order_by(
            "application__reference", "order"
        )
    ]


def milestone_payment_check(*, milestone: Milestone) -> Decimal:
    """The amount to pay for ``milestone``; WotuError unless it has been accepted (the ledger
    calls this before releasing a payment)."""
    milestone.refresh_from_db()
    if milestone.status != MilestoneStatus.ACCEPTED:
        raise WotuError(
            f"里程碑「{milestone.title}」尚未验收通过（{milestone.get_status_display()}），不能付款",
            f"milestone '{milestone.title}' is not accepted ({milestone.status}); it cannot be"
            " paid",
        )
    amount: Decimal = milestone.amount
    return amount
