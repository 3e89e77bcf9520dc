"""Reports read from the ledger: budget vs committed vs paid, spending over time, cross-border
flows and a statement per payee. Reads only; who may ask is decided in
:mod:`wotu.ledger.selectors`.

Where each figure comes from (all CNY, two decimals):

* **left** — what is still uncommitted on the programme's budget account for the year and
  source: minus the account's balance (budget accounts are credited by ``allocate``).
* **committed** — commitments whose ``commit`` entry has not been reversed.
* **allocated** = left + committed (so the three always agree with the ledger).
* **paid** — payment lines the bank returned as paid, at their CNY amount (a line paid in HKD or
  MOP also records its CNY value at the rate used).

A line's payment date is when the bank's return booked it paid (``PaymentLine.paid_at``; for
lines paid before that column existed, their ``payment.paid`` audit event), else the day its batch
went to the bank.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from wotu.core.models import AuditEvent
from wotu.core.money import round_fen
from wotu.ledger.models import (
    AccountKind,
    Commitment,
    FundingSource,
    JournalEntry,
    LineStatus,
    PaymentLine,
    Posting,
    Tranche,
    TrancheStatus,
)
from wotu.organisations.models import Organisation, Region
from wotu.programmes.models import Programme

ZERO = Decimal("0.00")
CROSS_BORDER = (Region.HONG_KONG, Region.MACAO)


def _money(value: Any) -> Decimal:
    return round_fen(Decimal(value or 0))


# --- budget vs committed vs paid ---------------------------------------------------------------


@dataclass(frozen=True)
class BudgetFilter:
    year: int | None = None
    programme_id: int | None = None
    source_id: int | None = None


@dataclass
class BudgetLine:
    """One programme, year and funding source."""

    programme: Programme
    year: int
    source: FundingSource
    left: Decimal = ZERO
    committed: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def allocated(self) -> Decimal:
        return self.left + self.committed

    @property
    def unpaid(self) -> Decimal:
        """Committed but not yet paid."""
        return self.committed - self.paid


@dataclass(frozen=True)
class BudgetTotals:
    allocated: Decimal
    committed: Decimal
    paid: Decimal
    left: Decimal


Key = tuple[int, int, int]  # programme id, year, source id


def _wanted(f: BudgetFilter, prefix: str) -> Q:
    q = Q()
    if f.year is not None:
        q &= Q(**{f"{prefix}year": f.year})
    if f.programme_id is not None:
        q &= Q(**{f"{prefix}programme_id": f.programme_id})
    if f.source_id is not None:
        q &= Q(**{f"{prefix}source_id": f.source_id})
    return q


def _left_by_key(f: BudgetFilter) -> dict[Key, Decimal]:
    rows = (
        Posting.objects.filter(account__kind=AccountKind.BUDGET, account__currency="CNY")
        .filter(account__programme__isnull=False, account__year__isnull=False)
        .filter(account__source__isnull=False)
        .filter(_wanted(f, "account__"))
        .values("account__programme_id", "account__year", "account__source_id")
        .annotate(total=Sum("amount"))
    )
    return {
        (r["account__programme_id"], r["account__year"], r["account__source_id"]): -_money(
            r["total"]
        )
        for r in rows
    }


def live_commitments() -> QuerySet[Commitment]:
    """Commitments whose ``commit`` entry stands (not reversed)."""
    return Commitment.objects.filter(entry__reversed_by__isnull=True)


def _committed_by_key(f: BudgetFilter) -> dict[Key, Decimal]:
    rows = (
        live_commitments()
        .filter(_wanted(f, ""))
        .values("programme_id", "year", "source_id")
        .annotate(total=Sum("amount"))
    )
    return {(r["programme_id"], r["year"], r["source_id"]): _money(r["total"]) for r in rows}


def _paid_by_key(f: BudgetFilter) -> dict[Key, Decimal]:
    rows = (
        PaymentLine.objects.filter(status=LineStatus.PAID)
        .filter(_wanted(f, "tranche__commitment__"))
        .values(
            "tranche__commitment__programme_id",
            "tranche__commitment__year",
            "tranche__commitment__source_id",
        )
        .annotate(total=Sum("amount_cny"))
    )
    return {
        (
            r["tranche__commitment__programme_id"],
            r["tranche__commitment__year"],
            r["tranche__commitment__source_id"],
        ): _money(r["total"])
        for r in rows
    }


def budget_report(*, filters: BudgetFilter | None = None) -> list[BudgetLine]:
    """Budget vs committed vs paid, one line per programme, year and funding source that has a
    budget or a commitment, ordered by year (newest first), programme code and source."""
    f = filters or BudgetFilter()
    left, committed, paid = _left_by_key(f), _committed_by_key(f), _paid_by_key(f)
    keys = set(left) | set(committed) | set(paid)
    programmes = Programme.objects.in_bulk({k[0] for k in keys})
    sources = FundingSource.objects.in_bulk({k[2] for k in keys})
    lines = [
        BudgetLine(
            programme=programmes[key[0]],
            year=key[1],
            source=sources[key[2]],
            left=left.get(key, ZERO),
            committed=committed.get(key, ZERO),
            paid=paid.get(key, ZERO),
        )
        for key in keys
    ]
    lines.sort(key=lambda x: (-x.year, x.programme.code, x.source.kind, x.source.code))
    return lines


def budget_totals(*, lines: Iterable[BudgetLine]) -> BudgetTotals:
    items = list(lines)
    return BudgetTotals(
        allocated=sum((x.allocated for x in items), ZERO),
        committed=sum((x.committed for x in items), ZERO),
        paid=sum((x.paid for x in items), ZERO),
        left=sum((x.left for x in items), ZERO),
    )


def budget_years() -> list[int]:
    """Years that have a budget or a commitment, newest first (for the filter)."""
    years = set(Commitment.objects.values_list("year", flat=True))
    years |= {
        y
        for y in Posting.objects.filter(account__kind=AccountKind.BUDGET)
        .values_list("account__year", flat=True)
        .distinct()
        if y is not None
    }
    return sorted(years, reverse=True)


# --- when lines were paid ----------------------------------------------------------------------


def _paid_entries(lines: list[PaymentLine]) -> dict[int, dt.datetime]:
    """When each line was booked as paid: its ``paid_at``; for a line without one (paid before
    the column existed), its ``payment.paid`` audit event (written in the same transaction as
    the ``paid`` entry); else the time its batch went to the bank."""
    older = [x for x in lines if x.paid_at is None]
    events = (
        AuditEvent.objects.filter(
            action="payment.paid",
            subject_type="ledger.paymentline",
            subject_id__in=[str(x.pk) for x in older],
        ).values_list("subject_id", "at")
        if older
        else []
    )
    booked = {int(subject_id): at for subject_id, at in events}
    when: dict[int, dt.datetime] = {}
    for x in lines:
        moment = x.paid_at or booked.get(x.pk) or x.batch.exported_at
        if moment is not None:
            when[x.pk] = moment
    return when


def paid_lines() -> QuerySet[PaymentLine]:
    return PaymentLine.objects.filter(status=LineStatus.PAID).select_related(
        "batch", "payee", "tranche__commitment__programme", "tranche__commitment__source"
    )


def line_paid_on(*, lines: list[PaymentLine]) -> dict[int, dt.date]:
    """Each paid line's payment date (local date)."""
    return {pk: timezone.localdate(moment) for pk, moment in _paid_entries(lines).items()}


