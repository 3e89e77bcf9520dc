"""The posting primitive: balanced entries, reversals, balances and the audit event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, User
from wotu.ledger.models import (
    Account,
    AccountKind,
    EntryKind,
    FundingSource,
    JournalEntry,
    LedgerImmutableError,
    Posting,
    SourceKind,
)
from wotu.ledger.posting import (
    EntryUnbalanced,
    account_for,
    balance,
    entry_post,
    entry_reverse,
    trial_balance,
)
from wotu.programmes.models import Programme

D = Decimal


@pytest.fixture
def city(db: None) -> FundingSource:
    return FundingSource.objects.create(code="qd-city", kind=SourceKind.CITY, name="市级",
                                        name_en="City")  # fmt: skip


@pytest.fixture
def programme(db: None) -> Programme:
    return Programme.objects.create(code="qz-talent-2026", title="人才", title_en="Talent",
                                    year=2026, budget=D("1000000.00"))  # fmt: skip


@pytest.fixture
def source_and_budget(city: FundingSource, programme: Programme) -> tuple[Account, Account]:
    return (
        account_for(kind=AccountKind.SOURCE, source=city),
        account_for(kind=AccountKind.BUDGET, source=city, programme=programme, year=2026),
    )


def test_account_codes_name_their_parts_and_are_reused(
    city: FundingSource, programme: Programme
) -> None:
    first = account_for(kind=AccountKind.BUDGET, programme=programme, year=2026, source=city)
    again = account_for(kind=AccountKind.BUDGET, programme=programme, year=2026, source=city)
    hkd = account_for(kind=AccountKind.FX, currency="HKD")
    assert first.code == "budget/qz-talent-2026/2026/qd-city/CNY"
    assert again.pk == first.pk
    assert (hkd.code, hkd.currency) == ("fx/HKD", "HKD")


def test_a_balanced_entry_moves_money_and_is_recorded_in_the_audit_chain(
    bob: User, source_and_budget: tuple[Account, Account]
) -> None:
    source, budget = source_and_budget
    entry = entry_post(kind=EntryKind.ALLOCATE, lines=[(source, D("500")), (budget, D("-500"))],
                       actor=bob, memo="2026 budget")  # fmt: skip
    assert balance(account=source) == D("500.00")
    assert balance(account=budget) == D("-500.00")
    assert trial_balance() == {"CNY": D("0.00")}
    event = AuditEvent.objects.get(action="ledger.entry")
    assert (event.subject_type, event.subject_id) == ("ledger.journalentry", str(entry.pk))
    assert event.data == {
        "kind": "allocate",
        "lines": [[source.code, "CNY", "500.00"], [budget.code, "CNY", "-500.00"]],
        "reverses": None,
        "memo": "2026 budget",
        "posted_at": entry.posted_at.astimezone(dt.UTC).isoformat(),
        "subject": ":",
    }
    assert audit_verify() is None


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        ((D("100"), D("-99.99")), "does not balance: CNY by 0.01"),
        ((D("100"),), "needs at least two lines"),
        ((D("0"), D("0")), "is zero"),
        ((D("0.001"), D("-0.001")), "more than two decimals"),
    ],
)
def test_an_entry_that_does_not_balance_or_is_malformed_is_refused_and_nothing_is_written(
    bob: User, source_and_budget: tuple[Account, Account], amounts: tuple[Decimal, ...],
    message: str,
) -> None:  # fmt: skip
    lines = list(zip(source_and_budget, amounts, strict=False))
    with pytest.raises(WotuError, match=message):
        entry_post(kind=EntryKind.ALLOCATE, lines=lines, actor=bob)
    assert not JournalEntry.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_conversion_balances_per_currency_never_as_a_mixed_sum(bob: User) -> None:
    payable = account_for(kind=AccountKind.PAYABLE)
    fx_cny = account_for(kind=AccountKind.FX)
    fx_hkd = account_for(kind=AccountKind.FX, currency="HKD")
    transit = account_for(kind=AccountKind.IN_TRANSIT, currency="HKD")
    entry_post(kind=EntryKind.EXPORT, actor=bob, lines=[
        (payable, D("920.00")), (fx_cny, D("-920.00")),
        (fx_hkd, D("1000.00")), (transit, D("-1000.00"))])  # fmt: skip
    assert trial_balance() == {"CNY": D("0.00"), "HKD": D("0.00")}
    with pytest.raises(EntryUnbalanced, match=r"CNY by 920\.00, HKD by -920\.00"):
        entry_post(kind=EntryKind.EXPORT, actor=bob, lines=[
            (payable, D("920.00")), (transit, D("-920.00"))])  # fmt: skip


def test_a_reversal_restores_every_balance_and_can_happen_only_once(
    bob: User, source_and_budget: tuple[Account, Account]
) -> None:
    source, budget = source_and_budget
    entry = entry_post(kind=EntryKind.ALLOCATE, lines=[(source, D("70")), (budget, D("-70"))],
                       actor=bob)  # fmt: skip
    reversal = entry_reverse(entry=entry, actor=bob, memo="wrong programme")
    assert reversal.reverses_id == entry.pk
    assert reversal.kind == EntryKind.REVERSAL
    assert balance(account=budget) == balance(account=source) == D("0.00")
    last = AuditEvent.objects.filter(action="ledger.entry").order_by("id").last()
    assert last is not None
    assert last.data["reverses"] == entry.pk
    with pytest.raises(WotuError, match="already been reversed"):
        entry_reverse(entry=entry, actor=bob, memo="again")


def test_posted_entries_cannot_be_changed_or_deleted(
    bob: User, source_and_budget: tuple[Account, Account]
) -> None:
    source, budget = source_and_budget
    entry = entry_post(kind=EntryKind.ALLOCATE, lines=[(source, D("1")), (budget, D("-1"))],
                       actor=bob)  # fmt: skip
    entry.memo = "rewritten"
    with pytest.raises(LedgerImmutableError):
        entry.save()
    with pytest.raises(LedgerImmutableError):
        Posting.objects.filter(entry=entry).update(amount=D("2"))
    with pytest.raises(LedgerImmutableError):
        Posting.objects.filter(entry=entry).delete()
    assert balance(account=budget) == D("-1.00")
