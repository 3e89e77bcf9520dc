"""Random sequences of ledger work never break the books. The steps are the issue's: allocate,
commit, schedule and release, pay (a batch prepared by finance officer A, approved by B — and C
as well above the two-approver threshold —, sent to the bank), the bank's return marking random
lines paid or failed, reverse (a budget cut, a cancelled commitment, a cancelled batch), and
convert (a Hong Kong payee paid in HKD at a recorded rate, and converted back when its payment
fails).

After every step: each currency's trial balance is zero; no budget is below zero and what is
left to commit is what a simple model of the rules expects; and every tranche's status agrees
with the ledger — per payee, the payable accounts hold exactly its payable and batched tranches,
the commitment accounts what is committed and not yet due, in-transit and paid exactly its sent
and paid lines (per currency), and the FX accounts exactly the conversions of HKD lines out.
Runs on whichever database the suite uses (SQLite by default, PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.test import override_settings
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from wotu.conftest import make_uscc
from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import Role, User
from wotu.core.money import round_fen
from wotu.ledger.cancellations import batch_cancel, commitment_cancel
from wotu.ledger.models import (
    AccountKind,
    BatchStatus,
    Commitment,
    Currency,
    EntryKind,
    FundingSource,
    FxRate,
    JournalEntry,
    LineStatus,
    PayeeAccount,
    PaymentBatch,
    PaymentLine,
    Posting,
    SourceKind,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.payments import (
    PaymentNotAllowed,
    bank_return_import,
    batch_approve,
    batch_export,
    batch_prepare,
    batch_submit,
)
from wotu.ledger.posting import entry_reverse, trial_balance
from wotu.ledger.services import (
    budget_allocate,
    budget_left,
    commitment_create,
    schedule_set,
    tranches_release,
)
from wotu.organisations.models import Kind, Organisation, Region
from wotu.programmes.models import Programme

D = Decimal
ZERO = D("0.00")
AMOUNTS = st.decimals(min_value=D("0.01"), max_value=D("50000.00"), places=2)
BUDGETS = st.decimals(min_value=D("1000.00"), max_value=D("100000.00"), places=2)
HKD_RATE = D("0.920000")  # CNY per HKD
#: Batches above this many CNY need a second approver (C) besides B.
THRESHOLD = D("2000.00")
PAY_DAY = dt.date(2026, 12, 31)
PICK = st.integers(0, 99)
ANSWERS = st.lists(st.sampled_from(["paid", "failed", "skip"]), min_size=8, max_size=8)


def _finance(username: str) -> User:
    return User.objects.create(username=username, role=Role.FINANCE_OFFICER)


def _sum(rows: Any, field: str) -> Decimal:
    # SQLite sums decimals as floats: back to the fen, as the ledger's own balance() does.
    return round_fen(D(rows.aggregate(total=Sum(field))["total"] or ZERO))


def _posted(*, kind: str, payee: Organisation | None = None, currency: str = "CNY") -> Decimal:
    """The summed balance of every account of ``kind`` (for ``payee``) in ``currency``."""
    rows = Posting.objects.filter(account__kind=kind, account__currency=currency)
    return _sum(rows.filter(account__payee=payee) if payee else rows, "amount")


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
        # A prepares; B and C approve.
        self.a, self.b, self.c = _finance("ada"), _finance("ben"), _finance("cai")
        self.programme = Programme.objects.create(
            code="gz-joint-2026", title="联合", title_en="Joint", year=2026, budget=D("60000000")
        )
        self.sources = [
            FundingSource.objects.create(code="gz-city", kind=SourceKind.CITY, name="市",
                                         name_en="City"),
            FundingSource.objects.create(code="gd-joint", kind=SourceKind.PROVINCIAL, name="省",
                                         name_en="Province"),
        ]  # fmt: skip
        self.payees = [
            Organisation.objects.create(kind=Kind.ENTERPRISE, region=Region.MAINLAND,
                                        name="海纳", name_en="Haina", district_code="370212",
                                        uscc=make_uscc(1)),
            Organisation.objects.create(kind=Kind.UNIVERSITY, region=Region.HONG_KONG,
                                        name="港大", name_en="HKU", local_id="HK-1"),
        ]  # fmt: skip
        for payee, currency in zip(self.payees, (Currency.CNY, Currency.HKD), strict=True):
            PayeeAccount.objects.create(
                organisation=payee, bank_name="中国银行", account_number=f"6217-{payee.pk}",
                account_name=payee.name_en, currency=currency, preferred=True,
            )  # fmt: skip
        FxRate.objects.create(date=dt.date(2026, 7, 1), currency=Currency.HKD, rate=HKD_RATE,
                              source="PBoC central parity (test figure)")  # fmt: skip
        self.left = {source.pk: ZERO for source in self.sources}
        self.counter = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _key(self) -> str:
        self.counter += 1
        return f"step-{self.counter}"

    # --- what is there to work on -------------------------------------------------------------

    def _live(self) -> Any:
        return Commitment.objects.exclude(entry__reversed_by__isnull=False)

    def _open_commitments(self) -> list[Commitment]:
        """Live commitments whose schedule has not started paying."""
        return list(
            self._live()
            .exclude(tranches__status__in=[s for s in TrancheStatus if s != "planned"])
            .order_by("pk")
        )

    def _allocations(self) -> list[JournalEntry]:
        return list(
            JournalEntry.objects.filter(kind=EntryKind.ALLOCATE)
            .exclude(reversed_by__isnull=False)
            .order_by("pk")
        )

    def _payable(self) -> list[Tranche]:
        return list(Tranche.objects.filter(status=TrancheStatus.PAYABLE).order_by("pk"))

    def _batches(self, *statuses: str) -> list[PaymentBatch]:
        return list(PaymentBatch.objects.filter(status__in=statuses).order_by("pk"))

    # --- budgets and commitments --------------------------------------------------------------

    @initialize(amount=BUDGETS, first=AMOUNTS, second=AMOUNTS)
    def allocate_the_year_and_award_each_payee(
        self, amount: Decimal, first: Decimal, second: Decimal
    ) -> None:
        """A budget and, within it, one award per payee due this year — so that paying them
        is a few steps away from the start."""
        self.allocate(source=0, amount=amount)
        for payee, award in enumerate((first, second)):
            self.commit(source=0, payee=payee, amount=award)
        for pick in range(2):
            if self._open_commitments():
                self.schedule_and_release(pick=pick, parts=2, later=False)

    @rule(source=st.integers(0, 1), amount=BUDGETS)
    def allocate(self, source: int, amount: Decimal) -> None:
        src = self.sources[source]
        budget_allocate(programme=self.programme, year=2026, source=src, amount=amount,
                        actor=self.a, key=self._key())  # fmt: skip
        self.left[src.pk] += amount

    @rule(source=st.integers(0, 1), payee=st.integers(0, 1), amount=AMOUNTS)
    def commit(self, source: int, payee: int, amount: Decimal) -> None:
        src = self.sources[source]
        key = self._key()
        try:
            commitment_create(
                award_type="test.award", award_id=key, programme=self.programme, year=2026,
                source=src, payee=self.payees[payee], amount=amount, actor=self.a, key=key,
            )  # fmt: skip
        except WotuError:
            assert amount > self.left[src.pk], "a commitment within the budget was refused"
            return
        assert amount <= self.left[src.pk], "a commitment beyond the budget was accepted"
        self.left[src.pk] -= amount

    @precondition(lambda self: bool(self._open_commitments()))
    @rule(pick=PICK, parts=st.integers(1, 3), later=st.booleans())
    def schedule_and_release(self, pick: int, parts: int, later: bool) -> None:
        """Schedule a commitment in ``parts`` tranches, the last one next year when ``later``
        (it stays planned), and release what is due."""
        open_ = self._open_commitments()
        commitment = open_[pick % len(open_)]
        share = round_fen(commitment.amount / parts)
        amounts = [share] * (parts - 1) + [commitment.amount - share * (parts - 1)]
        if any(a <= 0 for a in amounts):
            amounts = [commitment.amount]
        plan = [{"due_on": dt.date(2026, 7, i + 1), "amount": a} for i, a in enumerate(amounts)]
        if later:
            plan[-1]["due_on"] = dt.date(2027, 7, 1)
        schedule_set(commitment=commitment, actor=self.a, tranches=plan)
        tranches_release(today=PAY_DAY, actor=self.a)

    @precondition(lambda self: bool(self._allocations()))
    @rule(pick=PICK)
    def cut_a_budget(self, pick: int) -> None:
        entries = self._allocations()
        entry = entries[pick % len(entries)]
        posting = entry.postings.select_related("account").get(account__kind=AccountKind.BUDGET)
        source_pk = posting.account.source_id
        assert source_pk is not None
        if -posting.amount > self.left[source_pk]:
            return  # already committed: cutting it would overspend, so nobody may
        entry_reverse(entry=entry, actor=self.a, memo="budget cut")
        self.left[source_pk] += posting.amount

    @precondition(lambda self: self._live().exists())
    @rule(pick=PICK, now=st.integers(0, 3))
    def cancel_a_commitment(self, pick: int, now: int) -> None:
        if now < 3:
            return  # most awards stand
        live = list(self._live().order_by("pk"))
        commitment = live[pick % len(live)]
        statuses = set(commitment.tranches.values_list("status", flat=True))
        allowed = statuses <= {TrancheStatus.PLANNED, TrancheStatus.PAYABLE}
        try:
            commitment_cancel(commitment=commitment, actor=self.b, key=self._key(),
                              reason="award withdrawn")  # fmt: skip
        except WotuError:
            assert not allowed, f"a commitment with tranches {statuses} could not be cancelled"
            return
        assert allowed, f"a commitment with tranches {statuses} was cancelled"
        event(f"commitment cancelled with payable tranches: {TrancheStatus.PAYABLE in statuses}")
        self.left[commitment.source_id] += commitment.amount

    # --- paying --------------------------------------------------------------------------------

    @precondition(lambda self: bool(self._payable()))
    @rule(mask=st.integers(1, 255), submit=st.integers(0, 3))
    def prepare_a_batch(self, mask: int, submit: int) -> None:
        """A prepares a batch of some payable tranches and, mostly, submits it at once."""
        payable = self._payable()
        chosen = [t for i, t in enumerate(payable[:8]) if mask >> i & 1] or payable[:1]
        batch = batch_prepare(tranches=chosen, actor=self.a, key=self._key(), today=PAY_DAY)
        assert batch.lines.count() == len(chosen)
        assert (
            not Tranche.objects.filter(pk__in=[t.pk for t in chosen])
            .exclude(status=TrancheStatus.IN_BATCH)
            .exists()
        )
        if submit:
            batch = batch_submit(batch=batch, actor=self.a, key=self._key())
            assert batch.status == BatchStatus.SUBMITTED

    @precondition(lambda self: bool(self._batches(BatchStatus.DRAFT)))
    @rule(pick=PICK)
    def submit_a_draft(self, pick: int) -> None:
        drafts = self._batches(BatchStatus.DRAFT)
        batch = batch_submit(batch=drafts[pick % len(drafts)], actor=self.a, key=self._key())
        assert batch.status == BatchStatus.SUBMITTED

    @precondition(lambda self: bool(self._batches(BatchStatus.SUBMITTED)))
    @rule()
    def approve_a_batch(self) -> None:
        """The oldest submitted batch: A (its preparer) is refused; B approves; above the
        threshold B cannot approve twice and C's approval is needed too."""
        batch = self._batches(BatchStatus.SUBMITTED)[0]
        needed = 2 if _sum(batch.lines, "amount_cny") > THRESHOLD else 1
        with pytest.raises(PaymentNotAllowed):
            batch_approve(batch=batch, actor=self.a, key=self._key())
        batch = batch_approve(batch=batch, actor=self.b, key=self._key())
        if needed == 2:
            assert batch.status == BatchStatus.SUBMITTED, "one approver was enough"
            with pytest.raises(WotuError, match="already approved"):
                batch_approve(batch=batch, actor=self.b, key=self._key())
            batch = batch_approve(batch=batch, actor=self.c, key=self._key())
        assert batch.status == BatchStatus.APPROVED and batch.approvals.count() == needed
        event(f"batch approved by {needed}")

    @precondition(lambda self: bool(self._batches(BatchStatus.APPROVED)))
    @rule()
    def send_a_batch_to_the_bank(self) -> None:
        batch = self._batches(BatchStatus.APPROVED)[0]
        batch_export(batch=batch, actor=self.a, key=self._key())
        assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.SENT}

    @precondition(lambda self: bool(self._batches(BatchStatus.EXPORTED)))
    @rule(answers=ANSWERS)
    def book_the_banks_return(self, answers: list[str]) -> None:
        """The bank answers some of the oldest exported batch's lines, paid or failed."""
        batch = self._batches(BatchStatus.EXPORTED)[0]
        sent = list(batch.lines.filter(status=LineStatus.SENT).order_by("pk"))
        rows = [(x, a) for x, a in zip(sent, answers, strict=False) if a != "skip"]
        rows = rows or [(sent[0], "paid")]
        data = "reference,status,message\n" + "".join(f"{x.reference},{a},ok\n" for x, a in rows)
        result = bank_return_import(batch=batch, data=data.encode(), actor=self.a,
                                    key=self._key())  # fmt: skip
        assert result["pending"] == len(sent) - len(rows)
        for line, answer in rows:
            event(f"bank return: {line.currency} line {answer}")
            line.refresh_from_db()
            assert line.status == answer and (line.paid_at is not None) == (answer == "paid")
            expected = TrancheStatus.PAID if answer == "paid" else TrancheStatus.PAYABLE
            assert Tranche.objects.get(pk=line.tranche_id).status == expected

    @precondition(
        lambda self: bool(
            self._batches(BatchStatus.DRAFT, BatchStatus.SUBMITTED, BatchStatus.APPROVED)
        )
    )
    @rule(pick=PICK, who=st.integers(0, 2), now=st.integers(0, 3))
    def cancel_a_batch(self, pick: int, who: int, now: int) -> None:
        if now < 3:
            return  # most batches go on to the bank
        open_ = self._batches(BatchStatus.DRAFT, BatchStatus.SUBMITTED, BatchStatus.APPROVED)
        batch = open_[pick % len(open_)]
        event(f"batch cancelled while {batch.status}")
        batch_cancel(batch=batch, actor=(self.a, self.b, self.c)[who], key=self._key())
        tranches = Tranche.objects.filter(lines__batch=batch)
        assert set(tranches.values_list("status", flat=True)) == {TrancheStatus.PAYABLE}

    # --- after every step ----------------------------------------------------------------------

    @invariant()
    def books_balance_in_every_currency(self) -> None:
        assert all(total == 0 for total in trial_balance().values()), trial_balance()

    @invariant()
    def no_budget_is_below_zero_and_what_is_left_matches_the_rules(self) -> None:
        for source in self.sources:
            left = budget_left(programme=self.programme, year=2026, source=source)
            assert left >= 0
            assert left == self.left[source.pk]

    @invariant()
    def each_payees_accounts_hold_exactly_what_its_tranches_say(self) -> None:
        for payee in self.payees:
            tranches = Tranche.objects.filter(commitment__payee=payee)
            due = tranches.filter(status__in=[TrancheStatus.PAYABLE, TrancheStatus.IN_BATCH])
            assert _posted(kind=AccountKind.PAYABLE, payee=payee) == -_sum(due, "amount")
            live = self._live().filter(payee=payee)
            released = tranches.filter(commitment__in=live).exclude(
                status__in=[TrancheStatus.PLANNED, TrancheStatus.CANCELLED]
            )
            held = _sum(live, "amount") - _sum(released, "amount")
            assert _posted(kind=AccountKind.COMMITMENT, payee=payee) == -held

    @invariant()
    def in_transit_and_paid_hold_exactly_the_sent_and_paid_lines(self) -> None:
        for payee in self.payees:
            for currency in (Currency.CNY, Currency.HKD):
                lines = PaymentLine.objects.filter(payee=payee, currency=currency)
                for kind, status in ((AccountKind.IN_TRANSIT, LineStatus.SENT),
                                     (AccountKind.PAID, LineStatus.PAID)):  # fmt: skip
                    expected = -_sum(lines.filter(status=status), "amount")
                    assert _posted(kind=kind, payee=payee, currency=currency) == expected

    @invariant()
    def every_tranche_in_payment_has_exactly_one_line_saying_so(self) -> None:
        open_batch = ~Q(batch__status=BatchStatus.CANCELLED)
        for status, line_status in ((TrancheStatus.IN_BATCH, LineStatus.PENDING),
                                    (TrancheStatus.SENT, LineStatus.SENT),
                                    (TrancheStatus.PAID, LineStatus.PAID)):  # fmt: skip
            for tranche in Tranche.objects.filter(status=status):
                lines = tranche.lines.filter(open_batch, status=line_status)
                assert lines.count() == 1, (tranche.pk, status)

    @invariant()
    def the_fx_accounts_hold_exactly_the_conversions_of_hkd_lines_out(self) -> None:
        out = PaymentLine.objects.filter(
            currency=Currency.HKD, status__in=[LineStatus.SENT, LineStatus.PAID]
        )
        assert _posted(kind=AccountKind.FX) == -_sum(out, "amount_cny")
        assert _posted(kind=AccountKind.FX, currency=Currency.HKD) == _sum(out, "amount")

    @invariant()
    def the_audit_chain_verifies_against_the_ledger(self) -> None:
        assert audit_verify() is None


@pytest.mark.django_db
def test_random_ledger_work_never_unbalances_the_books_or_overspends_a_budget() -> None:
    with override_settings(WOTU_TWO_APPROVER_THRESHOLD=str(THRESHOLD)):
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=25,
                stateful_step_count=40,
                database=None,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
