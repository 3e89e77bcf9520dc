"""The audit chain: events link by hash; any change, deletion or insertion is found."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection

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


def _raw(sql: str, params: list[str | int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_changed_event_is_named_by_verify(alice: User) -> None:
    events = _three_events(alice)
    _raw("UPDATE core_auditevent SET data = %s WHERE id = %s", ['{"n": 7}', events[1].pk])
    broken = audit_verify()
    assert broken is not None and broken.event_id == events[1].pk
    assert "changed" in broken.reason_en


def test_a_deleted_event_is_named_by_verify(alice: User) -> None:
    events = _three_events(alice)
    _raw("DELETE FROM core_auditevent WHERE id = %s", [events[1].pk])
    broken = audit_verify()
    assert broken is not None and broken.event_id == events[1].pk
    assert "missing" in broken.reason_en


def test_a_deleted_last_event_is_found_through_the_chain_head(alice: User) -> None:
    events = _three_events(alice)
    _raw("DELETE FROM core_auditevent WHERE id = %s", [events[2].pk])
    broken = audit_verify()
    assert broken is not None and "head" in broken.reason_en


def test_a_rehashed_forgery_in_the_middle_breaks_the_next_link(alice: User) -> None:
    events = _three_events(alice)
    forged = AuditEvent.objects.get(pk=events[0].pk)
    forged.data = {"n": 0, "amount": "999.00"}
    from wotu.core.audit import event_hash

    new_hash = event_hash(prev_hash=GENESIS, event=forged)
    _raw("UPDATE core_auditevent SET data = %s, hash = %s WHERE id = %s",
         ['{"amount": "999.00", "n": 0}', new_hash, events[0].pk])  # fmt: skip
    broken = audit_verify()
    assert broken is not None and broken.event_id == events[1].pk
    assert hashlib.sha256(b"").hexdigest() != new_hash
