"""Budgets, commitments, schedules and releases: an award is committed only against money that
is left, split between city and district to the fen, and paid out on schedule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, User
from wotu.ledger.models import (
    AccountKind,
    Commitment,
    EntryKind,
    FundingSource,
    JournalEntry,
    SourceKind,
    TrancheStatus,
)
from wotu.ledger.posting import IdempotencyConflict, balance, entry_reverse, trial_balance
from wotu.ledger.services import (
    amount_split,
    budget_allocate,
    budget_left,
    commitment_account,
    commitment_create,
    commitments_from_decision,
    commitments_from_policy_run,
    schedule_set,
    tranches_release,
)
from wotu.organisations.models import Organisation
from wotu.policies.models import PolicyRun, RunKind, RunResult, RunStatus
from wotu.programmes.models import Award, MilestoneStatus, Programme
from wotu.programmes.tests.factories import application_make, call_make, programme_make

D = Decimal


@pytest.fixture
def city(db: None) -> FundingSource:
    return FundingSource.objects.create(code="qd-city", kind=SourceKind.CITY, name="青岛市级",
                                        name_en="Qingdao city")  # fmt: skip


@pytest.fixture
def laoshan(db: None) -> FundingSource:
    return FundingSource.objects.create(code="qd-laoshan", kind=SourceKind.DISTRICT, name="崂山区",
                                        name_en="Laoshan", district_code="370212")  # fmt: skip


@pytest.fixture
def shinan(db: None) -> FundingSource:
    return FundingSource.objects.create(code="qd-shinan", kind=SourceKind.DISTRICT, name="市南区",
                                        name_en="Shinan", district_code="370203")  # fmt: skip


@pytest.fixture
def programme(db: None) -> Programme:
    return programme_make(code="qd-wotu-2026", year=2026)


def _allocate(programme: Programme, source: FundingSource, amount: str, actor: User) -> None:
    budget_allocate(programme=programme, year=2026, source=source, amount=D(amount), actor=actor,
                    key=f"alloc-{source.code}-{amount}")  # fmt: skip


def _commit(programme: Programme, source: FundingSource, payee: Organisation, amount: str,
            actor: User, award: str = "1") -> Commitment:  # fmt: skip
    return commitment_create(award_type="test.award", award_id=award, programme=programme,
                             year=2026, source=source, payee=payee, amount=D(amount),
                             actor=actor, key=f"commit-{award}-{source.code}")  # fmt: skip


def test_an_allocation_is_what_is_left_to_commit_and_is_booked_once_per_key(
    bob: User, programme: Programme, city: FundingSource
) -> None:
    _allocate(programme, city, "1000000.00", bob)
    _allocate(programme, city, "1000000.00", bob)  # a retry with the same key
    assert budget_left(programme=programme, year=2026, source=city) == D("1000000.00")
    assert JournalEntry.objects.filter(kind=EntryKind.ALLOCATE).count() == 1
    event = AuditEvent.objects.get(action="budget.allocate")
    assert event.data["amount"] == "1000000.00"
    with pytest.raises(IdempotencyConflict):
        budget_allocate(programme=programme, year=2026, source=city, amount=D("2"), actor=bob,
                        key="alloc-qd-city-1000000.00")  # fmt: skip


def test_a_commitment_reduces_what_is_left_and_records_the_award(
    bob: User, programme: Programme, city: FundingSource, haina: Organisation
) -> None:
    _allocate(programme, city, "500000.00", bob)
    commitment = _commit(programme, city, haina, "200000.00", bob)
    assert budget_left(programme=programme, year=2026, source=city) == D("300000.00")
    held = commitment_account(commitment=commitment, kind=AccountKind.COMMITMENT)
    assert balance(account=held) == D("-200000.00")
    assert AuditEvent.objects.get(action="commitment.create").data["award"] == "test.award:1"
    assert trial_balance() == {"CNY": D("0.00")}


def test_a_commitment_beyond_what_is_left_is_refused_and_books_nothing(
    bob: User, programme: Programme, city: FundingSource, haina: Organisation
) -> None:
    _allocate(programme, city, "500000.00", bob)
    _commit(programme, city, haina, "499999.99", bob, award="1")
    with pytest.raises(WotuError, match=r"has CNY 0\.01 left, not enough to commit CNY 0\.02"):
        _commit(programme, city, haina, "0.02", bob, award="2")
    assert Commitment.objects.count() == 1
    assert _commit(programme, city, haina, "0.01", bob, award="3").amount == D("0.01")
    assert budget_left(programme=programme, year=2026, source=city) == D("0.00")


def test_nothing_can_be_committed_from_a_budget_never_allocated(
    bob: User, programme: Programme, city: FundingSource, haina: Organisation
) -> None:
    with pytest.raises(WotuError, match=r"has CNY 0\.00 left"):
        _commit(programme, city, haina, "1.00", bob)


def test_an_award_is_never_committed_twice_from_the_same_source(
    bob: User, programme: Programme, city: FundingSource, haina: Organisation
) -> None:
    _allocate(programme, city, "500000.00", bob)
    _commit(programme, city, haina, "100.00", bob)
    with pytest.raises(WotuError, match="already committed from qd-city"):
        commitment_create(award_type="test.award", award_id="1", programme=programme, year=2026,
                          source=city, payee=haina, amount=D("100.00"), actor=bob,
                          key="another-key")  # fmt: skip
    assert budget_left(programme=programme, year=2026, source=city) == D("499900.00")


@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("99999999.99"), places=2),
    weights=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=5),
)
def test_a_split_never_loses_or_creates_a_fen(amount: Decimal, weights: list[int]) -> None:
    total = sum(weights)
    shares = [D(w) / D(total) for w in weights[:-1]]
    shares.append(D(1) - sum(shares, D(0)))
    parts = amount_split(amount=amount, shares=shares)
    assert sum(parts, D(0)) == amount
    for part, share in zip(parts, shares, strict=True):
        assert part >= 0
        assert abs(part - amount * share) <= D("0.01")


def _finished_run(rows: list[tuple[Organisation, str]]) -> PolicyRun:
    run = PolicyRun.objects.create(policy_id="qingdao.wotu", kind=RunKind.EVALUATE, year=2026,
                                   status=RunStatus.RUNNING)  # fmt: skip
    for organisation, amount in rows:
        RunResult.objects.create(run=run, organisation=organisation, uscc=organisation.uscc or "",
                                 district_code=organisation.district_code, scheme="reward",
                                 amount=D(amount))  # fmt: skip
    run.status = RunStatus.DONE
    run.save()
    return run


def test_a_policy_run_is_committed_half_city_half_own_district_to_the_fen(
    bob: User, programme: Programme, city: FundingSource, laoshan: FundingSource,
    shinan: FundingSource, haina: Organisation, jiaodong: Organisation,
) -> None:  # fmt: skip
    for source in (city, laoshan, shinan):
        _allocate(programme, source, "1000000.00", bob)
    run = _finished_run([(haina, "100000.01"), (jiaodong, "0.01")])
    split: dict[FundingSource | str, Decimal] = {city: D("0.5"), "district": D("0.5")}
    made = commitments_from_policy_run(run=run, programme=programme, split=split, actor=bob,
                                       key="run-1")  # fmt: skip
    got = sorted((c.payee.name_en[:5], c.source.code, str(c.amount)) for c in made)
    assert got == [
        ("Haina", "qd-city", "50000.01"),
        ("Haina", "qd-laoshan", "50000.00"),
        ("Jiaod", "qd-city", "0.01"),  # half a fen rounds up; the district's share is zero
    ]
    assert budget_left(programme=programme, year=2026, source=laoshan) == D("950000.00")
    again = commitments_from_policy_run(run=run, programme=programme, split=split, actor=bob,
                                        key="run-1")  # fmt: skip
    assert [c.pk for c in again] == [c.pk for c in made]


def test_a_policy_run_beyond_one_budget_commits_nothing_at_all(
    bob: User, programme: Programme, city: FundingSource, laoshan: FundingSource,
    haina: Organisation,
) -> None:  # fmt: skip
    _allocate(programme, city, "1000000.00", bob)
    _allocate(programme, laoshan, "10.00", bob)
    run = _finished_run([(haina, "100.00")])
    with pytest.raises(WotuError, match=r"budget/qd-wotu-2026/2026/qd-laoshan/CNY has CNY 10\.00"):
        commitments_from_policy_run(run=run, programme=programme, key="run-2", actor=bob,
                                    split={city: D("0.5"), "district": D("0.5")})  # fmt: skip
    assert not Commitment.objects.exists()


def test_a_firm_in_a_district_without_its_own_money_stops_the_run_commitment(
    bob: User, programme: Programme, city: FundingSource, jiaodong: Organisation
) -> None:
    _allocate(programme, city, "1000000.00", bob)
    run = _finished_run([(jiaodong, "100.00")])
    with pytest.raises(WotuError, match="no district funding source for district 370203"):
        commitments_from_policy_run(run=run, programme=programme, key="run-3", actor=bob,
                                    split={city: D("0.5"), "district": D("0.5")})  # fmt: skip


def test_committee_awards_are_committed_once_each(
    bob: User, programme: Programme, city: FundingSource, haina: Organisation,
    jiaodong: Organisation,
) -> None:  # fmt: skip
    _allocate(programme, city, "1000000.00", bob)
    call = call_make(programme=programme)
    for org, amount in ((haina, "300000.00"), (jiaodong, "150000.00")):
        application = application_make(call=call, organisation=org)
        decided_at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
        Award.objects.create(application=application, amount=D(amount), decided_at=decided_at)
    made = commitments_from_decision(call=call, source=city, actor=bob, key="decision-1")
    assert sorted(str(c.amount) for c in made) == ["150000.00", "300000.00"]
    assert commitments_from_decision(call=call, source=city, actor=bob, key="decision-2") == []
    assert budget_left(programme=programme, year=2026, source=city) == D("550000.00")


def test_tranches_become_payable_when_due_and_their_milestone_is_accepted(
    bob: User, programme: Programme, city: FundingSource, haina: Organisation
) -> None:
    _allocate(programme, city, "1000000.00", bob)
    commitment = _commit(programme, city, haina, "300000.00", bob)
    application = application_make(call=call_make(programme=programme), organisation=haina)
    milestone = application.milestones.create(order=1, title="样机", due_on=dt.date(2026, 9, 1),
                                              amount=D("200000.00"))  # fmt: skip
    first, second = schedule_set(commitment=commitment, actor=bob, tranches=[
        {"due_on": dt.date(2026, 7, 1), "amount": D("100000.00")},
        {"due_on": dt.date(2026, 9, 1), "amount": D("200000.00"), "milestone_id": milestone.pk},
    ])  # fmt: skip
    assert tranches_release(today=dt.date(2026, 6, 30), actor=bob) == []
    assert [t.pk for t in tranches_release(today=dt.date(2026, 9, 30), actor=bob)] == [first.pk]
    milestone.status = MilestoneStatus.ACCEPTED
    milestone.save()
    assert [t.pk for t in tranches_release(today=dt.date(2026, 9, 30), actor=bob)] == [second.pk]
    assert tranches_release(today=dt.date(2026, 9, 30), actor=bob) == []
    second.refresh_from_db()
    assert second.status == TrancheStatus.PAYABLE
    payable = commitment_account(commitment=commitment, kind=AccountKind.PAYABLE)
    assert balance(account=payable) == D("-300000.00")
    assert trial_balance() == {"CNY": D("0.00")}


def test_a_schedule_must_add_up_and_freezes_once_a_tranche_is_payable(
    bob: User, programme: Programme, city: FundingSource, haina: Organisation
) -> None:
    _allocate(programme, city, "1000000.00", bob)
    commitment = _commit(programme, city, haina, "300000.00", bob)
    with pytest.raises(WotuError, match=r"add up to CNY 299999\.99, not the commitment's"):
        schedule_set(commitment=commitment, actor=bob, tranches=[
            {"due_on": dt.date(2026, 7, 1), "amount": D("299999.99")}])  # fmt: skip
    schedule_set(commitment=commitment, actor=bob, tranches=[
        {"due_on": dt.date(2026, 7, 1), "amount": D("300000.00")}])  # fmt: skip
    tranches_release(today=dt.date(2026, 7, 1), actor=bob)
    with pytest.raises(WotuError, match="schedule can no longer change"):
        schedule_set(commitment=commitment, actor=bob, tranches=[
            {"due_on": dt.date(2026, 8, 1), "amount": D("300000.00")}])  # fmt: skip


def test_a_withdrawn_award_frees_its_budget_and_can_no_longer_be_scheduled(
    bob: User, programme: Programme, city: FundingSource, haina: Organisation
) -> None:
    _allocate(programme, city, "1000.00", bob)
    commitment = _commit(programme, city, haina, "400.00", bob)
    entry_reverse(entry=commitment.entry, actor=bob, memo="award withdrawn")
    assert budget_left(programme=programme, year=2026, source=city) == D("1000.00")
    with pytest.raises(WotuError, match="was reversed"):
        schedule_set(commitment=commitment, actor=bob, tranches=[
            {"due_on": dt.date(2026, 7, 1), "amount": D("400.00")}])  # fmt: skip