# --- spending over time ------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendingSeries:
    """Monthly totals: ``months`` as ``YYYY-MM``; committed and paid per month, and paid
    cumulative."""

    months: list[str]
    committed: list[Decimal]
    paid: list[Decimal]
    paid_cumulative: list[Decimal]


def _month(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        value = timezone.localdate(value)
    return f"{value.year:04d}-{value.month:02d}"


def _months_between(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:])
    months: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def spending_over_time(*, filters: BudgetFilter | None = None) -> SpendingSeries:
    """Committed (by commitment date) and paid (by payment date) per calendar month, with no gap
    months between the first and the last."""
    f = filters or BudgetFilter()
    committed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for created_at, amount in (
        live_commitments().filter(_wanted(f, "")).values_list("created_at", "amount")
    ):
        committed[_month(created_at)] += amount
    lines = list(paid_lines().filter(_wanted(f, "tranche__commitment__")))
    amounts = {x.pk: x.amount_cny for x in lines}
    paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for pk, moment in _paid_entries(lines).items():
        paid[_month(moment)] += amounts[pk]
    keys = sorted(set(committed) | set(paid))
    months = _months_between(keys[0], keys[-1]) if keys else []
    running = ZERO
    cumulative: list[Decimal] = []
    for m in months:
        running += paid.get(m, ZERO)
        cumulative.append(running)
    return SpendingSeries(
        months=months,
        committed=[committed.get(m, ZERO) for m in months],
        paid=[paid.get(m, ZERO) for m in months],
        paid_cumulative=cumulative,
    )


