"""Reports read from the ledger: budget vs committed vs paid agrees with what was allocated,
committed and confirmed paid; a failed payment is not counted as paid; cross-border totals
keep both the CNY value and the HKD amount; a payee's statement adds up.

The world built here (through the real services) is shared by the view, access and open data
tests: Qingdao's programme with city and Laoshan money, a Guangzhou-style cross-border
programme paying HKUST in HKD, one batch prepared by bob and approved by fiona, and a bank
return where Jiaodong's payment failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.conftest import _user
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, Role, User
from wotu.ledger import payments, reports
from wotu.ledger.models import (
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
    SourceKind,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.posting import entry_reverse, trial_balance
from wotu.ledger.services import budget_allocate, commitment_create, schedule_set, tranches_release
from wotu.organisations.models import Organisation
from wotu.programmes.models import Programme
from wotu.programmes.tests.factories import programme_make

D = Decimal
HKD_RATE = D("0.920000")


@pytest.fixture
def fiona(db: None) -> User:
    """A second finance officer: approves what bob prepares."""
    return _user("fiona", Role.FINANCE_OFFICER)


@dataclass
class World:
    city: FundingSource
    laoshan: FundingSource
    qingdao: Programme
    guangzhou: Programme
    haina: Commitment
    jiaodong: Commitment
    hkust: Commitment
    batch: PaymentBatch | None = None


def source_make(code: str, kind: str, name: str, name_en: str, district: str = "") -> FundingSource:
    return FundingSource.objects.create(
        code=code, kind=kind, name=name, name_en=name_en, district_code=district
    )


def commit(
    programme: Programme, source: FundingSource, payee: Organisation, amount: str, actor: User
) -> Commitment:
    return commitment_create(
        award_type="test.award", award_id=f"{payee.pk}", programme=programme,
        year=programme.year, source=source, payee=payee, amount=D(amount), actor=actor,
        key=f"commit-{programme.code}-{payee.pk}-{source.code}",
    )  # fmt: skip


def accounts_make(*orgs: Organisation) -> None:
    """An RMB account for each payee; a Hong Kong payee also asks to be paid in HKD."""
    for org in orgs:
        hk = org.region == "HK"
        PayeeAccount.objects.create(
            organisation=org, bank_name="中国银行", account_number=f"6217000000{org.pk:06d}",
            account_name=org.name, currency=Currency.CNY, preferred=not hk,
        )  # fmt: skip
        if hk:
            PayeeAccount.objects.create(
                organisation=org, bank_name="Bank of China (Hong Kong)",
                account_number=f"012-875-{org.pk:08d}", account_name=org.name_en,
                currency=Currency.HKD, swift="BKCHHKHH", preferred=True,
            )  # fmt: skip


def world_committed(*, bob: User, haina: Organisation, jiaodong: Organisation,
                    hkust: Organisation) -> World:  # fmt: skip
    """Budgets allocated, three awards committed and scheduled, the first tranches payable."""
    city = source_make("qd-city", SourceKind.CITY, "青岛市级财政", "Qingdao city")
    laoshan = source_make("qd-laoshan", SourceKind.DISTRICT, "崂山区财政", "Laoshan", "370212")
    qingdao = programme_make(code="qd-wotu-2026", title="沃土计划", title_en="Wotu plan")
    guangzhou = programme_make(code="gz-hkmo-2026", title="穗港澳联合基础研究",
                               title_en="Guangzhou-HK-Macao joint research")  # fmt: skip
    for programme, source, amount in (
        (qingdao, city, "1000000.00"), (qingdao, laoshan, "500000.00"),
        (guangzhou, city, "40000000.00"),
    ):  # fmt: skip
        budget_allocate(programme=programme, year=2026, source=source, amount=D(amount),
                        actor=bob, key=f"alloc-{programme.code}-{source.code}")  # fmt: skip
    world = World(
        city=city, laoshan=laoshan, qingdao=qingdao, guangzhou=guangzhou,
        haina=commit(qingdao, city, haina, "300000.00", bob),
        jiaodong=commit(qingdao, city, jiaodong, "150000.00", bob),
        hkust=commit(guangzhou, city, hkust, "38000000.00", bob),
    )  # fmt: skip
    schedule_set(commitment=world.haina, actor=bob, tranches=[
        {"due_on": dt.date(2026, 1, 10), "amount": D("200000.00")},
        {"due_on": dt.date(2027, 1, 10), "amount": D("100000.00")}])  # fmt: skip
    schedule_set(
        commitment=world.jiaodong,
        actor=bob,
        tranches=[{"due_on": dt.date(2026, 1, 10), "amount": D("150000.00")}],
    )
    schedule_set(
        commitment=world.hkust,
        actor=bob,
        tranches=[{"due_on": dt.date(2026, 1, 10), "amount": D("38000000.00")}],
    )
    tranches_release(today=dt.date(2026, 6, 1), actor=bob)
    accounts_make(haina, jiaodong, hkust)
    FxRate.objects.create(date=dt.date(2026, 1, 5), currency=Currency.HKD, rate=HKD_RATE,
                          source="中国人民银行中间价 PBoC central parity")  # fmt: skip
    return world


def return_file(batch: PaymentBatch, failed: set[int]) -> bytes:
    """The bank's answer: every line paid except the payees in ``failed``."""
    rows = ["reference,status,message"]
    for line in batch.lines.order_by("pk"):
        status = "failed" if line.payee_id in failed else "paid"
        rows.append(f"{line.reference},{status},{'账户已冻结' if status == 'failed' else 'OK'}")
    return ("\n".join(rows) + "\n").encode()


