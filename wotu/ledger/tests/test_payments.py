"""Payment batches: one finance officer prepares, others approve (two above the threshold),
the bank file goes out only when approved, the bank's return marks each line paid or failed,
a failed tranche is payable again; Hong Kong payees are paid in RMB or, when they ask, in HKD at
a recorded rate. After every step the trial balance is zero in every currency.

The helpers at the top (a Guangzhou-style world, payable tranches, more finance officers) are
shared by the other payment test modules."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from wotu.conftest import PASSWORD
from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, Role, User
from wotu.ledger.bankfiles import FileRowsError
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
    SourceKind,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.payments import (
    PaymentNotAllowed,
    approvals_needed,
    bank_return_import,
    batch_approve,
    batch_export,
    batch_prepare,
    batch_submit,
    charge_book,
)
from wotu.ledger.posting import IdempotencyConflict, account_for, balance, trial_balance
from wotu.ledger.services import (
    budget_allocate,
    budget_left,
    commitment_account,
    commitment_create,
    schedule_set,
    tranches_release,
)
from wotu.organisations.models import Organisation
from wotu.programmes.models import Programme
from wotu.programmes.tests.factories import programme_make

D = Decimal
PAY_DAY = dt.date(2019, 8, 1)  # the seed's first cross-border payment
_keys = count(1)


# --- shared helpers -------------------------------------------------------------------------


def finance_officer(username: str) -> User:
    user = User(username=username, role=Role.FINANCE_OFFICER)
    user.set_password(PASSWORD)
    user.save()
    return user


@dataclass
class World:
    programme: Programme
    source: FundingSource
    bob: User  # prepares
    fiona: User  # approves
    felix: User  # second approver


def world_make(*, bob: User, budget: str = "60000000.00") -> World:
    """Guangzhou's joint research fund: CNY 60 M a year from the city, allocated for 2019."""
    programme = programme_make(code="gz-joint-2019", year=2019)
    source = FundingSource.objects.create(
        code="gz-city", kind=SourceKind.CITY, name="广州市级", name_en="Guangzhou city"
    )
    budget_allocate(programme=programme, year=2019, source=source, amount=D(budget), actor=bob,
                    key="alloc-gz-2019")  # fmt: skip
    return World(programme, source, bob, finance_officer("fiona"), finance_officer("felix"))


def payee_account(org: Organisation, currency: str = "CNY", *, preferred: bool = True) -> Any:
    return PayeeAccount.objects.create(
        organisation=org, bank_name="中国银行" if currency == "CNY" else "Bank of China (HK)",
        account_number=f"6217{currency}{org.pk:04d}{next(_keys):04d}",
        account_name=org.name_en or org.name, currency=currency, preferred=preferred,
    )  # fmt: skip


def payable_make(world: World, payee: Organisation, amount: str) -> Tranche:
    """A committed award with one tranche due on the pay day, released (payable)."""
    n = next(_keys)
    commitment = commitment_create(
        award_type="test.award", award_id=str(n), programme=world.programme, year=2019,
        source=world.source, payee=payee, amount=D(amount), actor=world.bob, key=f"commit-{n}",
    )  # fmt: skip
    schedule_set(commitment=commitment, tranches=[{"due_on": PAY_DAY, "amount": D(amount)}],
                 actor=world.bob)  # fmt: skip
    tranches_release(today=PAY_DAY, actor=world.bob)
    tranche = commitment.tranches.get()
    assert tranche.status == TrancheStatus.PAYABLE
    return tranche


def hkd_rate(rate: str = "0.879300", on: dt.date = PAY_DAY) -> FxRate:
    return FxRate.objects.create(date=on, currency="HKD", rate=D(rate),
                                 source="PBoC central parity (test figure)")  # fmt: skip


def approved_batch(world: World, tranches: list[Tranche], key: str = "prep") -> PaymentBatch:
    batch = batch_prepare(tranches=tranches, actor=world.bob, key=key, today=PAY_DAY)
    batch_submit(batch=batch, actor=world.bob)
    for approver in (world.fiona, world.felix)[: approvals_needed(batch=batch)]:
        batch_approve(batch=batch, actor=approver)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED
    return batch


