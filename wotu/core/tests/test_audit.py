"""The audit chain: events link by hash and stay verifiable whatever their data. Tampering with
rows behind the models' back is tested in ``test_tamper.py``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.core.audit import GENESIS, audit_record, audit_verify
from wotu.core.models import AuditEvent, AuditImmutableError, User

pytestmark = pytest.mark.django_db


def _three_events(actor: User) -> list[AuditEvent]:
    return [
        audit_record(
            actor=actor,
            action="test.step",
            subject=("test.thing", str(n)),
            data={"n": n, "amount": "100.00"},
        )
        for n in range(3)
    ]


def test_events_link_each_to_the_previous_hash(alice: User) -> None:
    first, second, third = _three_events(alice)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert audit_verify() is None


def test_an_event_cannot_be_changed_or_deleted_through_the_models(alice: User) -> None:
    event = _three_events(alice)[0]
    event.data = {"n": 99}
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()


def test_an_empty_chain_verifies(db: None) -> None:
    assert audit_verify() is None


# PostgreSQL's jsonb cannot hold U+0000 (it refuses the insert, so the change rolls back).
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | TEXT
JSON_DATA = st.dictionaries(
    TEXT,
    st.recursive(
        JSON_SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner),
        max_leaves=8,
    ),
    max_size=5,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=JSON_DATA)
def test_any_json_data_survives_the_database_and_still_verifies(
    alice: User, data: dict[str, Any]
) -> None:
    """Whatever the data (Chinese text, nesting, big integers), the database's JSON round trip
    must not change what the hash covers — otherwise verify would cry wolf."""
    event = audit_record(actor=alice, action="test.any", subject=("test.thing", "1"), data=data)
    assert AuditEvent.objects.get(pk=event.pk).data == event.data
    assert audit_verify() is None
