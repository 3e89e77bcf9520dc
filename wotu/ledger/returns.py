"""Booking the bank's return file for an exported batch: each line paid or failed, the batch
settled once every line is answered (see :mod:`wotu.ledger.payments` for the entries).

Finance officers only; locks the batch; idempotent under a key whose request includes the
file's hash; audit events ``payment.paid``, ``payment.failed`` and ``batch.settle``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.ledger.bankfiles import (
    FileRowsError,
    ReturnRow,
    RowError,
    return_file_read,
)
from wotu.ledger.batches import (
    batch_lines,
    batch_locked,
    batch_move,
    batch_status_zh,
    export_legs,
    finance_only,
    sha256_hex,
)
from wotu.ledger.models import (
    Account,
    AccountKind,
    BatchStatus,
    EntryKind,
    LineStatus,
    PaymentBatch,
    PaymentLine,
    TrancheStatus,
)
from wotu.ledger.posting import entry_post, idempotent
from wotu.ledger.services import commitment_account

# --- the bank's return --------------------------------------------------------------------


def _return_checked(
    rows: Sequence[ReturnRow],
    lines: dict[str, PaymentLine],
    batch: PaymentBatch,
    errors: list[RowError],
) -> None:
    """Add the rows that do not fit ``batch`` to the file's own ``errors``; refuse the file
    (every bad row, in row order) if there are any."""
    for row in rows:
        line = lines.get(row.reference)
        if line is None:
            errors.append(RowError(
                row.row, "reference", row.reference,
                f"不是批次 {batch.reference} 中的付款", f"not a payment of batch {batch.reference}",
            ))  # fmt: skip
        elif line.status in {LineStatus.PAID, LineStatus.FAILED}:
            errors.append(RowError(
                row.row, "reference", row.reference,
                f"该笔付款已在之前的回单中标记为 {line.status}，不能再次回复",
                f"this payment was already returned as {line.status} in an earlier file;"
                " it cannot be answered again",
            ))  # fmt: skip
        elif row.amount is not None and row.amount != line.amount:
            errors.append(RowError(
                row.row, "amount", str(row.amount),
                f"与付款金额 {line.amount} {line.currency} 不符",
                f"does not match the payment's {line.amount} {line.currency}",
            ))  # fmt: skip
    if errors:
        errors.sort(key=lambda e: e.row)
        raise FileRowsError(errors, what_zh="银行回单文件", what_en="the bank's return file")


def _failed_legs(line: PaymentLine) -> list[tuple[Account, Decimal]]:
    return [(account, -amount) for account, amount in export_legs(line)]


def _paid_legs(line: PaymentLine) -> list[tuple[Account, Decimal]]:
    commitment = line.tranche.commitment
    return [
        (commitment_account(commitment=commitment, kind=AccountKind.IN_TRANSIT,
                            currency=line.currency), line.amount),
        (commitment_account(commitment=commitment, kind=AccountKind.PAID,
                            currency=line.currency), -line.amount),
    ]  # fmt: skip


def _answers_book(
    *, batch: PaymentBatch, answers: list[tuple[PaymentLine, ReturnRow]], actor: Any
) -> None:
    for status, legs_of, kind in (
        (LineStatus.PAID, _paid_legs, EntryKind.PAID),
        (LineStatus.FAILED, _failed_legs, EntryKind.FAILED),
    ):
        chosen = [(line, row) for line, row in answers if row.status == status]
        if not chosen:
            continue
        entry = entry_post(
            kind=kind,
            lines=[leg for line, _ in chosen for leg in legs_of(line)],
            actor=actor,
            memo=f"{status} batch {batch.reference}",
            subject=batch,
        )
        tranche_status = TrancheStatus.PAID if status == LineStatus.PAID else TrancheStatus.PAYABLE
        for line, row in chosen:
            line.status, line.bank_message = status, row.message
            if status == LineStatus.PAID:
                line.paid_at = entry.posted_at
            line.save(update_fields=["status", "bank_message", "paid_at"])
            line.tranche.status = tranche_status
            line.tranche.save(update_fields=["status"])
            audit_record(
                actor=actor,
                action=f"payment.{status}",
                subject=line,
                data={"reference": line.reference, "batch": batch.reference, "entry": entry.pk,
                      "amount": line.amount, "currency": line.currency,
                      "amount_cny": line.amount_cny, "message": row.message},
            )  # fmt: skip


def bank_return_import(
    *, batch: PaymentBatch, data: bytes, actor: Any, key: str, name: str = "return.csv"
) -> dict[str, Any]:
    """Book the bank's return file for an exported batch: each row marks one line paid (Dr
    in_transit, Cr paid; tranche paid; ``paid_at`` = the ``paid`` entry's time) or failed (the
    export undone; tranche payable again).

    All or nothing: an unknown reference, a reference given twice, a line already answered, a
    bad status or an amount that differs from the line's is reported as ``row N, column C,
    value V: reason`` (:class:`~wotu.ledger.bankfiles.FileRowsError`) and nothing is booked.
    Lines the file does not mention stay sent; once none is left the batch is settled. Finance
    officers only; locks the batch. Idempotent under ``key`` (the request includes the file's
    hash). Returns ``{"batch", "paid", "failed", "pending", "status"}``."""
    finance_only(actor, zh="导入银行回单", en="import bank return files")

    def run() -> dict[str, Any]:
        locked = batch_locked(batch)
        if locked.status != BatchStatus.EXPORTED:
            raise WotuError(
                f"批次 {locked.reference} 的状态为“{batch_status_zh(locked.status)}”，"
                "只有已发送银行、尚未结清的批次可以导入回单",
                f"batch {locked.reference} is {locked.status}; only a batch sent to the bank and"
                " not yet settled takes a return file",
            )
        rows, errors = return_file_read(data=data, name=name)
        lines = {x.reference: x for x in batch_lines(locked)}
        _return_checked(rows, lines, locked, errors)
        _answers_book(batch=locked, answers=[(lines[r.reference], r) for r in rows], actor=actor)
        pending = sum(1 for x in lines.values() if x.status == LineStatus.SENT)
        if pending == 0:
            paid = sum(x.amount_cny for x in lines.values() if x.status == LineStatus.PAID)
            batch_move(batch=locked, to=BatchStatus.SETTLED, actor=actor,
                        data={"paid_cny": paid})  # fmt: skip
        return {
            "batch": locked.pk,
            "paid": sum(1 for r in rows if r.status == LineStatus.PAID),
            "failed": sum(1 for r in rows if r.status == LineStatus.FAILED),
            "pending": pending,
            "status": locked.status,
        }

    request = {"batch": batch.pk, "actor": actor.pk, "file": sha256_hex(data)}
    return idempotent(key=key, scope="bank.return", request=request, run=run)