def return_csv(*rows: tuple[str, str, str]) -> bytes:
    lines = ["reference,status,message", *(",".join(r) for r in rows)]
    return ("\n".join(lines) + "\n").encode()


def zero_in_every_currency() -> bool:
    return all(total == 0 for total in trial_balance().values())


@pytest.fixture
def world(bob: User) -> World:
    return world_make(bob=bob)


# --- preparing --------------------------------------------------------------------------------


def test_a_batch_pays_each_tranche_into_the_payees_preferred_account(
    world: World, haina: Organisation, jiaodong: Organisation
) -> None:
    payee_account(haina, preferred=False)
    chosen = payee_account(haina)
    payee_account(jiaodong, preferred=False)  # no preferred account: its RMB account is used
    tranches = [payable_make(world, haina, "300000.00"), payable_make(world, jiaodong, "2.50")]
    batch = batch_prepare(tranches=tranches, actor=world.bob, key="p1", today=PAY_DAY)
    lines = list(batch.lines.order_by("pk"))
    assert batch.status == BatchStatus.DRAFT and batch.reference.startswith("PB20190801-")
    assert [x.reference for x in lines] == [f"{batch.reference}-001", f"{batch.reference}-002"]
    assert lines[0].bank_account == chosen.account_number and lines[0].currency == "CNY"
    assert [x.amount for x in lines] == [D("300000.00"), D("2.50")]
    assert {t.status for t in Tranche.objects.all()} == {TrancheStatus.IN_BATCH}
    assert AuditEvent.objects.get(action="batch.prepare").data["total"] == "300002.50"


def test_only_payable_tranches_go_into_a_batch(world: World, haina: Organisation) -> None:
    payee_account(haina)
    tranche = payable_make(world, haina, "100.00")
    batch_prepare(tranches=[tranche], actor=world.bob, key="first", today=PAY_DAY)
    with pytest.raises(WotuError, match=rf"only payable tranches .*#{tranche.pk} \(in_batch\)"):
        batch_prepare(tranches=[tranche], actor=world.bob, key="second", today=PAY_DAY)
    assert PaymentBatch.objects.count() == 1


def test_a_payee_without_a_bank_account_cannot_be_paid(world: World, haina: Organisation) -> None:
    tranche = payable_make(world, haina, "100.00")
    with pytest.raises(WotuError, match="has no bank account on record"):
        batch_prepare(tranches=[tranche], actor=world.bob, key="p", today=PAY_DAY)
    assert Tranche.objects.get().status == TrancheStatus.PAYABLE


def test_replaying_a_prepare_with_its_key_returns_the_same_batch(
    world: World, haina: Organisation
) -> None:
    payee_account(haina)
    one, two = payable_make(world, haina, "100.00"), payable_make(world, haina, "200.00")
    first = batch_prepare(tranches=[one, two], actor=world.bob, key="k", today=PAY_DAY)
    again = batch_prepare(tranches=[two.pk, one.pk], actor=world.bob, key="k", today=PAY_DAY)
    assert again.pk == first.pk and PaymentBatch.objects.count() == 1
    with pytest.raises(IdempotencyConflict, match="already used for a different request"):
        batch_prepare(tranches=[one], actor=world.bob, key="k", today=PAY_DAY)


def test_a_payment_in_hkd_without_a_rate_is_refused(world: World, hkust: Organisation) -> None:
    payee_account(hkust, "HKD")
    hkd_rate(on=PAY_DAY + dt.timedelta(days=1))  # only a later rate: it may not be used
    tranche = payable_make(world, hkust, "1000.00")
    with pytest.raises(WotuError, match="no HKD rate on or before 2019-08-01"):
        batch_prepare(tranches=[tranche], actor=world.bob, key="p", today=PAY_DAY)
    assert PaymentBatch.objects.count() == 0 and Tranche.objects.get().status == "payable"


# --- approving --------------------------------------------------------------------------------


def test_a_preparer_can_never_approve_their_own_batch(world: World, haina: Organisation) -> None:
    payee_account(haina)
    batch = batch_prepare(tranches=[payable_make(world, haina, "100.00")], actor=world.bob,
                          key="p", today=PAY_DAY)  # fmt: skip
    batch_submit(batch=batch, actor=world.bob)
    with pytest.raises(PaymentNotAllowed, match="never approve their own batch"):
        batch_approve(batch=batch, actor=world.bob)
    assert batch.approvals.count() == 0


