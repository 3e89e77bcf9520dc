"""Idempotency keys: a replay returns the first result; another request under a key is refused."""

from __future__ import annotations

from typing import Any

import pytest

from wotu.core.errors import WotuError
from wotu.ledger.models import IdempotencyRecord
from wotu.ledger.posting import IdempotencyConflict, idempotent


@pytest.mark.django_db
def test_a_replay_returns_the_first_result_without_running_again() -> None:
    calls: list[int] = []

    def run() -> dict[str, Any]:
        calls.append(1)
        return {"entry": len(calls)}

    first = idempotent(key="k-1", scope="demo", request={"amount": "5.00"}, run=run)
    again = idempotent(key="k-1", scope="demo", request={"amount": "5.00"}, run=run)
    assert first == again == {"entry": 1}
    assert len(calls) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("scope", "request_"), [("demo", {"amount": "6.00"}), ("other", {"amount": "5.00"})]
)
def test_the_same_key_with_another_request_is_refused(scope: str, request_: dict[str, Any]) -> None:
    idempotent(key="k-2", scope="demo", request={"amount": "5.00"}, run=lambda: {"ok": True})
    with pytest.raises(IdempotencyConflict, match="already used for a different request"):
        idempotent(key="k-2", scope=scope, request=request_, run=lambda: {"ok": False})


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "   "])
def test_a_money_moving_call_without_a_key_is_refused(key: str) -> None:
    with pytest.raises(WotuError, match="idempotency key is required"):
        idempotent(key=key, scope="demo", request={}, run=lambda: {})


@pytest.mark.django_db
def test_a_call_that_fails_stores_nothing_so_a_retry_runs_again() -> None:
    def failing() -> dict[str, Any]:
        raise WotuError("失败", "failed")

    with pytest.raises(WotuError):
        idempotent(key="k-3", scope="demo", request={}, run=failing)
    assert not IdempotencyRecord.objects.filter(key="k-3").exists()
    assert idempotent(key="k-3", scope="demo", request={}, run=lambda: {"n": 1}) == {"n": 1}


@pytest.mark.django_db
def test_decimals_in_results_come_back_the_same_the_first_time_and_on_replay() -> None:
    from decimal import Decimal

    first = idempotent(key="k-4", scope="demo", request={}, run=lambda: {"a": Decimal("1.50")})
    assert first == idempotent(key="k-4", scope="demo", request={}, run=lambda: {}) == {"a": "1.50"}
