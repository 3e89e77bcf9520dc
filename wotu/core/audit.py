"""The audit chain: every domain event that matters, appended to a SHA-256 hash chain.

``hash(n) = sha256(hash(n-1) + canonical_json(event n))`` where the canonical JSON holds the
event's id, time (UTC, ISO 8601), actor id, action, subject and data, with sorted keys and no
whitespace. The first event links to 64 zeros. Appenders lock the single
:class:`~wotu.core.models.AuditChainHead` row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serialises writers anyway), so concurrent transactions extend the chain one after another.

:func:`audit_record` must run inside the transaction of the change it records: if that change
rolls back, so does its event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from wotu.core.models import AuditChainHead, AuditEvent, User

GENESIS = "0" * 64


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable in an audit event: {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def event_payload(event: AuditEvent) -> dict[str, Any]:
    """What the hash covers: everything but the hashes themselves."""
    return {
        "id": event.pk,
        "at": event.at.astimezone(dt.UTC).isoformat(),
        "actor": event.actor_id,
        "action": event.action,
        "subject": f"{event.subject_type}:{event.subject_id}",
        "data": event.data,
    }


def event_hash(*, prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + canonical_json(event_payload(event))).encode()).hexdigest()


def _subject_of(subject: models.Model | tuple[str, str]) -> tuple[str, str]:
    if isinstance(subject, tuple):
        return subject
    return subject._meta.label_lower, str(subject.pk)


def audit_record(
    *,
    actor: User | Any | None,
    action: str,
    subject: models.Model | tuple[str, str],
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. ``data`` must be JSON-able (Decimal and dates are
    written as strings); it is stored in its canonical form so the hash can be recomputed."""
    subject_type, subject_id = _subject_of(subject)
    clean = json.loads(canonical_json(dict(data or {})))
    actor_user = actor if isinstance(actor, User) and actor.pk is not None else None
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            id=head.last_id + 1,
            at=timezone.now(),
            actor=actor_user,
            actor_label=actor_user.get_username() if actor_user else "system",
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            data=clean,
            prev_hash=head.last_hash,
        )
        event.hash = event_hash(prev_hash=head.last_hash, event=event)
        # A new row: GuardedModel only refuses rows that already have a primary key in the
        # database, so insert through the manager.
        AuditEvent.objects.bulk_create([event])
        head.last_id = event.pk
        head.last_hash = event.hash
        head.save(update_fields=["last_id", "last_hash"])
    return event


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason_zh: str
    reason_en: str


def audit_verify() -> ChainBreak | None:
    """Walk the chain from the start; return the first broken link, or None when intact."""
    prev_hash = GENESIS
    expected_id = 1
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if event.pk != expected_id:
            return ChainBreak(
                expected_id,
                f"事件 #{expected_id} 缺失（下一条是 #{event.pk}）",
                f"event #{expected_id} is missing (the next one is #{event.pk})",
            )
        if event.prev_hash != prev_hash:
            return ChainBreak(
                event.pk,
                f"事件 #{event.pk} 的前序哈希与上一事件不符",
                f"event #{event.pk} does not link to the previous event's hash",
            )
        if event_hash(prev_hash=prev_hash, event=event) != event.hash:
            return ChainBreak(
                event.pk,
                f"事件 #{event.pk} 的内容与其哈希不符（已被改动）",
                f"event #{event.pk} does not match its hash (it was changed)",
            )
        prev_hash = event.hash
        expected_id += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_id != expected_id - 1 or head.last_hash != prev_hash):
        return ChainBreak(
            head.last_id,
            f"链尾记录指向 #{head.last_id}，但链在 #{expected_id - 1} 结束（事件被删除或插入）",
            f"the chain head points at #{head.last_id} but the chain ends at #{expected_id - 1}"
            " (events were deleted or inserted)",
        )
    return None
