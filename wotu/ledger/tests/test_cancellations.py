"""Taking work back before the money leaves: a batch not yet sent to the bank is cancelled and
its tranches can be paid in another batch; a commitment none of whose tranches is in payment is
cancelled with a reason and its budget is free again. The books balance and the audit chain
verifies after each; only finance officers may do either, from the service, the page or the API.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from wotu.conftest import PASSWORD
from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, User
from wotu.ledger.cancellations import batch_cancel, commitment_cancel
from wotu.ledger.models import (
    AccountKind,
    BatchStatus,
    Commitment,
    PaymentBatch,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.payments import (
    PaymentNotAllowed,
    bank_return_import,
    batch_export,
    batch_prepare,
    batch_submit,
)
from wotu.ledger.posting import balance, entry_reverse
from wotu.ledger.services import (
    budget_left,
    commitment_account,
    commitment_create,
    schedule_set,
    tranches_release,
)
from wotu.ledger.tests.test_payments import (
    PAY_DAY,
    World,
    approved_batch,
    hkd_rate,
    payable_make,
    payee_account,
    return_csv,
    world_make,
    zero_in_every_currency,
)
from wotu.organisations.models import Organisation

pytestmark = pytest.mark.django_db
D = Decimal
BUDGET = D("60000000.00")


@pytest.fixture
def world(bob: User) -> World:
    return world_make(bob=bob)


def _left(world: World) -> Decimal:
    return budget_left(programme=world.programme, year=2019, source=world.source)


def _batch_at(world: World, tranches: list[Tranche], stage: str) -> PaymentBatch:
    if stage == BatchStatus.APPROVED:
        return approved_batch(world, tranches)
    batch = batch_prepare(tranches=tranches, actor=world.bob, key=f"prep-{stage}", today=PAY_DAY)
    if stage == BatchStatus.SUBMITTED:
        batch = batch_submit(batch=batch, actor=world.bob)
    return batch


def _two_tranches(world: World, payee: Organisation, *, release: bool = True) -> Commitment:
    """CNY 300,000 for ``payee``: 200,000 due on the pay day (payable when released), 100,000
    due a year later (planned)."""
    commitment = commitment_create(
        award_type="test.award", award_id=f"two-{payee.pk}", programme=world.programme,
        year=2019, source=world.source, payee=payee, amount=D("300000.00"), actor=world.bob,
        key=f"commit-two-{payee.pk}",
    )  # fmt: skip
    schedule_set(commitment=commitment, actor=world.bob, tranches=[
        {"due_on": PAY_DAY, "amount": D("200000.00")},
        {"due_on": PAY_DAY + dt.timedelta(days=365), "amount": D("100000.00")},
    ])  # fmt: skip
    if release:
        tranches_release(today=PAY_DAY, actor=world.bob)
    return commitment


# --- batches -------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [BatchStatus.DRAFT, BatchStatus.SUBMITTED, BatchStatus.APPROVED])
def test_a_batch_not_yet_sent_is_cancelled_and_its_tranches_can_be_paid_in_another(
    world: World, haina: Organisation, stage: str
) -> None:
    payee_account(haina)
    tranches = [payable_make(world, haina, "100.00"), payable_make(world, haina, "250.00")]
    batch = _batch_at(world, tranches, stage)
    cancelled = batch_cancel(batch=batch, actor=world.fiona, key="cancel-1")
    assert cancelled.status == BatchStatus.CANCELLED
    assert {t.status for t in Tranche.objects.all()} == {TrancheStatus.PAYABLE}
    event = AuditEvent.objects.get(action="batch.cancel")
    assert event.data["total"] == "350.00" and sorted(event.data["tranches"]) == sorted(
        t.pk for t in tranches
    )
    # a double click replays; the tranches go into a new batch
    assert batch_cancel(batch=batch, actor=world.fiona, key="cancel-1").pk == batch.pk
    again = batch_prepare(tranches=tranches, actor=world.bob, key="prep-again", today=PAY_DAY)
    assert again.lines.count() == 2 and zero_in_every_currency() and audit_verify() is None


@pytest.mark.parametrize("stage", ["exported", "settled", "cancelled"])
def test_a_batch_sent_to_the_bank_or_already_cancelled_cannot_be_cancelled(
    world: World, haina: Organisation, stage: str
) -> None:
    payee_account(haina)
    tranche = payable_make(world, haina, "100.00")
    batch = approved_batch(world, [tranche])
    if stage == "cancelled":
        batch_cancel(batch=batch, actor=world.bob, key="first")
    else:
        batch_export(batch=batch, actor=world.bob, key="export")
    if stage == "settled":
        data = return_csv((f"{batch.reference}-001", "paid", "ok"))
        bank_return_import(batch=batch, data=data, actor=world.bob, key="return")
    status = Tranche.objects.get().status
    with pytest.raises(WotuError, match=f"batch {batch.reference} is {stage}; only a draft"):
        batch_cancel(batch=batch, actor=world.bob, key="second")
    assert Tranche.objects.get().status == status


def test_only_finance_officers_cancel_batches(
    world: World, haina: Organisation, alice: User
) -> None:
    payee_account(haina)
    batch = _batch_at(world, [payable_make(world, haina, "100.00")], BatchStatus.DRAFT)
    with pytest.raises(PaymentNotAllowed, match="only finance officers may cancel payment batches"):
        batch_cancel(batch=batch, actor=alice, key="k")
    assert PaymentBatch.objects.get().status == BatchStatus.DRAFT


# --- commitments ---------------------------------------------------------------------------------


def test_cancelling_a_commitment_frees_its_budget_and_cancels_every_tranche(
    world: World, haina: Organisation
) -> None:
    commitment = _two_tranches(world, haina)
    assert _left(world) == BUDGET - D("300000.00")
    commitment_cancel(commitment=commitment, actor=world.fiona, key="c", reason="award withdrawn")
    assert _left(world) == BUDGET
    assert {t.status for t in commitment.tranches.all()} == {TrancheStatus.CANCELLED}
    for kind in (AccountKind.COMMITMENT, AccountKind.PAYABLE):
        assert balance(account=commitment_account(commitment=commitment, kind=kind)) == 0
    event = AuditEvent.objects.get(action="commitment.cancel")
    assert event.data["reason"] == "award withdrawn" and len(event.data["entries"]) == 2
    # nothing of it is ever released or scheduled again
    assert tranches_release(today=PAY_DAY + dt.timedelta(days=999), actor=world.bob) == []
    with pytest.raises(WotuError, match="was reversed"):
        schedule_set(commitment=commitment, actor=world.bob,
                     tranches=[{"due_on": PAY_DAY, "amount": D("300000.00")}])  # fmt: skip
    assert zero_in_every_currency() and audit_verify() is None


def test_an_unscheduled_commitment_is_cancelled_too(world: World, haina: Organisation) -> None:
    commitment = commitment_create(
        award_type="test.award", award_id="bare", programme=world.programme, year=2019,
        source=world.source, payee=haina, amount=D("5.00"), actor=world.bob, key="bare",
    )  # fmt: skip
    commitment_cancel(commitment=commitment, actor=world.bob, key="c", reason="duplicate award")
    assert _left(world) == BUDGET and zero_in_every_currency()


def test_a_commitment_with_a_tranche_in_a_batch_is_refused_until_the_batch_is_cancelled(
    world: World, haina: Organisation
) -> None:
    payee_account(haina)
    commitment = _two_tranches(world, haina)
    due = commitment.tranches.get(order=1)
    batch = _batch_at(world, [due], BatchStatus.SUBMITTED)
    with pytest.raises(WotuError, match=rf"has tranches in payment \(#{due.pk} \(in_batch\)\)"):
        commitment_cancel(commitment=commitment, actor=world.bob, key="c1", reason="withdrawn")
    assert _left(world) == BUDGET - D("300000.00")
    batch_cancel(batch=batch, actor=world.bob, key="cancel-batch")
    commitment_cancel(commitment=commitment, actor=world.bob, key="c2", reason="withdrawn")
    assert _left(world) == BUDGET and audit_verify() is None


def test_a_payment_that_failed_in_hkd_leaves_a_commitment_that_cancels_cleanly(
    world: World, hkust: Organisation
) -> None:
    payee_account(hkust, "HKD")
    hkd_rate()
    commitment = _two_tranches(world, hkust)
    batch = approved_batch(world, [commitment.tranches.get(order=1)])
    batch_export(batch=batch, actor=world.bob, key="export")
    data = return_csv((f"{batch.reference}-001", "failed", "account closed"))
    bank_return_import(batch=batch, data=data, actor=world.bob, key="return")
    commitment_cancel(commitment=commitment, actor=world.bob, key="c", reason="project ended")
    assert _left(world) == BUDGET
    assert zero_in_every_currency() and audit_verify() is None


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_commitment_is_never_cancelled_without_a_reason(
    world: World, haina: Organisation, reason: str
) -> None:
    commitment = _two_tranches(world, haina)
    with pytest.raises(WotuError, match="a reason is required"):
        commitment_cancel(commitment=commitment, actor=world.bob, key="c", reason=reason)
    assert not commitment.tranches.filter(status=TrancheStatus.CANCELLED).exists()


def test_a_commitment_is_cancelled_once_and_only_by_a_finance_officer(
    world: World, haina: Organisation, alice: User
) -> None:
    commitment = _two_tranches(world, haina)
    with pytest.raises(PaymentNotAllowed, match="only finance officers may cancel commitments"):
        commitment_cancel(commitment=commitment, actor=alice, key="a", reason="withdrawn")
    commitment_cancel(commitment=commitment, actor=world.bob, key="c", reason="withdrawn")
    commitment_cancel(commitment=commitment, actor=world.bob, key="c", reason="withdrawn")  # replay
    with pytest.raises(WotuError, match="was already cancelled or reversed"):
        commitment_cancel(commitment=commitment, actor=world.bob, key="d", reason="again")
    assert _left(world) == BUDGET


def test_a_withdrawn_awards_planned_tranches_are_never_released(
    world: World, haina: Organisation
) -> None:
    commitment = _two_tranches(world, haina, release=False)
    entry_reverse(entry=commitment.entry, actor=world.bob, memo="award withdrawn")
    assert tranches_release(today=PAY_DAY + dt.timedelta(days=999), actor=world.bob) == []
    held = commitment_account(commitment=commitment, kind=AccountKind.COMMITMENT)
    assert balance(account=held) == 0 and zero_in_every_currency()


# --- the pages -----------------------------------------------------------------------------------


def _page(client: Client, username: str, url: str) -> str:
    assert client.login(username=username, password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _key(page: str, action: str) -> str:
    match = re.search(rf'action="[^"]*/{action}/"[^>]*>.*?name="key" value="([^"]+)"', page, re.S)
    assert match, f"no {action} form on the page"
    return match.group(1)


def test_a_finance_officer_cancels_a_batch_from_its_page(
    world: World, haina: Organisation, client: Client
) -> None:
    payee_account(haina)
    batch = _batch_at(world, [payable_make(world, haina, "100.00")], BatchStatus.SUBMITTED)
    url = reverse("ledger:batch", args=[batch.pk])
    page = _page(client, "fiona", url)
    response = client.post(reverse("ledger:batch_cancel", args=[batch.pk]),
                           {"key": _key(page, "cancel")}, follow=True)  # fmt: skip
    assert response.status_code == 200
    assert PaymentBatch.objects.get().status == BatchStatus.CANCELLED
    assert 'data-testid="cancel"' not in response.content.decode()  # nothing left to cancel


def test_a_bureau_officer_sees_no_cancel_button_and_may_not_cancel(
    world: World, haina: Organisation, client: Client, alice: User
) -> None:
    payee_account(haina)
    batch = _batch_at(world, [payable_make(world, haina, "100.00")], BatchStatus.DRAFT)
    commitment = Tranche.objects.get().commitment
    assert 'data-testid="cancel"' not in _page(client, "alice", f"/ledger/batches/{batch.pk}/")
    assert 'data-testid="cancel"' not in _page(
        client, "alice", reverse("ledger:commitment", args=[commitment.pk])
    )
    cancel_batch = client.post(reverse("ledger:batch_cancel", args=[batch.pk]), {"key": "k"})
    cancel_commitment = client.post(reverse("ledger:commitment_cancel", args=[commitment.pk]),
                                    {"key": "k2", "reason": "no"})  # fmt: skip
    assert (cancel_batch.status_code, cancel_commitment.status_code) == (403, 403)
    assert PaymentBatch.objects.get().status == BatchStatus.DRAFT


def test_a_finance_officer_cancels_a_commitment_from_its_page_giving_a_reason(
    world: World, haina: Organisation, client: Client
) -> None:
    commitment = _two_tranches(world, haina)
    url = reverse("ledger:commitment", args=[commitment.pk])
    page = _page(client, "bob", url)
    cancel = reverse("ledger:commitment_cancel", args=[commitment.pk])
    key = _key(page, "cancel")
    refused = client.post(cancel, {"key": key, "reason": ""}, follow=True)
    assert "Give a reason" in refused.content.decode() or "请填写" in refused.content.decode()
    assert _left(world) == BUDGET - D("300000.00")
    done = client.post(cancel, {"key": key, "reason": "项目终止"}, follow=True).content.decode()
    assert 'data-testid="cancelled"' in done and 'data-testid="cancel-form"' not in done
    assert _left(world) == BUDGET
