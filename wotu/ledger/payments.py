"""Paying tranches through the bank: payment batches, their approval, the bank payment file,
the bank's return file, and bank charges booked to a project.

Lifecycle of a batch (one transition function, :func:`batch_move`, one audit event each)::

    draft ──submit──▶ submitted ──approve (enough approvers)──▶ approved ──export──▶ exported
                                                                  every line answered ──▶ settled
    draft, submitted or approved ──cancel──▶ cancelled (its tranches payable again;
                                             :func:`wotu.ledger.cancellations.batch_cancel`)

Rules: only finance officers prepare, submit, approve, export and import returns; the preparer
never approves their own batch; a batch whose total is above ``WOTU_TWO_APPROVER_THRESHOLD``
(CNY, default 1,000,000) needs two distinct approvers besides the preparer; a batch is exported
only once approved. A line paid in HKD/MOP records the rate, its date and its source (the
latest rate on or before the preparation date, :func:`wotu.ledger.fx.fx_rate_on`).

Money (accounts from :func:`wotu.ledger.services.commitment_account`, FX legs through
``fx/<CUR>``), one journal entry per step and batch, balanced per currency::

    export (CNY)   Dr payable CNY        Cr in_transit CNY
    export (HKD)   Dr payable CNY        Cr fx/CNY           Dr fx/HKD    Cr in_transit HKD
    paid           Dr in_transit <CUR>   Cr paid <CUR>
    failed (CNY)   Dr in_transit CNY     Cr payable CNY
    failed (HKD)   Dr in_transit HKD     Cr fx/HKD           Dr fx/CNY    Cr payable CNY
    charge         Dr budget CNY         Cr charges CNY      (the project's budget pays the fee)

A failed line's conversion is undone at the rate it was made, so its tranche is payable again
for its full CNY amount and can go into a later batch (at that batch's rate).

Locks: each service locks the batch row (and the tranches, in primary-key order) before it
reads their status. Idempotency: every service here takes a key
(:func:`wotu.ledger.posting.idempotent`); a replay returns the first result, the same key with
another request raises :class:`~wotu.ledger.posting.IdempotencyConflict`.
Audit events: ``batch.prepare``, ``batch.submit``, ``batch.approve`` (each approval),
``batch.export``, ``batch.settle``, ``payment.paid`` and ``payment.failed`` (each line),
``charge.book``, plus ``ledger.entry`` for every entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.money import FEN
from wotu.ledger import permissions
from wotu.ledger.bankfiles import (
    FileRowsError,
    PaymentRow,
    ReturnRow,
    RowError,
    payment_file_write,
    return_file_read,
)
from wotu.ledger.fx import fx_convert, fx_rate_on
from wotu.ledger.models import (
    Account,
    AccountKind,
    BatchApproval,
    BatchStatus,
    Commitment,
    Currency,
    EntryKind,
    JournalEntry,
    LineStatus,
    PayeeAccount,
    PaymentBatch,
    PaymentLine,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.posting import account_for, entry_post, idempotent
from wotu.ledger.services import budget_account, budget_left, commitment_account

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


def _zh(status: str) -> str:
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
            f"批次 {batch.reference} 的状态为“{_zh(batch.status)}”，不能改为“{_zh(to)}”",
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


# --- preparing ----------------------------------------------------------------------------


def payee_account_choose(*, payee: Any) -> PayeeAccount:
    """Where ``payee`` is paid: its preferred account (the lowest id if several), else its RMB
    account; refused, naming the payee, when it has no bank account at all."""
    accounts = PayeeAccount.objects.filter(organisation=payee)
    chosen = (
        accounts.filter(preferred=True).order_by("pk").first()
        or accounts.filter(currency=Currency.CNY).order_by("pk").first()
    )
    if chosen is None:
        raise WotuError(
            f"收款单位“{payee}”没有登记银行账户，无法付款；请先登记收款账户（港澳单位须提供人民币账户）",
            f"the payee “{payee}” has no bank account on record; register one first"
            " (Hong Kong and Macao units provide an RMB account)",
        )
    return chosen


def _purpose(tranche: Tranche) -> str:
    commitment = tranche.commitment
    text = (
        f"{commitment.programme.title} {commitment.year} 第{tranche.order}期"
        f" / {commitment.programme.code} tranche {tranche.order}"
    )
    return text[:140]


def _line_make(*, batch: PaymentBatch, tranche: Tranche, number: int, today: dt.date) -> None:
    payee = tranche.commitment.payee
    account = payee_account_choose(payee=payee)
    line = PaymentLine(
        batch=batch,
        tranche=tranche,
        reference=f"{batch.reference}-{number:03d}",
        payee=payee,
        bank_account=account.account_number,
        bank_name=account.bank_name,
        amount_cny=tranche.amount,
        currency=account.currency,
        amount=tranche.amount,
        purpose=_purpose(tranche),
    )
    if account.currency != Currency.CNY:
        rate = fx_rate_on(currency=account.currency, on=today)
        line.amount = fx_convert(amount_cny=tranche.amount, rate=rate.rate)
        line.fx_rate, line.fx_date, line.fx_source = rate.rate, rate.date, rate.source
    line.save()


def _tranches_locked(ids: Sequence[int]) -> list[Tranche]:
    tranches = list(
        Tranche.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("commitment__programme", "commitment__source", "commitment__payee")
        .order_by("pk")
    )
    found = {t.pk for t in tranches}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise WotuError(
            f"分期 {', '.join(missing)} 不存在", f"tranche(s) {', '.join(missing)} do not exist"
        )
    not_payable = [t for t in tranches if t.status != TrancheStatus.PAYABLE]
    if not_payable:
        listed = ", ".join(f"#{t.pk} ({t.status})" for t in not_payable)
        raise WotuError(
            f"只有“应付”状态的分期才能放入付款批次：{listed}",
            f"only payable tranches can go into a payment batch: {listed}",
        )
    return tranches


def batch_prepare(
    *, tranches: Sequence[Tranche | int], actor: Any, key: str, today: dt.date | None = None
) -> PaymentBatch:
    """A draft batch paying ``tranches`` (payable ones only; each once), one line per tranche
    into the payee's chosen account (:func:`payee_account_choose`). HKD/MOP lines are converted
    at the latest rate on or before ``today`` (default: today), recorded on the line; refused
    with no rate. Finance officers only. Locks the tranches (pk order) and marks them
    ``in_batch``. Idempotent under ``key``; the request is the sorted tranche ids."""
    finance_only(actor, zh="准备付款批次", en="prepare payment batches")
    ids = sorted({t if isinstance(t, int) else t.pk for t in tranches})
    if not ids:
        raise WotuError("付款批次至少需要一个分期", "a payment batch needs at least one tranche")
    on = today or timezone.localdate()

    def run() -> dict[str, Any]:
        locked = _tranches_locked(ids)
        batch = PaymentBatch.objects.create(reference=uuid.uuid4().hex[:30], prepared_by=actor)
        batch.reference = f"PB{on:%Y%m%d}-{batch.pk:05d}"
        batch.save(update_fields=["reference"])
        for number, tranche in enumerate(locked, start=1):
            _line_make(batch=batch, tranche=tranche, number=number, today=on)
            tranche.status = TrancheStatus.IN_BATCH
            tranche.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="batch.prepare",
            subject=batch,
            data={"reference": batch.reference, "tranches": ids, "total": batch_total(batch=batch),
                  "on": on},
        )  # fmt: skip
        return {"batch": batch.pk}

    result = idempotent(
        key=key, scope="batch.prepare", request={"tranches": ids, "actor": actor.pk}, run=run
    )
    return PaymentBatch.objects.get(pk=result["batch"])


def batch_submit(*, batch: PaymentBatch, actor: Any, key: str | None = None) -> PaymentBatch:
    """Send a draft batch for approval (finance officers). With ``key``, a replay returns the
    batch instead of refusing the second submission."""
    finance_only(actor, zh="提交付款批次", en="submit payment batches")

    def run() -> dict[str, Any]:
        locked = batch_locked(batch)
        batch_move(batch=locked, to=BatchStatus.SUBMITTED, actor=actor,
                    data={"total": batch_total(batch=locked)})  # fmt: skip
        return {"batch": locked.pk}

    return _keyed(key=key, scope="batch.submit", batch=batch, actor=actor, run=run)


def _keyed(
    *, key: str | None, scope: str, batch: PaymentBatch, actor: Any, run: Any
) -> PaymentBatch:
    if key is None:
        with transaction.atomic():
            run()
    else:
        idempotent(key=key, scope=scope, request={"batch": batch.pk, "actor": actor.pk}, run=run)
    return PaymentBatch.objects.get(pk=batch.pk)


# --- approving ----------------------------------------------------------------------------


def batch_approve(*, batch: PaymentBatch, actor: Any, key: str | None = None) -> PaymentBatch:
    """Record ``actor``'s approval of a submitted batch. Refused for anyone but a finance
    officer, for the batch's preparer, and for a second approval by the same person. The batch
    becomes ``approved`` once it has :func:`approvals_needed` approvals. Locks the batch row.
    Writes ``batch.approve`` (approver, count, needed, total)."""
    finance_only(actor, zh="审批付款批次", en="approve payment batches")
    if not permissions.can_approve_payments(actor, batch):
        raise PaymentNotAllowed(
            f"您准备了批次 {batch.reference}，不能审批自己准备的批次（须由另一名财务人员审批）",
            f"you prepared batch {batch.reference}; a preparer can never approve their own"
            " batch (another finance officer must)",
        )

    def run() -> dict[str, Any]:
        locked = batch_locked(batch)
        if locked.status != BatchStatus.SUBMITTED:
            raise WotuError(
                f"批次 {locked.reference} 的状态为“{_zh(locked.status)}”，只有待审批的批次可以审批",
                f"batch {locked.reference} is {locked.status}; only a submitted batch can be"
                " approved",
            )
        if locked.approvals.filter(approver=actor).exists():
            raise WotuError(
                f"您已审批过批次 {locked.reference}；第二次审批须由另一名财务人员完成",
                f"you have already approved batch {locked.reference}; a second approval must"
                " come from another finance officer",
            )
        BatchApproval.objects.create(batch=locked, approver=actor, approved_at=timezone.now())
        count, needed = locked.approvals.count(), approvals_needed(batch=locked)
        total = batch_total(batch=locked)
        if count >= needed:
            batch_move(batch=locked, to=BatchStatus.APPROVED, actor=actor, data={})
        audit_record(
            actor=actor,
            action="batch.approve",
            subject=locked,
            data={"approver": actor.pk, "approvals": count, "needed": needed, "total": total,
                  "status": locked.status},
        )  # fmt: skip
        return {"batch": locked.pk}

    return _keyed(key=key, scope="batch.approve", batch=batch, actor=actor, run=run)


# --- exporting ----------------------------------------------------------------------------


def _fx(currency: str) -> Account:
    return account_for(kind=AccountKind.FX, currency=currency)


def _export_legs(line: PaymentLine) -> list[tuple[Account, Decimal]]:
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


def _lines_of(batch: PaymentBatch) -> list[PaymentLine]:
    return list(
        batch.lines.select_related(
            "payee", "tranche__commitment__programme", "tranche__commitment__source",
            "tranche__commitment__payee",
        ).order_by("pk")
    )  # fmt: skip


def batch_file(*, batch: PaymentBatch) -> bytes:
    """The bank payment file of ``batch`` (CSV; see :mod:`wotu.ledger.bankfiles`). The payee
    column holds the account's name as registered with the bank."""
    names = {
        (a.organisation_id, a.account_number): a.account_name
        for a in PayeeAccount.objects.filter(
            organisation__in={x.payee_id for x in batch.lines.all()}
        )
    }
    rows = [
        PaymentRow(
            payee=names.get((x.payee_id, x.bank_account)) or x.payee.name,
            bank_account=x.bank_account,
            amount=x.amount,
            currency=x.currency,
            purpose=x.purpose,
            reference=x.reference,
            bank_name=x.bank_name,
        )
        for x in _lines_of(batch)
    ]
    return payment_file_write(rows=rows)


