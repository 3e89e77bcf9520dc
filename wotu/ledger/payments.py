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

This module prepares, approves and exports batches and books charges; what the steps share is
:mod:`wotu.ledger.batches` and booking the bank's return :mod:`wotu.ledger.returns`, both
importable from here too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.money import FEN
from wotu.ledger import permissions
from wotu.ledger.bankfiles import (
    PaymentRow,
    payment_file_write,
)
from wotu.ledger.batches import DEFAULT_TWO_APPROVER_THRESHOLD as DEFAULT_TWO_APPROVER_THRESHOLD
from wotu.ledger.batches import STATUS_ZH as STATUS_ZH
from wotu.ledger.batches import ZERO as ZERO
from wotu.ledger.batches import PaymentNotAllowed as PaymentNotAllowed
from wotu.ledger.batches import approvals_needed as approvals_needed
from wotu.ledger.batches import batch_lines, batch_status_zh, export_legs, sha256_hex
from wotu.ledger.batches import batch_locked as batch_locked
from wotu.ledger.batches import batch_move as batch_move
from wotu.ledger.batches import batch_total as batch_total
from wotu.ledger.batches import finance_only as finance_only
from wotu.ledger.batches import two_approver_threshold as two_approver_threshold
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
from wotu.ledger.posting import entry_post, idempotent
from wotu.ledger.returns import bank_return_import as bank_return_import
from wotu.ledger.services import budget_account, budget_left, commitment_account

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
                f"批次 {locked.reference} 的状态为“{batch_status_zh(locked.status)}”，"
                "只有待审批的批次可以审批",
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
        for x in batch_lines(batch)
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
        lines = batch_lines(locked)
        entry = entry_post(
            kind=EntryKind.EXPORT,
            lines=[leg for line in lines for leg in export_legs(line)],
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
                  "file_sha256": sha256_hex(content)},
        )  # fmt: skip
        return {"batch": locked.pk, "file": content.decode("utf-8")}

    result = idempotent(
        key=key, scope="batch.export", request={"batch": batch.pk, "actor": actor.pk}, run=run
    )
    return str(result["file"]).encode("utf-8")


def _not_approved(batch: PaymentBatch) -> WotuError:
    if batch.status == BatchStatus.SUBMITTED:
        have, needed = batch.approvals.count(), approvals_needed(batch=batch)
        return WotuError(
            f"批次 {batch.reference} 尚未批准（已有 {have} 人审批，需要 {needed} 人），不能导出",
            f"batch {batch.reference} is not approved yet ({have} of {needed} approvals);"
            " it cannot be exported",
        )
    return WotuError(
        f"批次 {batch.reference} 的状态为“{batch_status_zh(batch.status)}”，"
        "只有已批准的批次可以导出",
        f"batch {batch.reference} is {batch.status}; only an approved batch can be exported",
    )


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