# --- cross-border flows ------------------------------------------------------------------------


@dataclass
class CrossBorderLine:
    """Paid to one Hong Kong or Macao institution in one year under one programme, in one
    currency: the CNY value and the amount in the currency paid."""

    year: int
    programme: Programme
    payee: Organisation
    currency: str
    amount: Decimal = ZERO
    amount_cny: Decimal = ZERO
    payments: int = 0


def cross_border_report(*, year: int | None = None) -> list[CrossBorderLine]:
    """Payments to HK/MO payees that the bank returned as paid, by payment year, programme,
    institution and currency paid; newest year first, then largest CNY amount."""
    lines = list(paid_lines().filter(payee__region__in=CROSS_BORDER))
    paid_on = line_paid_on(lines=lines)
    groups: dict[tuple[int, int, int, str], CrossBorderLine] = {}
    for line in lines:
        when = paid_on.get(line.pk)
        if when is None or (year is not None and when.year != year):
            continue
        programme = line.tranche.commitment.programme
        key = (when.year, programme.pk, line.payee_id, line.currency)
        group = groups.setdefault(
            key, CrossBorderLine(year=when.year, programme=programme, payee=line.payee,
                                 currency=line.currency)
        )  # fmt: skip
        group.amount += line.amount
        group.amount_cny += line.amount_cny
        group.payments += 1
    return sorted(groups.values(), key=lambda g: (-g.year, -g.amount_cny, g.payee.name))


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    amount: Decimal
    amount_cny: Decimal


def cross_border_currency_totals(*, lines: Iterable[CrossBorderLine]) -> list[CurrencyTotal]:
    """Totals per currency paid (CNY lines included), ordered by currency."""
    amount: dict[str, Decimal] = defaultdict(lambda: ZERO)
    cny: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for x in lines:
        amount[x.currency] += x.amount
        cny[x.currency] += x.amount_cny
    return [CurrencyTotal(c, amount[c], cny[c]) for c in sorted(amount)]


# --- statement per payee -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    line: PaymentLine
    account: str  # masked: last four digits only
    paid_on: dt.date | None


@dataclass
class StatementCommitment:
    commitment: Commitment
    tranches: list[Tranche]
    lines: list[StatementLine]
    paid: Decimal
    reversed: bool


@dataclass
class Statement:
    """What one organisation was awarded and paid. No bank account numbers beyond the last
    four digits are ever put here."""

    payee: Organisation
    commitments: list[StatementCommitment] = field(default_factory=list)

    @property
    def committed(self) -> Decimal:
        return sum((c.commitment.amount for c in self.commitments if not c.reversed), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((c.paid for c in self.commitments), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return self.committed - self.paid


def masked_account(number: str) -> str:
    """``•••• 1234``: enough to recognise an account, never enough to use it."""
    tail = number.strip()[-4:]
    return f"•••• {tail}" if tail else "—"


def payee_statement(*, payee: Organisation) -> Statement:
    """Every commitment to ``payee`` (newest first) with its tranches and payment lines."""
    commitments = list(
        Commitment.objects.filter(payee=payee)
        .select_related("programme", "source", "entry")
        .prefetch_related("tranches__lines__batch")
        .order_by("-year", "-created_at", "-id")
    )
    reversed_ids = set(
        JournalEntry.objects.filter(reverses_id__in=[c.entry_id for c in commitments]).values_list(
            "reverses_id", flat=True
        )
    )
    statement = Statement(payee=payee)
    every = [x for c in commitments for t in c.tranches.all() for x in t.lines.all()]
    paid_on = line_paid_on(lines=[x for x in every if x.status == LineStatus.PAID])
    for c in commitments:
        tranches = list(c.tranches.all())
        lines = [line for t in tranches for line in t.lines.all()]
        paid = sum((x.amount_cny for x in lines if x.status == LineStatus.PAID), ZERO)
        statement.commitments.append(
            StatementCommitment(
                commitment=c,
                tranches=tranches,
                lines=[
                    StatementLine(x, masked_account(x.bank_account), paid_on.get(x.pk))
                    for x in lines
                ],
                paid=paid,
                reversed=c.entry_id in reversed_ids,
            )
        )
    return statement


def payable_tranches() -> QuerySet[Tranche]:
    """Tranches waiting to be put in a payment batch, earliest due first."""
    return (
        Tranche.objects.filter(status=TrancheStatus.PAYABLE)
        .select_related("commitment__payee", "commitment__programme", "commitment__source")
        .order_by("due_on", "commitment_id", "order")
    )