def test_the_same_officer_cannot_approve_a_batch_twice(world: World, haina: Organisation) -> None:
    payee_account(haina)
    batch = batch_prepare(tranches=[payable_make(world, haina, "1000000.01")], actor=world.bob,
                          key="p", today=PAY_DAY)  # fmt: skip
    batch_submit(batch=batch, actor=world.bob)
    batch_approve(batch=batch, actor=world.fiona)
    with pytest.raises(WotuError, match=r"already approved batch .* another finance officer"):
        batch_approve(batch=batch, actor=world.fiona)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUBMITTED and batch.approvals.count() == 1


@pytest.mark.parametrize(
    ("amount", "threshold", "needed"),
    [
        ("1000000.00", None, 1),  # the default threshold: not above it
        ("1000000.01", None, 2),
        ("500.00", "499.99", 2),  # WOTU_TWO_APPROVER_THRESHOLD set lower
        ("500.00", "500", 1),
    ],
)
def test_batches_above_the_threshold_need_two_approvers_besides_the_preparer(
    world: World, haina: Organisation, settings: Any, amount: str, threshold: str | None,
    needed: int,
) -> None:  # fmt: skip
    if threshold is not None:
        settings.WOTU_TWO_APPROVER_THRESHOLD = D(threshold)
    payee_account(haina)
    batch = batch_prepare(tranches=[payable_make(world, haina, amount)], actor=world.bob,
                          key="p", today=PAY_DAY)  # fmt: skip
    batch_submit(batch=batch, actor=world.bob)
    batch = batch_approve(batch=batch, actor=world.fiona)
    assert batch.status == (BatchStatus.APPROVED if needed == 1 else BatchStatus.SUBMITTED)
    if needed == 2:
        with pytest.raises(WotuError, match=r"not approved yet \(1 of 2 approvals\)"):
            batch_export(batch=batch, actor=world.bob, key="e")
        batch = batch_approve(batch=batch, actor=world.felix)
        assert batch.status == BatchStatus.APPROVED
    events = AuditEvent.objects.filter(action="batch.approve").order_by("id")
    assert [e.data["needed"] for e in events] == [needed] * needed


def test_a_draft_batch_cannot_be_approved_before_it_is_submitted(
    world: World, haina: Organisation
) -> None:
    payee_account(haina)
    batch = batch_prepare(tranches=[payable_make(world, haina, "100.00")], actor=world.bob,
                          key="p", today=PAY_DAY)  # fmt: skip
    with pytest.raises(WotuError, match="only a submitted batch can be approved"):
        batch_approve(batch=batch, actor=world.fiona)


# --- exporting --------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["draft", "submitted"])
def test_an_unapproved_batch_cannot_be_exported(
    world: World, haina: Organisation, stage: str
) -> None:
    payee_account(haina)
    batch = batch_prepare(tranches=[payable_make(world, haina, "100.00")], actor=world.bob,
                          key="p", today=PAY_DAY)  # fmt: skip
    if stage == "submitted":
        batch_submit(batch=batch, actor=world.bob)
    with pytest.raises(WotuError, match=r"only an approved batch|not approved yet"):
        batch_export(batch=batch, actor=world.bob, key="e")
    assert not JournalEntry.objects.filter(kind=EntryKind.EXPORT).exists()


def test_exporting_posts_once_and_a_replay_gives_the_same_file(
    world: World, haina: Organisation
) -> None:
    payee_account(haina)
    batch = approved_batch(world, [payable_make(world, haina, "100.00")])
    content = batch_export(batch=batch, actor=world.bob, key="e")
    assert batch_export(batch=batch, actor=world.bob, key="e") == content
    assert JournalEntry.objects.filter(kind=EntryKind.EXPORT).count() == 1
    header, row = csv.reader(io.StringIO(content.decode()))
    assert header == ["payee", "bank_account", "amount", "currency", "purpose", "reference",
                      "bank_name"]  # fmt: skip
    assert row[0] == "Haina Robotics Co., Ltd." and row[2:4] == ["100.00", "CNY"]
    assert row[5] == f"{batch.reference}-001"
    with pytest.raises(WotuError, match="only an approved batch can be exported"):
        batch_export(batch=batch, actor=world.bob, key="another")
    assert AuditEvent.objects.filter(action="batch.export").count() == 1


