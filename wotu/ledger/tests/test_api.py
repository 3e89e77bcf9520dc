"""The payments API under /api/ledger/: batches from prepare to the bank's return with an
Idempotency-Key on every money-moving POST, the FX rate table, and commitments read by role."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from wotu.core.models import User
from wotu.ledger.models import (
    EntryKind,
    FxRate,
    JournalEntry,
    PaymentBatch,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.posting import trial_balance
from wotu.ledger.tests.test_payments import (
    World,
    payable_make,
    payee_account,
    world_make,
)
from wotu.organisations.models import Organisation


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, body: dict[str, Any] | None = None, key: str = "") -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(url, json.dumps(body or {}), content_type="application/json",
                       headers=headers)  # fmt: skip


def upload(client: Client, url: str, content: bytes, name: str, key: str = "", **form: Any) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(url, {"file": SimpleUploadedFile(name, content), **form}, headers=headers)


@pytest.fixture
def world(bob: User) -> World:
    return world_make(bob=bob)


@pytest.fixture
def tranche(world: World, haina: Organisation) -> Tranche:
    payee_account(haina)
    return payable_make(world, haina, "250000.00")


def test_a_batch_goes_from_prepare_to_the_banks_return_through_the_api(
    world: World, tranche: Tranche
) -> None:
    bob, fiona = client_for(world.bob), client_for(world.fiona)
    payable = bob.get("/api/ledger/tranches/payable").json()
    assert [t["id"] for t in payable] == [tranche.pk] and payable[0]["amount"] == "250000.00"
    created = post(bob, "/api/ledger/batches", {"tranches": [tranche.pk]}, key="k-prepare")
    assert created.status_code == 201, created.json()
    batch = created.json()
    assert batch["status"] == "draft" and batch["total_cny"] == "250000.00"
    assert batch["lines"][0]["amount"] == "250000.00" and batch["approvals_needed"] == 1
    url = f"/api/ledger/batches/{batch['id']}"
    assert post(bob, f"{url}/submit", key="k-submit").json()["status"] == "submitted"
    refused = post(bob, f"{url}/approve", key="k-self")
    assert refused.status_code == 403 and "never approve their own" in refused.json()["detail_en"]
    approved = post(fiona, f"{url}/approve", key="k-approve").json()
    assert approved["status"] == "approved" and approved["approvals"][0]["approver"] == "fiona"
    exported = post(bob, f"{url}/export", key="k-export")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    assert exported["Content-Disposition"] == f'attachment; filename="{batch["reference"]}.csv"'
    assert bob.get(f"{url}/file").content == exported.content
    data = f"reference,status,message\n{batch['reference']}-001,paid,ok\n".encode()
    returned = upload(bob, f"{url}/return", data, "return.csv", key="k-return")
    assert returned.json() == {"batch": batch["id"], "paid": 1, "failed": 0, "pending": 0,
                               "status": "settled"}  # fmt: skip
    assert bob.get(url).json()["lines"][0]["status"] == "paid"
    assert all(total == 0 for total in trial_balance().values())


def test_a_money_moving_post_without_an_idempotency_key_is_refused(
    world: World, tranche: Tranche
) -> None:
    response = post(client_for(world.bob), "/api/ledger/batches", {"tranches": [tranche.pk]})
    assert response.status_code == 422
    assert "Idempotency-Key header is missing" in response.json()["detail_en"]
    assert "幂等键" in response.json()["detail_zh"] and PaymentBatch.objects.count() == 0


def test_a_replay_gets_the_same_response_and_another_body_under_the_key_is_refused(
    world: World, tranche: Tranche, haina: Organisation
) -> None:
    bob = client_for(world.bob)
    first = post(bob, "/api/ledger/batches", {"tranches": [tranche.pk]}, key="k1")
    again = post(bob, "/api/ledger/batches", {"tranches": [tranche.pk]}, key="k1")
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert PaymentBatch.objects.count() == 1
    other = payable_make(world, haina, "1.00")
    conflict = post(bob, "/api/ledger/batches", {"tranches": [other.pk]}, key="k1")
    assert conflict.status_code == 409
    assert "already used for a different request" in conflict.json()["detail_en"]


def test_an_export_replayed_with_its_key_downloads_the_same_file_and_posts_once(
    world: World, tranche: Tranche
) -> None:
    bob = client_for(world.bob)
    batch = post(bob, "/api/ledger/batches", {"tranches": [tranche.pk]}, key="p").json()
    post(bob, f"/api/ledger/batches/{batch['id']}/submit", key="s")
    post(client_for(world.fiona), f"/api/ledger/batches/{batch['id']}/approve", key="a")
    first = post(bob, f"/api/ledger/batches/{batch['id']}/export", key="e")
    again = post(bob, f"/api/ledger/batches/{batch['id']}/export", key="e")
    assert first.content == again.content and again.status_code == 200
    assert JournalEntry.objects.filter(kind=EntryKind.EXPORT).count() == 1
    another = post(bob, f"/api/ledger/batches/{batch['id']}/export", key="e2")
    assert another.status_code == 400 and "only an approved batch" in another.json()["detail_en"]


def test_a_bad_return_file_is_refused_with_every_bad_row(world: World, tranche: Tranche) -> None:
    bob = client_for(world.bob)
    batch = post(bob, "/api/ledger/batches", {"tranches": [tranche.pk]}, key="p").json()
    post(bob, f"/api/ledger/batches/{batch['id']}/submit", key="s")
    post(client_for(world.fiona), f"/api/ledger/batches/{batch['id']}/approve", key="a")
    post(bob, f"/api/ledger/batches/{batch['id']}/export", key="e")
    data = b"reference,status,message\nPB-X-001,paid,\n"
    response = upload(bob, f"/api/ledger/batches/{batch['id']}/return", data, "r.csv", key="r")
    assert response.status_code == 422
    assert response.json()["errors"] == [{
        "row": 2, "column": "reference", "value": "PB-X-001",
        "reason_zh": f"不是批次 {batch['reference']} 中的付款",
        "reason_en": f"not a payment of batch {batch['reference']}"}]  # fmt: skip


@pytest.mark.parametrize("persona", ["alice", "carol", "dave", "frank"])
def test_only_finance_officers_prepare_batches_through_the_api(
    request: pytest.FixtureRequest, tranche: Tranche, persona: str
) -> None:
    someone = request.getfixturevalue(persona)
    response = post(client_for(someone), "/api/ledger/batches", {"tranches": [tranche.pk]}, "k")
    assert response.status_code == 403 and PaymentBatch.objects.count() == 0


def test_batches_are_read_by_officers_and_hidden_from_applicants(
    world: World, tranche: Tranche, alice: User, dave: User
) -> None:
    batch = post(client_for(world.bob), "/api/ledger/batches", {"tranches": [tranche.pk]},
                 key="p").json()  # fmt: skip
    listed = client_for(alice).get("/api/ledger/batches").json()
    assert [(b["reference"], b["total_cny"], b["lines"]) for b in listed] == [
        (batch["reference"], "250000.00", 1)]  # fmt: skip
    assert client_for(dave).get("/api/ledger/batches").status_code == 403
    assert client_for(dave).get(f"/api/ledger/batches/{batch['id']}").status_code == 404


def test_applicants_see_only_their_own_commitments(
    world: World, tranche: Tranche, jiaodong: Organisation, dave: User, erin: User, carol: User
) -> None:
    payable_make(world, jiaodong, "10.00")
    mine = client_for(dave).get("/api/ledger/commitments").json()
    assert [c["payee"] for c in mine] == ["海纳机器人有限公司"]
    assert mine[0]["tranches"][0]["status"] == "payable"
    assert client_for(erin).get(f"/api/ledger/commitments/{mine[0]['id']}").status_code == 404
    assert client_for(carol).get("/api/ledger/commitments").status_code == 403
    assert len(client_for(world.bob).get("/api/ledger/commitments").json()) == 2


def test_the_rate_table_is_imported_and_listed(world: World, alice: User) -> None:
    bob = client_for(world.bob)
    data = b"date,currency,rate\n2019-08-01,HKD,0.8793\n2019-08-01,MOP,0.8531\n"
    imported = upload(bob, "/api/ledger/fx-rates/import", data, "rates.csv", source="PBoC")
    assert imported.json() == {"rows": 2, "created": 2, "unchanged": 0}
    listed = client_for(alice).get("/api/ledger/fx-rates?currency=HKD").json()
    assert listed == [{"date": "2019-08-01", "currency": "HKD", "rate": "0.879300",
                       "source": "PBoC"}]  # fmt: skip
    bad = upload(bob, "/api/ledger/fx-rates/import", b"date,currency,rate\nx,HKD,1\n", "r.csv",
                 source="PBoC")  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["column"] == "date"
    unreadable = upload(bob, "/api/ledger/fx-rates/import", b"date\n2019-08-01\n", "r.csv")
    assert unreadable.status_code == 422 and "lacks the column" in unreadable.json()["detail_en"]
    assert (
        upload(client_for(alice), "/api/ledger/fx-rates/import", data, "r.csv").status_code == 403
    )
    assert FxRate.objects.count() == 2


def test_a_bank_charge_is_booked_once_per_key(world: World, tranche: Tranche) -> None:
    bob = client_for(world.bob)
    url = f"/api/ledger/commitments/{tranche.commitment_id}/charges"
    first = post(bob, url, {"amount": 150.5, "memo": "HK fee"}, key="c")
    again = post(bob, url, {"amount": 150.5, "memo": "HK fee"}, key="c")
    assert first.status_code == 201 and first.content == again.content
    assert first.json()["amount"] == "150.50"
    assert JournalEntry.objects.filter(kind=EntryKind.CHARGE).count() == 1
    negative = post(bob, url, {"amount": -1, "memo": ""}, key="c2")
    assert negative.status_code == 400 and "greater than zero" in negative.json()["detail_en"]
    assert Decimal(first.json()["amount"]) == Decimal("150.50")


def test_a_batch_is_cancelled_through_the_api_with_an_idempotency_key(
    world: World, tranche: Tranche
) -> None:
    bob = client_for(world.bob)
    batch = post(bob, "/api/ledger/batches", {"tranches": [tranche.pk]}, key="k-prep").json()
    url = f"/api/ledger/batches/{batch['id']}/cancel"
    assert post(bob, url).status_code == 422  # no key
    cancelled = post(bob, url, key="k-cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert post(bob, url, key="k-cancel").json() == cancelled.json()  # a replay
    again = post(bob, url, key="k-cancel-2")
    assert again.status_code == 400 and "only a draft" in again.json()["detail_en"]
    tranche.refresh_from_db()
    assert tranche.status == TrancheStatus.PAYABLE