def batch_export(*, batch: PaymentBatch, actor: Any, key: str) -> bytes:
    """Send an approved batch to the bank: posts one ``export`` entry (Dr payable, Cr
    in_transit, with FX legs for HKD/MOP lines), marks lines and tranches sent and the batch
    exported, writes ``batch.export`` and returns the payment file. Refused unless approved
    (naming how many approvals are missing). Finance officers only; locks the batch.
    Idempotent under ``key``: a replay returns the same file."""
    finance_only(actor, zh="导出付款文件", en="export payment files")

    def run() -> dict[str, Any]:
        locked = batch_locked(batch)
        if locked.status != BatchStatus.APPROVED:
            raise _not_approved(locked)
        lines = _lines_of(locked)
        entry = entry_post(
            kind=EntryKind.EXPORT,
            lines=[leg for line in lines for leg in _export_legs(line)],
            actor=actor,
            memo=f"export batch {locked.reference}",
            subject=locked,
        )
        for line in lines:
            line.status = LineStatus.SENT
            line.save(update_fields=["status"])
        Tranche.objects.filter(pk__in=[x.tranche_id for x in lines]).update(
            status=TrancheStatus.SENT
        )
        content = batch_file(batch=locked)
        batch_move(
            batch=locked,
            to=BatchStatus.EXPORTED,
            actor=actor,
            data={"entry": entry.pk, "lines": len(lines), "total": batch_total(batch=locked),
                  "file_sha256": _sha256(content)},
        )  # fmt: skip
        return {"batch": locked.pk, "file": content.decode("utf-8")}

    result = idempotent(
        key=key, scope="batch.export", request={"batch": batch.pk, "actor": actor.pk}, run=run
    )
    return str(result["file"]).encode("utf-8")


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _not_approved(batch: PaymentBatch) -> WotuError:
    if batch.status == BatchStatus.SUBMITTED:
        have, needed = batch.approvals.count(), approvals_needed(batch=batch)
        return WotuError(
            f"批次 {batch.reference} 尚未批准（已有 {have} 人审批，需要 {needed} 人），不能导出",
            f"batch {batch.reference} is not approved yet ({have} of {needed} approvals);"
            " it cannot be exported",
        )
    return WotuError(
        f"批次 {batch.reference} 的状态为“{_zh(batch.status)}”，只有已批准的批次可以导出",
        f"batch {batch.reference} is {batch.status}; only an approved batch can be exported",
    )


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
    return [(account, -amount) for account, amount in _export_legs(line)]


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
                f"批次 {locked.reference} 的状态为“{_zh(locked.status)}”，"
                "只有已发送银行、尚未结清的批次可以导入回单",
                f"batch {locked.reference} is {locked.status}; only a batch sent to the bank and"
                " not yet settled takes a return file",
            )
        rows, errors = return_file_read(data=data, name=name)
        lines = {x.reference: x for x in _lines_of(locked)}
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

    request = {"batch": batch.pk, "actor": actor.pk, "file": _sha256(data)}
    return idempotent(key=key, scope="bank.return", request=request, run=run)