# --- the bank's return ------------------------------------------------------------------------


def test_a_failed_line_goes_back_to_payable_and_can_be_paid_in_a_later_batch(
    world: World, haina: Organisation, jiaodong: Organisation
) -> None:
    payee_account(haina), payee_account(jiaodong)
    paid, failed = payable_make(world, haina, "300.00"), payable_make(world, jiaodong, "200.00")
    batch = approved_batch(world, [paid, failed])
    batch_export(batch=batch, actor=world.bob, key="e")
    ref = batch.reference
    answers = return_csv(
        (f"{ref}-001", "paid", "ok"), (f"{ref}-002", "failed", "账户已销户 account closed")
    )
    result = bank_return_import(batch=batch, actor=world.bob, key="r", data=answers)
    assert result == {"batch": batch.pk, "paid": 1, "failed": 1, "pending": 0,
                      "status": "settled"}  # fmt: skip
    paid.refresh_from_db()
    failed.refresh_from_db()
    assert (paid.status, failed.status) == (TrancheStatus.PAID, TrancheStatus.PAYABLE)
    commitment = failed.commitment
    assert balance(account=commitment_account(commitment=commitment, kind="payable")) == D("-200")
    assert batch.lines.get(reference=f"{ref}-002").bank_message == "账户已销户 account closed"
    assert zero_in_every_currency()
    later = approved_batch(world, [failed], key="later")
    assert later.lines.get().tranche_id == failed.pk
    assert {e.action for e in AuditEvent.objects.filter(action__startswith="payment.")} == {
        "payment.paid", "payment.failed"}  # fmt: skip


def test_a_bad_return_file_is_refused_whole_with_every_bad_row_named(
    world: World, haina: Organisation
) -> None:
    payee_account(haina)
    batch = approved_batch(world, [payable_make(world, haina, "100.00"),
                                   payable_make(world, haina, "50.00")])  # fmt: skip
    batch_export(batch=batch, actor=world.bob, key="e")
    ref = batch.reference
    data = return_csv((f"{ref}-001", "paid", ""), ("PB-NOPE-001", "paid", ""),
                      (f"{ref}-001", "failed", ""), (f"{ref}-002", "maybe", ""))  # fmt: skip
    with pytest.raises(FileRowsError) as refused:
        bank_return_import(batch=batch, actor=world.bob, key="r", data=data)
    assert [e.text_en() for e in refused.value.errors] == [
        f"row 3, column reference, value PB-NOPE-001: not a payment of batch {ref}",
        f"row 4, column reference, value {ref}-001: duplicates row 2: each payment may be"
        " answered once",
        "row 5, column status, value maybe: must be paid or failed",
    ]
    assert refused.value.errors[0].text_zh() == (
        f"第 3 行，列 reference，值 PB-NOPE-001：不是批次 {ref} 中的付款")  # fmt: skip
    assert not JournalEntry.objects.filter(kind=EntryKind.PAID).exists()
    assert set(batch.lines.values_list("status", flat=True)) == {LineStatus.SENT}


def test_a_paid_line_returned_again_is_refused(world: World, haina: Organisation) -> None:
    payee_account(haina)
    batch = approved_batch(world, [payable_make(world, haina, "100.00"),
                                   payable_make(world, haina, "50.00")])  # fmt: skip
    batch_export(batch=batch, actor=world.bob, key="e")
    ref = batch.reference
    first = bank_return_import(batch=batch, actor=world.bob, key="r1",
                               data=return_csv((f"{ref}-001", "paid", "")))  # fmt: skip
    assert (first["pending"], first["status"]) == (1, "exported")
    with pytest.raises(FileRowsError, match="already returned as paid in an earlier file"):
        bank_return_import(batch=batch, actor=world.bob, key="r2", data=return_csv(
            (f"{ref}-001", "failed", ""), (f"{ref}-002", "paid", "")))  # fmt: skip
    assert JournalEntry.objects.filter(kind=EntryKind.PAID).count() == 1