def world_paid(world: World, *, bob: User, fiona: User) -> World:
    """Bob pays every payable tranche in one batch, fiona approves, the bank pays all but
    Jiaodong."""
    payable = list(Tranche.objects.filter(status=TrancheStatus.PAYABLE))
    batch = payments.batch_prepare(tranches=payable, actor=bob, key="prepare-1")
    payments.batch_submit(batch=batch, actor=bob)
    payments.batch_approve(batch=batch, actor=fiona)
    payments.batch_export(batch=batch, actor=bob, key="export-1")
    payments.bank_return_import(batch=batch, actor=bob, key="return-1",
                                data=return_file(batch, {world.jiaodong.payee_id}))  # fmt: skip
    world.batch = PaymentBatch.objects.get(pk=batch.pk)
    return world


@pytest.fixture
def committed(bob: User, haina: Organisation, jiaodong: Organisation, hkust: Organisation,
              settings: Any) -> World:  # fmt: skip
    # One batch for everything: above the threshold it would need two approvers, which the
    # payment tests cover; here one approver keeps the story short.
    settings.WOTU_TWO_APPROVER_THRESHOLD = "100000000"
    return world_committed(bob=bob, haina=haina, jiaodong=jiaodong, hkust=hkust)


@pytest.fixture
def paid(committed: World, bob: User, fiona: User) -> World:
    return world_paid(committed, bob=bob, fiona=fiona)


def _line(lines: list[reports.BudgetLine], programme: Programme,
          source: FundingSource) -> reports.BudgetLine:  # fmt: skip
    return next(x for x in lines if x.programme == programme and x.source == source)


# --- budget vs committed vs paid ---------------------------------------------------------------


BUDGET_TABLE = [
    # programme, source, allocated, committed, paid, left
    ("qingdao", "city", "1000000.00", "450000.00", "200000.00", "550000.00"),
    ("qingdao", "laoshan", "500000.00", "0.00", "0.00", "500000.00"),
    ("guangzhou", "city", "40000000.00", "38000000.00", "38000000.00", "2000000.00"),
]


@pytest.mark.parametrize("row", BUDGET_TABLE, ids=[f"{r[0]}-{r[1]}" for r in BUDGET_TABLE])
def test_each_budget_line_shows_allocated_committed_and_confirmed_paid(
    paid: World, row: tuple[str, ...]
) -> None:
    programme, source, allocated, committed, paid_cny, left = row
    line = _line(reports.budget_report(), getattr(paid, programme), getattr(paid, source))
    assert (str(line.allocated), str(line.committed), str(line.paid), str(line.left)) == (
        allocated, committed, paid_cny, left,
    )  # fmt: skip


def test_a_failed_payment_is_not_counted_as_paid_and_its_tranche_is_payable_again(
    paid: World,
) -> None:
    failed = paid.jiaodong.tranches.get()
    assert failed.status == TrancheStatus.PAYABLE
    assert failed.lines.get().status == LineStatus.FAILED
    assert reports.payee_statement(payee=paid.jiaodong.payee).paid == D("0")
    assert failed in reports.payable_tranches()


def test_the_report_can_be_narrowed_to_one_programme_year_and_source(paid: World) -> None:
    wanted = reports.BudgetFilter(
        year=2026, programme_id=paid.qingdao.pk, source_id=paid.laoshan.pk
    )
    lines = reports.budget_report(filters=wanted)
    assert [(x.programme.code, x.source.code) for x in lines] == [("qd-wotu-2026", "qd-laoshan")]
    assert reports.budget_report(filters=reports.BudgetFilter(year=2025)) == []


def test_a_reversed_commitment_is_no_longer_committed_and_its_money_is_free_again(
    committed: World, bob: User
) -> None:
    entry_reverse(entry=committed.jiaodong.entry, actor=bob, memo="award withdrawn")
    line = _line(reports.budget_report(), committed.qingdao, committed.city)
    assert (line.committed, line.left, line.allocated) == (
        D("300000.00"), D("700000.00"), D("1000000.00"),
    )  # fmt: skip
    statement = reports.payee_statement(payee=committed.jiaodong.payee)
    assert statement.commitments[0].reversed and statement.committed == D("0")