# --- bank charges -------------------------------------------------------------------------


def charge_book(
    *, commitment: Commitment, amount: Decimal, actor: Any, key: str, memo: str = ""
) -> JournalEntry:
    """Book a bank charge (CNY) for paying ``commitment`` to its project: Dr the programme's
    budget for the commitment's year and source, Cr charges (per payee). Hong Kong and Macao
    bank fees may be charged to the project (粤府〔2019〕1号). Refused for a non-positive amount,
    more than two decimals, or more than the budget has left (checked under the budget row's
    lock). Finance officers only; idempotent under ``key``; writes ``charge.book``."""
    finance_only(actor, zh="记录银行手续费", en="book bank charges")
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise WotuError(
            f"手续费金额 {amount} 必须大于零（人民币元）",
            f"the charge {amount} must be greater than zero (CNY)",
        )
    if amount != amount.quantize(FEN):
        raise WotuError(
            f"手续费金额 {amount} 超过两位小数", f"the charge {amount} has more than two decimals"
        )
    request = {"commitment": commitment.pk, "amount": amount, "memo": memo, "actor": actor.pk}

    def run() -> dict[str, Any]:
        budget = budget_account(
            programme=commitment.programme, year=commitment.year, source=commitment.source
        )
        Account.objects.select_for_update().filter(pk=budget.pk).first()
        left = budget_left(
            programme=commitment.programme, year=commitment.year, source=commitment.source
        )
        if amount > left:
            raise WotuError(
                f"预算 {budget.code} 仅余 {left} 元，不足以支付 {amount} 元手续费",
                f"the budget {budget.code} has CNY {left} left, not enough for a CNY {amount}"
                " charge",
            )
        charges = commitment_account(commitment=commitment, kind=AccountKind.CHARGES)
        entry = entry_post(
            kind=EntryKind.CHARGE,
            lines=[(budget, amount), (charges, -amount)],
            actor=actor,
            memo=(memo or f"bank charge commitment #{commitment.pk}")[:300],
            subject=commitment,
        )
        audit_record(
            actor=actor,
            action="charge.book",
            subject=commitment,
            data={"amount": amount, "entry": entry.pk, "memo": memo},
        )
        return {"entry": entry.pk}

    result = idempotent(key=key, scope="charge.book", request=request, run=run)
    return JournalEntry.objects.get(pk=result["entry"])
