"""Random sequences of ledger work — allocate, commit, schedule and release, reverse, convert —
never break the books: after every step each currency's trial balance is zero, no budget is
overspent, and what is left to commit is exactly what a simple model of the rules expects.
Runs on whichever database the suite uses (SQLite by default, PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from wotu.core.errors import WotuError
from wotu.core.models import Role, User
from wotu.core.money import round_fen
from wotu.ledger.models import (
    Account,
    AccountKind,
    Commitment,
    EntryKind,
    FundingSource,
    JournalEntry,
    SourceKind,
    TrancheStatus,
)
from wotu.ledger.posting import account_for, balance, entry_post, entry_reverse, trial_balance
from wotu.ledger.services import (
    budget_allocate,
    budget_left,
    commitment_account,
    commitment_create,
    schedule_set,
    tranches_release,
)
from wotu.organisations.models import Kind, Organisation, Region
from wotu.programmes.models import Programme

D = Decimal
AMOUNTS = st.decimals(min_value=D("0.01"), max_value=D("50000.00"), places=2)
BUDGETS = st.decimals(min_value=D("1000.00"), max_value=D("100000.00"), places=2)
HKD_RATE = D("0.920000")  # CNY per HKD


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint that teardown rolls back: a fresh ledger every time.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        if connection.vendor == "postgresql":
            # The balance trigger is deferred to commit, and these examples never commit: check
            # every statement instead, so the database's own check runs on every entry too.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        self.actor = User.objects.create(username="fiona", role=Role.FINANCE_OFFICER)
        self.programme = Programme.objects.create(
            code="gz-joint-2026", title="联合", title_en="Joint", year=2026, budget=D("60000000")
        )
        self.sources = [
            FundingSource.objects.create(code="gz-city", kind=SourceKind.CITY, name="市",
                                         name_en="City"),
            FundingSource.objects.create(code="gd-joint", kind=SourceKind.PROVINCIAL, name="省",
                                         name_en="Province"),
        ]  # fmt: skip
        self.payee = Organisation.objects.create(
            kind=Kind.UNIVERSITY, region=Region.HONG_KONG, name="港大", name_en="HKU",
            local_id="HK-1",
        )  # fmt: skip
        self.left = {source.pk: D("0.00") for source in self.sources}
        self.counter = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _key(self) -> str:
        self.counter += 1
        return f"step-{self.counter}"

    def _open_commitments(self) -> list[Commitment]:
        """Commitments not reversed whose schedule has not started paying."""
        return list(
            Commitment.objects.exclude(entry__reversed_by__isnull=False)
            .exclude(tranches__status__in=[s for s in TrancheStatus if s != "planned"])
            .order_by("pk")
        )

    def _reversible(self) -> list[JournalEntry]:
        return list(
            JournalEntry.objects.filter(kind__in=[EntryKind.ALLOCATE, EntryKind.COMMIT])
            .exclude(reversed_by__isnull=False)
            .order_by("pk")
        )

    @initialize(amount=BUDGETS)
    def allocate_the_year(self, amount: Decimal) -> None:
        self.allocate(source=0, amount=amount)

    @rule(source=st.integers(0, 1), amount=BUDGETS)
    def allocate(self, source: int, amount: Decimal) -> None:
        src = self.sources[source]
        budget_allocate(programme=self.programme, year=2026, source=src, amount=amount,
                        actor=self.actor, key=self._key())  # fmt: skip
        self.left[src.pk] += amount

    @rule(source=st.integers(0, 1), amount=AMOUNTS)
    def commit(self, source: int, amount: Decimal) -> None:
        src = self.sources[source]
        key = self._key()
        try:
            commitment_create(
                award_type="test.award", award_id=key, programme=self.programme, year=2026,
                source=src, payee=self.payee, amount=amount, actor=self.actor, key=key,
            )  # fmt: skip
        except WotuError:
            assert amount > self.left[src.pk], "a commitment within the budget was refused"
            return
        assert amount <= self.left[src.pk], "a commitment beyond the budget was accepted"
        self.left[src.pk] -= amount

    @precondition(lambda self: bool(self._open_commitments()))
    @rule(pick=st.integers(0, 99), parts=st.integers(1, 3))
    def schedule_and_release(self, pick: int, parts: int) -> None:
        open_ = self._open_commitments()
        commitment = open_[pick % len(open_)]
        share = round_fen(commitment.amount / parts)
        amounts = [share] * (parts - 1) + [commitment.amount - share * (parts - 1)]
        if any(a <= 0 for a in amounts):
            amounts = [commitment.amount]
        plan = [{"due_on": dt.date(2026, 7, i + 1), "amount": a} for i, a in enumerate(amounts)]
        schedule_set(commitment=commitment, actor=self.actor, tranches=plan)
        tranches_release(today=dt.date(2026, 12, 31), actor=self.actor)

    @precondition(lambda self: bool(self._reversible()))
    @rule(pick=st.integers(0, 99))
    def reverse(self, pick: int) -> None:
        entries = self._reversible()
        entry = entries[pick % len(entries)]
        if entry.kind == EntryKind.COMMIT:
            commitment = Commitment.objects.get(entry=entry)
            if commitment not in self._open_commitments():
                return  # money already released: withdrawing the award is another process
            entry_reverse(entry=entry, actor=self.actor, memo="award withdrawn")
            self.left[commitment.source_id] += commitment.amount
            return
        posting = entry.postings.select_related("account").get(account__kind=AccountKind.BUDGET)
        source_pk = posting.account.source_id
        assert source_pk is not None
        if -posting.amount > self.left[source_pk]:
            return  # already committed: cutting it would overspend, so nobody may
        entry_reverse(entry=entry, actor=self.actor, memo="budget cut")
        self.left[source_pk] += posting.amount

    @precondition(lambda self: self._payable() is not None)
    @rule(fraction=st.integers(1, 100))
    def convert_to_hkd(self, fraction: int) -> None:
        payable = self._payable()
        assert payable is not None
        cny = round_fen(-balance(account=payable) * fraction / 100)
        if cny <= 0:
            return
        hkd = round_fen(cny / HKD_RATE)
        entry_post(kind=EntryKind.EXPORT, actor=self.actor, memo="to HKD", lines=[
            (payable, cny), (account_for(kind=AccountKind.FX), -cny),
            (account_for(kind=AccountKind.FX, currency="HKD"), hkd),
            (account_for(kind=AccountKind.IN_TRANSIT, currency="HKD", payee=self.payee), -hkd),
        ])  # fmt: skip

    def _payable(self) -> Account | None:
        for account in Account.objects.filter(kind=AccountKind.PAYABLE, currency="CNY"):
            if balance(account=account) < 0:
                return account
        return None

    @invariant()
    def books_balance_in_every_currency(self) -> None:
        assert all(total == 0 for total in trial_balance().values()), trial_balance()

    @invariant()
    def no_budget_is_overspent_and_what_is_left_matches_the_rules(self) -> None:
        for source in self.sources:
            left = budget_left(programme=self.programme, year=2026, source=source)
            assert left >= 0
            assert left == self.left[source.pk]

    @invariant()
    def commitments_never_pay_out_more_than_was_committed(self) -> None:
        for commitment in Commitment.objects.all():
            held = commitment_account(commitment=commitment, kind=AccountKind.COMMITMENT)
            assert balance(account=held) <= 0


@pytest.mark.django_db
def test_random_ledger_work_never_unbalances_the_books_or_overspends_a_budget() -> None:
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=20,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