def test_a_return_amount_must_be_positive_and_match_the_line(
    world: World, haina: Organisation
) -> None:
    payee_account(haina)
    batch = approved_batch(world, [payable_make(world, haina, "100.00"),
                                   payable_make(world, haina, "50.00")])  # fmt: skip
    batch_export(batch=batch, actor=world.bob, key="e")
    ref = batch.reference
    data = (f"reference,status,message,amount\n{ref}-001,paid,,-100.00\n"
            f"{ref}-002,paid,,49.99\n").encode()  # fmt: skip
    with pytest.raises(FileRowsError) as refused:
        bank_return_import(batch=batch, actor=world.bob, key="r", data=data)
    assert [e.text_en() for e in refused.value.errors] == [
        "row 2, column amount, value -100.00: the amount must be greater than zero",
        "row 3, column amount, value 49.99: does not match the payment's 50.00 CNY",
    ]


def test_a_return_file_for_a_batch_not_sent_is_refused(world: World, haina: Organisation) -> None:
    payee_account(haina)
    batch = approved_batch(world, [payable_make(world, haina, "100.00")])
    with pytest.raises(WotuError, match="only a batch sent to the bank"):
        bank_return_import(batch=batch, actor=world.bob, key="r",
                           data=return_csv((f"{batch.reference}-001", "paid", "")))  # fmt: skip


# --- roles ------------------------------------------------------------------------------------

ACTIONS = ["prepare", "submit", "approve", "export", "return", "charge"]


@pytest.mark.parametrize("persona", ["alice", "carol", "dave", "frank", "gina"])
@pytest.mark.parametrize("action", ACTIONS)
def test_only_finance_officers_move_money(
    world: World, haina: Organisation, request: pytest.FixtureRequest, persona: str, action: str
) -> None:
    payee_account(haina)
    someone = request.getfixturevalue(persona)
    tranche = payable_make(world, haina, "100.00")
    batch = batch_prepare(tranches=[tranche], actor=world.bob, key="p", today=PAY_DAY)
    calls: dict[str, Callable[[], object]] = {
        "prepare": lambda: batch_prepare(tranches=[tranche], actor=someone, key="x"),
        "submit": lambda: batch_submit(batch=batch, actor=someone),
        "approve": lambda: batch_approve(batch=batch, actor=someone),
        "export": lambda: batch_export(batch=batch, actor=someone, key="x"),
        "return": lambda: bank_return_import(batch=batch, actor=someone, key="x", data=b""),
        "charge": lambda: charge_book(
            commitment=tranche.commitment, amount=D("1"), actor=someone, key="x"
        ),
    }
    with pytest.raises(PermissionDenied, match="only finance officers may"):
        calls[action]()
    assert not AuditEvent.objects.filter(actor=someone).exists()


# --- bank charges -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "reason"),
    [("-25.00", "must be greater than zero"), ("0", "must be greater than zero"),
     ("0.001", "more than two decimals"), ("60000000.00", "not enough for a CNY 60000000.00")],
)  # fmt: skip
def test_a_bank_charge_must_be_positive_and_within_the_budget(
    world: World, haina: Organisation, amount: str, reason: str
) -> None:
    commitment = payable_make(world, haina, "100.00").commitment
    with pytest.raises(WotuError, match=reason):
        charge_book(commitment=commitment, amount=D(amount), actor=world.bob, key="c")
    assert not JournalEntry.objects.filter(kind=EntryKind.CHARGE).exists()


def test_a_bank_charge_is_booked_to_the_projects_budget_once(
    world: World, hkust: Organisation
) -> None:
    commitment = payable_make(world, hkust, "1000.00").commitment
    left = budget_left(programme=world.programme, year=2019, source=world.source)
    for _ in range(2):
        charge_book(commitment=commitment, amount=D("150.00"), actor=world.bob, key="c",
                    memo="HK bank fee")  # fmt: skip
    assert budget_left(programme=world.programme, year=2019, source=world.source) == left - 150
    charges = commitment_account(commitment=commitment, kind=AccountKind.CHARGES)
    assert balance(account=charges) == D("-150.00") and zero_in_every_currency()