def test_totals_add_up_the_lines(paid: World) -> None:
    totals = reports.budget_totals(lines=reports.budget_report())
    assert (totals.allocated, totals.committed, totals.paid, totals.left) == (
        D("41500000.00"), D("38450000.00"), D("38200000.00"), D("3050000.00"),
    )  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    budget=st.integers(min_value=1, max_value=10_000_000),
    asks=st.lists(st.integers(min_value=1, max_value=5_000_000), min_size=1, max_size=6),
)
def test_allocated_is_always_left_plus_committed_and_nothing_is_overspent(
    bob: User, haina: Organisation, budget: int, asks: list[int]
) -> None:
    with transaction.atomic():
        city = source_make("hyp-city", SourceKind.CITY, "市级", "City")
        programme = programme_make(code="hyp-prog")
        budget_allocate(programme=programme, year=2026, source=city, amount=D(budget),
                        actor=bob, key="hyp-alloc")  # fmt: skip
        for n, ask in enumerate(asks):
            with contextlib.suppress(WotuError):  # refused: more than is left
                commitment_create(award_type="hyp", award_id=str(n), programme=programme,
                                  year=2026, source=city, payee=haina, amount=D(ask),
                                  actor=bob, key=f"hyp-{n}")  # fmt: skip
        (line,) = reports.budget_report()
        assert line.allocated == D(budget)
        assert line.left + line.committed == line.allocated
        assert D(0) <= line.committed <= line.allocated
        assert set(trial_balance().values()) == {D("0.00")}
        transaction.set_rollback(True)


# --- spending over time and cross-border ---------------------------------------------------------


def test_spending_over_time_counts_commitments_and_confirmed_payments_in_their_month(
    paid: World,
) -> None:
    series = reports.spending_over_time()
    month = timezone.localdate().strftime("%Y-%m")
    assert series.months == [month]
    assert series.committed == [D("38450000.00")]
    assert series.paid == series.paid_cumulative == [D("38200000.00")]


def test_months_without_money_are_shown_as_zero_between_the_first_and_the_last() -> None:
    assert reports._months_between("2025-11", "2026-02") == [
        "2025-11", "2025-12", "2026-01", "2026-02",
    ]  # fmt: skip


def test_cross_border_totals_keep_the_cny_value_and_the_hkd_amount_paid(paid: World) -> None:
    (row,) = reports.cross_border_report()
    assert row.payee == paid.hkust.payee and row.programme == paid.guangzhou
    assert row.year == timezone.localdate().year
    assert (row.currency, row.amount_cny) == ("HKD", D("38000000.00"))
    assert row.amount == D("41304347.83")  # 38,000,000 / 0.92, half-up to the cent
    (total,) = reports.cross_border_currency_totals(lines=[row])
    assert (total.currency, total.amount, total.amount_cny) == (
        "HKD", D("41304347.83"), D("38000000.00"),
    )  # fmt: skip
    assert reports.cross_border_report(year=2019) == []


def test_a_paid_line_records_when_the_bank_return_booked_it(paid: World) -> None:
    paid_entry = JournalEntry.objects.get(kind=EntryKind.PAID)
    assert paid.batch is not None
    lines = list(paid.batch.lines.all())
    assert {x.paid_at for x in lines if x.status == LineStatus.PAID} == {paid_entry.posted_at}
    assert [x.paid_at for x in lines if x.status == LineStatus.FAILED] == [None]


def test_a_payment_is_dated_by_when_it_was_paid_not_by_an_audit_event(paid: World) -> None:
    line = PaymentLine.objects.get(payee=paid.hkust.payee)
    PaymentLine.objects.filter(pk=line.pk).update(paid_at=dt.datetime(2021, 3, 5, 9, tzinfo=dt.UTC))
    (row,) = reports.cross_border_report(year=2021)
    assert (row.payee, row.amount_cny) == (paid.hkust.payee, D("38000000.00"))
    assert reports.cross_border_report(year=timezone.localdate().year) == []


def test_a_line_paid_before_paid_at_existed_is_dated_by_its_audit_event(paid: World) -> None:
    line = PaymentLine.objects.get(payee=paid.hkust.payee)
    PaymentLine.objects.filter(pk=line.pk).update(paid_at=None)
    event = AuditEvent.objects.get(action="payment.paid", subject_id=str(line.pk))
    line.refresh_from_db()
    assert reports.line_paid_on(lines=[line]) == {line.pk: timezone.localdate(event.at)}


def test_mainland_payees_are_not_cross_border(paid: World) -> None:
    payees = {row.payee.region for row in reports.cross_border_report()}
    assert payees == {"HK"}


# --- statements ----------------------------------------------------------------------------------


def test_a_payee_statement_adds_up_and_never_shows_a_whole_account_number(paid: World) -> None:
    statement = reports.payee_statement(payee=paid.haina.payee)
    assert (statement.committed, statement.paid, statement.outstanding) == (
        D("300000.00"), D("200000.00"), D("100000.00"),
    )  # fmt: skip
    (item,) = statement.commitments
    assert [t.status for t in item.tranches] == [TrancheStatus.PAID, TrancheStatus.PLANNED]
    (row,) = item.lines
    assert row.account == "•••• " + row.line.bank_account[-4:]
    assert row.paid_on == timezone.localdate()


def test_masking_keeps_only_the_last_four_digits() -> None:
    assert reports.masked_account("6217000000001234") == "•••• 1234"
    assert reports.masked_account("") == "—"
