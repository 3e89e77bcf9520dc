"""What every step of paying a batch shares: who may act, the batch's one status transition
(:func:`batch_move`), its total and approvals needed, its row lock, and the journal legs of its
lines (see :mod:`wotu.ledger.payments` for the lifecycle and the accounts)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.money import FEN
from wotu.ledger import permissions
from wotu.ledger.models import (
    Account,
    AccountKind,
    BatchStatus,
    Currency,
    PaymentBatch,
    PaymentLine,
)
from wotu.ledger.posting import account_for
from wotu.ledger.services import commitment_account

ZERO = Decimal("0.00")
DEFAULT_TWO_APPROVER_THRESHOLD = Decimal("1000000")


class PaymentNotAllowed(PermissionDenied):
    """The caller's role may not do this (403 in the API), with the reason in zh and en."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


STATUS_ZH = {
    BatchStatus.DRAFT: "准备中", BatchStatus.SUBMITTED: "待审批",
    BatchStatus.APPROVED: "已批准", BatchStatus.EXPORTED: "已发送银行",
    BatchStatus.SETTLED: "已结清", BatchStatus.CANCELLED: "已取消",
}  # fmt: skip


def batch_status_zh(status: str) -> str:
    """The batch status as shown in Chinese messages."""
    return STATUS_ZH.get(BatchStatus(status), status)


def finance_only(actor: Any, *, zh: str, en: str) -> None:
    """Refuse (:class:`PaymentNotAllowed`) anyone but a finance officer to do ``zh``/``en``."""
    if not permissions.can_prepare_payments(actor):
        raise PaymentNotAllowed(f"只有财务人员可以{zh}", f"only finance officers may {en}")


def two_approver_threshold() -> Decimal:
    """CNY total above which a batch needs two approvers (``WOTU_TWO_APPROVER_THRESHOLD``)."""
    value = getattr(settings, "WOTU_TWO_APPROVER_THRESHOLD", DEFAULT_TWO_APPROVER_THRESHOLD)
    return Decimal(str(value))


def batch_total(*, batch: PaymentBatch) -> Decimal:
    """The batch's total in CNY (the amount committed, whatever currency is paid)."""
    total = batch.lines.aggregate(total=Sum("amount_cny"))["total"]
    return Decimal(total or ZERO).quantize(FEN)


def approvals_needed(*, batch: PaymentBatch) -> int:
    """1, or 2 when the batch's CNY total is above the two-approver threshold."""
    return 2 if batch_total(batch=batch) > two_approver_threshold() else 1


def batch_locked(batch: PaymentBatch) -> PaymentBatch:
    """``batch`` re-read under its row lock (``SELECT … FOR UPDATE``); inside a transaction."""
    return PaymentBatch.objects.select_for_update().get(pk=batch.pk)


def batch_move(*, batch: PaymentBatch, to: str, actor: Any, data: dict[str, Any]) -> None:
    """The one place a batch changes status; refuses illegal moves and writes one audit event
    (``batch.<verb>``: submit, export, settle, cancel; approvals write their own). The caller
    holds the batch's row lock (:func:`batch_locked`)."""
    verbs = {
        (BatchStatus.DRAFT, BatchStatus.SUBMITTED): "submit",
        (BatchStatus.SUBMITTED, BatchStatus.APPROVED): "approved",
        (BatchStatus.APPROVED, BatchStatus.EXPORTED): "export",
        (BatchStatus.EXPORTED, BatchStatus.SETTLED): "settle",
        (BatchStatus.DRAFT, BatchStatus.CANCELLED): "cancel",
        (BatchStatus.SUBMITTED, BatchStatus.CANCELLED): "cancel",
        (BatchStatus.APPROVED, BatchStatus.CANCELLED): "cancel",
    }
    verb = verbs.get((BatchStatus(batch.status), BatchStatus(to)))
    if verb is None:
        raise WotuError(
            f"批次 {batch.reference} 的状态为“{batch_status_zh(batch.status)}”，"
            f"不能改为“{batch_status_zh(to)}”",
            f"batch {batch.reference} is {batch.status}; it cannot become {to}",
        )
    batch.status = to
    fields = ["status"]
    if to == BatchStatus.EXPORTED:
        batch.exported_at = timezone.now()
        fields.append("exported_at")
    batch.save(update_fields=fields)
    if verb != "approved":  # approvals write their own batch.approve event
        audit_record(actor=actor, action=f"batch.{verb}", subject=batch, data=data)


def _fx(currency: str) -> Account:
    return account_for(kind=AccountKind.FX, currency=currency)


def export_legs(line: PaymentLine) -> list[tuple[Account, Decimal]]:
    """The journal legs that send ``line`` to the bank (Dr payable CNY, Cr in_transit, with FX
    legs for HKD/MOP); a failed line books them reversed."""
    commitment = line.tranche.commitment
    payable = commitment_account(commitment=commitment, kind=AccountKind.PAYABLE)
    transit = commitment_account(
        commitment=commitment, kind=AccountKind.IN_TRANSIT, currency=line.currency
    )
    if line.currency == Currency.CNY:
        return [(payable, line.amount_cny), (transit, -line.amount_cny)]
    return [
        (payable, line.amount_cny),
        (_fx(Currency.CNY), -line.amount_cny),
        (_fx(line.currency), line.amount),
        (transit, -line.amount),
    ]


def batch_lines(batch: PaymentBatch) -> list[PaymentLine]:
    """The batch's lines in creation order, with what files and entries read preloaded."""
    return list(
        batch.lines.select_related(
            "payee", "tranche__commitment__programme", "tranche__commitment__source",
            "tranche__commitment__payee",
        ).order_by("pk")
    )  # fmt: skip


def sha256_hex(content: bytes) -> str:
    """The SHA-256 of ``content`` in hex (audit data and idempotency requests)."""
    return hashlib.sha256(content).hexdigest()