# --- the worked cross-border example ----------------------------------------------------------


def _pay_hkust(world: World, hkust: Organisation, key: str) -> tuple[PaymentBatch, Commitment]:
    tranche = payable_make(world, hkust, "38000000.00")
    batch = approved_batch(world, [tranche], key=f"prep-{key}")
    assert approvals_needed(batch=batch) == 2  # CNY 38 M is above the threshold
    content = batch_export(batch=batch, actor=world.bob, key=f"export-{key}")
    assert zero_in_every_currency()
    reference = list(csv.reader(io.StringIO(content.decode())))[1][5]
    bank_return_import(batch=batch, actor=world.bob, key=f"return-{key}",
                       data=return_csv((reference, "paid", "credited")))  # fmt: skip
    assert zero_in_every_currency() and audit_verify() is None
    return batch, tranche.commitment


def test_cny_38_million_to_hkust_in_rmb(world: World, hkust: Organisation) -> None:
    payee_account(hkust, "CNY")
    batch, commitment = _pay_hkust(world, hkust, "rmb")
    line = batch.lines.get()
    assert (line.currency, line.amount, line.fx_rate) == ("CNY", D("38000000.00"), None)
    assert trial_balance() == {"CNY": D("0.00")}
    paid = commitment_account(commitment=commitment, kind=AccountKind.PAID)
    assert balance(account=paid) == D("-38000000.00")


def test_cny_38_million_to_hkust_in_hkd_at_a_recorded_rate(
    world: World, hkust: Organisation
) -> None:
    payee_account(hkust, "CNY", preferred=False)
    payee_account(hkust, "HKD")  # HKUST asked to be paid in HKD
    hkd_rate("0.879300", on=PAY_DAY - dt.timedelta(days=3))  # the latest on or before
    hkd_rate("0.890000", on=PAY_DAY + dt.timedelta(days=1))  # too late to be used
    batch, commitment = _pay_hkust(world, hkust, "hkd")
    line = batch.lines.get()
    assert (line.currency, line.amount_cny, line.amount) == (
        "HKD", D("38000000.00"), D("43216194.70"))  # 38,000,000 / 0.8793, half-up  # fmt: skip
    assert (line.fx_rate, line.fx_date) == (D("0.879300"), dt.date(2019, 7, 29))
    assert line.fx_source == "PBoC central parity (test figure)"
    export = JournalEntry.objects.get(kind=EntryKind.EXPORT)
    legs = sorted((p.account.code, str(p.amount)) for p in export.postings.all())
    assert ("fx/CNY", "-38000000.00") in legs and ("fx/HKD", "43216194.70") in legs
    assert trial_balance() == {"CNY": D("0.00"), "HKD": D("0.00")}
    paid = commitment_account(commitment=commitment, kind=AccountKind.PAID, currency="HKD")
    assert balance(account=paid) == D("-43216194.70")
    assert balance(account=account_for(kind=AccountKind.FX, currency=Currency.CNY)) == D(
        "-38000000.00")  # fmt: skip


def test_a_failed_hkd_payment_is_payable_again_in_full_rmb(
    world: World, hkust: Organisation
) -> None:
    payee_account(hkust, "HKD")
    hkd_rate("0.879300")
    tranche = payable_make(world, hkust, "1000.00")
    batch = approved_batch(world, [tranche])
    batch_export(batch=batch, actor=world.bob, key="e")
    answers = return_csv((f"{batch.reference}-001", "failed", "SWIFT rejected"))
    bank_return_import(batch=batch, actor=world.bob, key="r", data=answers)
    payable = commitment_account(commitment=tranche.commitment, kind=AccountKind.PAYABLE)
    assert balance(account=payable) == D("-1000.00") and zero_in_every_currency()
    assert balance(account=account_for(kind=AccountKind.FX, currency="HKD")) == D("0.00")
    hkd_rate("0.900000", on=PAY_DAY + dt.timedelta(days=7))
    later = batch_prepare(tranches=[tranche], actor=world.bob, key="again",
                          today=PAY_DAY + dt.timedelta(days=7))  # fmt: skip
    assert later.lines.get().amount == D("1111.11")  # the later batch's own rate
