"""Many finance officers committing against one budget at the same moment never overspend it,
and a storm of retries under one idempotency key books exactly once. PostgreSQL only: each
thread has its own database connection and transactions really overlap (SQLite serialises
every writer, so there is nothing to race)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from django.db import connection, connections

from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import Role, User
from wotu.ledger.models import Commitment, EntryKind, FundingSource, JournalEntry, SourceKind
from wotu.ledger.posting import trial_balance
from wotu.ledger.services import budget_allocate, budget_left, commitment_create
from wotu.organisations.models import Organisation
from wotu.programmes.models import Programme

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]

D = Decimal
WRITERS = 24
T = TypeVar("T")


@pytest.fixture
def fiona(db: None) -> User:
    """A second finance officer."""
    return User.objects.create(username="fiona", role=Role.FINANCE_OFFICER)


@pytest.fixture
def budget(fiona: User) -> tuple[Programme, FundingSource]:
    programme = Programme.objects.create(code="laixi-rd-2026", title="研发奖励", year=2026,
                                         title_en="R&D rewards", budget=D("1000.00"))  # fmt: skip
    city = FundingSource.objects.create(code="laixi", kind=SourceKind.CITY, name="莱西",
                                        name_en="Laixi")  # fmt: skip
    budget_allocate(programme=programme, year=2026, source=city, amount=D("1000.00"), actor=fiona,
                    key="laixi-2026")  # fmt: skip
    return programme, city


def _all_at_once(calls: list[Callable[[], T]]) -> list[T | Exception]:
    """Run every call in its own thread (own connection), released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def one(call: Callable[[], T]) -> T | Exception:
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # collected: the test asserts on them
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def _commit(budget: tuple[Programme, FundingSource], payee: Organisation, actor: User,
            award: str, key: str) -> Callable[[], Commitment]:  # fmt: skip
    programme, city = budget
    return lambda: commitment_create(
        award_type="laixi.reward", award_id=award, programme=programme, year=2026, source=city,
        payee=payee, amount=D("100.00"), actor=actor, key=key,
    )  # fmt: skip


def test_concurrent_commitments_never_overspend_one_budget(
    budget: tuple[Programme, FundingSource], haina: Organisation, fiona: User
) -> None:
    outcomes = _all_at_once(
        [_commit(budget, haina, fiona, award=str(n), key=f"award-{n}") for n in range(WRITERS)]
    )
    booked = [o for o in outcomes if isinstance(o, Commitment)]
    refused = [o for o in outcomes if isinstance(o, WotuError)]
    assert len(booked) == 10
    assert len(refused) == WRITERS - 10, [o for o in outcomes if not isinstance(o, Commitment)]
    assert all("not enough to commit" in e.en for e in refused)
    programme, city = budget
    assert budget_left(programme=programme, year=2026, source=city) == D("0.00")
    assert trial_balance() == {"CNY": D("0.00")}
    assert audit_verify() is None


def test_a_retry_storm_with_one_idempotency_key_books_exactly_once(
    budget: tuple[Programme, FundingSource], haina: Organisation, fiona: User
) -> None:
    outcomes: list[Any] = _all_at_once(
        [_commit(budget, haina, fiona, award="7", key="award-7") for _ in range(WRITERS)]
    )
    assert all(isinstance(o, Commitment) for o in outcomes), outcomes
    assert len({o.pk for o in outcomes}) == 1
    assert Commitment.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.COMMIT).count() == 1
    programme, city = budget
    assert budget_left(programme=programme, year=2026, source=city) == D("900.00")
