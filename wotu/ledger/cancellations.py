"""Taking money work back before it is paid: cancelling a payment batch that has not gone to the
bank, and cancelling a commitment none of whose tranches has gone into payment.

Money (one reversing entry per entry undone, see :func:`wotu.ledger.posting.entry_reverse`)::

    batch cancel        nothing is posted: money moves only at export; tranches payable again
    commitment cancel   each payable tranche's "due" entry reversed (Dr payable, Cr commitment),
                        then the "commit" entry (Dr commitment, Cr budget): the budget is freed

Rules: finance officers only; a batch can be cancelled while draft, submitted or approved; a
commitment while every tranche is planned or payable (none in a batch, sent or paid), and only
with a reason. Locks: the batch row, then its tranches (primary-key order); the commitment row,
then its tranches (primary-key order) — the same tranche locks batch preparation takes, so a
tranche is never both batched and cancelled. Idempotent under ``key``. Audit events:
``batch.cancel``, ``commitment.cancel``, plus ``ledger.entry`` for each reversal.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.ledger.models import (
    BatchStatus,
    Commitment,
    EntryKind,
    JournalEntry,
    PaymentBatch,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.payments import batch_locked, batch_move, batch_total, finance_only
from wotu.ledger.posting import entry_reverse, idempotent

BATCH_CANCELLABLE = frozenset({BatchStatus.DRAFT, BatchStatus.SUBMITTED, BatchStatus.APPROVED})
COMMITMENT_CANCELLABLE = frozenset({TrancheStatus.PLANNED, TrancheStatus.PAYABLE})
REASON_MAX = 200


def _tranches_locked(tranches: QuerySet[Tranche]) -> list[Tranche]:
    return list(tranches.select_for_update(of=("self",)).order_by("pk"))


def batch_cancel(*, batch: PaymentBatch, actor: Any, key: str) -> PaymentBatch:
    """Cancel a draft, submitted or approved batch: its tranches become payable again (they can
    go into another batch) and it writes ``batch.cancel`` (tranches, total). Nothing is posted
    (money leaves payable only at export). Refused, naming the status, once the batch went to
    the bank. Finance officers only (any of them: cancelling moves no money). Locks the batch,
    then its tranches. Idempotent under ``key``: a replay returns the cancelled batch."""
    finance_only(actor, zh="取消付款批次", en="cancel payment batches")

    def run() -> dict[str, Any]:
        locked = batch_locked(batch)
        if locked.status not in BATCH_CANCELLABLE:
            raise WotuError(
                f"批次 {locked.reference} 已发送银行或已取消"
                f"（状态：{locked.get_status_display()}），不能取消；只有准备中、待审批或已批准的批次可以取消",
                f"batch {locked.reference} is {locked.status}; only a draft, submitted or"
                " approved batch (not yet sent to the bank) can be cancelled",
            )
        tranches = _tranches_locked(
            Tranche.objects.filter(pk__in=locked.lines.values("tranche_id"))
        )
        total = batch_total(batch=locked)
        for tranche in tranches:
            tranche.status = TrancheStatus.PAYABLE
            tranche.save(update_fields=["status"])
        batch_move(batch=locked, to=BatchStatus.CANCELLED, actor=actor,
                   data={"tranches": [t.pk for t in tranches], "total": total})  # fmt: skip
        return {"batch": locked.pk}

    request = {"batch": batch.pk, "actor": actor.pk}
    result = idempotent(key=key, scope="batch.cancel", request=request, run=run)
    return PaymentBatch.objects.get(pk=result["batch"])


def _reason_checked(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise WotuError(
            "取消承诺须填写原因（如：奖励撤回、项目终止）",
            "a reason is required to cancel a commitment (e.g. award withdrawn, project ended)",
        )
    if len(text) > REASON_MAX:
        raise WotuError(
            f"取消原因不能超过 {REASON_MAX} 个字符（现为 {len(text)} 个）",
            f"the reason may be at most {REASON_MAX} characters (it has {len(text)})",
        )
    return text


def _due_entry(tranche: Tranche) -> JournalEntry:
    """The standing "due" entry that made ``tranche`` payable."""
    entry: JournalEntry | None = (
        JournalEntry.objects.filter(
            kind=EntryKind.DUE, subject_type="ledger.tranche", subject_id=str(tranche.pk)
        )
        .exclude(reversed_by__isnull=False)
        .order_by("pk")
        .first()
    )
    if entry is None:
        raise WotuError(
            f"分期 #{tranche.pk} 为“应付”，但账簿中找不到使其应付的分录；请运行 wotu audit verify",
            f"tranche #{tranche.pk} is payable but the ledger has no entry that made it so;"
            " run wotu audit verify",
        )
    return entry


def _commitment_cancellable(commitment: Commitment, tranches: list[Tranche]) -> None:
    if JournalEntry.objects.filter(reverses_id=commitment.entry_id).exists():
        raise WotuError(
            f"承诺 #{commitment.pk} 已取消或已冲销，不能再次取消",
            f"commitment #{commitment.pk} was already cancelled or reversed",
        )
    moving = [t for t in tranches if t.status not in COMMITMENT_CANCELLABLE]
    if moving:
        listed = ", ".join(f"#{t.pk} ({t.status})" for t in moving)
        raise WotuError(
            f"承诺 #{commitment.pk} 已有分期进入付款流程（{listed}），不能取消；"
            "请先取消相关付款批次",
            f"commitment #{commitment.pk} has tranches in payment ({listed}); it cannot be"
            " cancelled (cancel their payment batch first)",
        )


def commitment_cancel(*, commitment: Commitment, actor: Any, key: str, reason: str) -> Commitment:
    """Cancel ``commitment`` while every tranche is planned or payable: reverses each payable
    tranche's "due" entry and then the "commit" entry, so its CNY go back to the budget left to
    commit; marks every tranche ``cancelled`` (never released or paid again); writes
    ``commitment.cancel`` (reason, amount, tranches, reversal entries). Refused when already
    cancelled or reversed, when a tranche is in a batch, sent or paid, or without a reason
    (at most :data:`REASON_MAX` characters). Finance officers only. Locks the commitment row,
    then its tranches (pk order). Idempotent under ``key``."""
    finance_only(actor, zh="取消承诺", en="cancel commitments")
    text = _reason_checked(reason)

    def run() -> dict[str, Any]:
        locked = Commitment.objects.select_for_update().get(pk=commitment.pk)
        tranches = _tranches_locked(Tranche.objects.filter(commitment=locked))
        _commitment_cancellable(locked, tranches)
        memo = f"cancel commitment #{locked.pk}: {text}"
        reversals = [
            entry_reverse(entry=_due_entry(t), actor=actor, memo=memo)
            for t in tranches
            if t.status == TrancheStatus.PAYABLE
        ]
        reversals.append(entry_reverse(entry=locked.entry, actor=actor, memo=memo))
        for tranche in tranches:
            tranche.status = TrancheStatus.CANCELLED
            tranche.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="commitment.cancel",
            subject=locked,
            data={"reason": text, "amount": locked.amount, "tranches": [t.pk for t in tranches],
                  "entries": [e.pk for e in reversals]},
        )  # fmt: skip
        return {"commitment": locked.pk}

    request = {"commitment": commitment.pk, "actor": actor.pk, "reason": text}
    result = idempotent(key=key, scope="commitment.cancel", request=request, run=run)
    return Commitment.objects.get(pk=result["commitment"])
