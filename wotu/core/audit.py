"""The audit chain: every domain event that matters, appended to a SHA-256 hash chain.

``hash(n) = sha256(hash(n-1) + canonical_json(event n))`` where the canonical JSON holds the
event's id, time (UTC, ISO 8601), actor id, action, subject and data, with sorted keys and no
whitespace. The first event links to 64 zeros. Appenders lock the single
:class:`~wotu.core.models.AuditChainHead` row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serialises writers anyway), so concurrent transactions extend the chain one after another.

:func:`audit_record` must run inside the transaction of the change it records: if that change
rolls back, so does its event. Its data must be JSON text every database stores as is: a string
(key or value) holding U+0000 or a lone surrogate is refused before anything is written.

This module records; :mod:`wotu.core.audit_verify` walks the chain, checks the ledger against
it and writes signed checkpoints. Its public names (:func:`audit_verify`,
:func:`audit_inspect`, :func:`audit_checkpoint`, :class:`ChainBreak`, …) can still be imported
from here: they are loaded on first use (PEP 562), so neither module imports the other at
import time in both directions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone

from wotu.core.errors import WotuError
from wotu.core.models import AuditChainHead, AuditEvent, User

if TYPE_CHECKING:
    from wotu.core.audit_verify import CHUNK as CHUNK
    from wotu.core.audit_verify import ENTRY_SUBJECT as ENTRY_SUBJECT
    from wotu.core.audit_verify import KEY_ENV as KEY_ENV
    from wotu.core.audit_verify import KEY_MIN_LENGTH as KEY_MIN_LENGTH
    from wotu.core.audit_verify import LEDGER_ACTION as LEDGER_ACTION
    from wotu.core.audit_verify import AuditReport as AuditReport
    from wotu.core.audit_verify import ChainBreak as ChainBreak
    from wotu.core.audit_verify import Checkpoint as Checkpoint
    from wotu.core.audit_verify import audit_checkpoint as audit_checkpoint
    from wotu.core.audit_verify import audit_inspect as audit_inspect
    from wotu.core.audit_verify import audit_key as audit_key
    from wotu.core.audit_verify import audit_verify as audit_verify
    from wotu.core.audit_verify import checkpoints_dir_default as checkpoints_dir_default
    from wotu.core.audit_verify import checkpoints_load as checkpoints_load

GENESIS = "0" * 64

#: Names that live in :mod:`wotu.core.audit_verify` and are re-exported from here, lazily.
VERIFY_NAMES = frozenset(
    {
        "CHUNK", "ENTRY_SUBJECT", "KEY_ENV", "KEY_MIN_LENGTH", "LEDGER_ACTION", "AuditReport",
        "ChainBreak", "Checkpoint", "audit_checkpoint", "audit_inspect", "audit_key",
        "audit_verify", "checkpoints_dir_default", "checkpoints_load",
    }
)  # fmt: skip


def __getattr__(name: str) -> Any:
    """``from wotu.core.audit import audit_verify`` and the like: load the verifying module
    only when one of its names is asked for (it imports this module, not the other way)."""
    if name in VERIFY_NAMES:
        return getattr(importlib.import_module("wotu.core.audit_verify"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def _text_unstorable(text: str) -> tuple[str, str] | None:
    """Why ``text`` cannot go into an event (zh, en), or None when it can. U+0000:
    PostgreSQL's jsonb refuses it. A lone surrogate (U+D800…U+DFFF): it has no UTF-8 form, so
    the event could neither be hashed nor stored."""
    if "\x00" in text:
        return "含有空字符 U+0000", "holds the null character U+0000"
    for char in text:
        if "\ud800" <= char <= "\udfff":
            code = f"U+{ord(char):04X}"
            return f"含有孤立的代理字符 {code}", f"holds a lone surrogate {code}"
    return None


#: (where zh, where en, why zh, why en)
Unstorable = tuple[str, str, str, str]


def _data_unstorable(value: Any, *, path: str) -> Unstorable | None:
    """The first string in ``value`` (a key or a value, at any depth) that cannot be stored,
    named by its path (``data["lines"][0]``); None when every string can."""
    if isinstance(value, str):
        why = _text_unstorable(value)
        return (path, path, *why) if why else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}[{json.dumps(key) if isinstance(key, str) else key}]"
            if isinstance(key, str) and (why := _text_unstorable(key)):
                return (f"键 {where}", f"the key {where}", *why)
            if found := _data_unstorable(item, path=where):
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if found := _data_unstorable(item, path=f"{path}[{index}]"):
                return found
    return None


def _data_checked(*, action: str, data: Mapping[str, Any]) -> None:
    found = _data_unstorable(data, path="data")
    if found is not None:
        where_zh, where_en, why_zh, why_en = found
        raise WotuError(
            f"审计事件 {action} 的数据无法记录：{where_zh} {why_zh}；请去掉该字符后重试",
            f"the data of audit event {action} cannot be recorded: {where_en} {why_en};"
            " remove that character and try again",
        )


def audit_record(
    *,
    actor: User | Any | None,
    action: str,
    subject: models.Model | tuple[str, str],
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. ``data`` must be JSON-able (Decimal and dates are
    written as strings); it is stored in its canonical form so the hash can be recomputed.
    A string in ``data`` (key or value, at any depth) holding U+0000 or a lone surrogate is
    refused with a :class:`WotuError` naming its key, before the database is touched."""
    subject_type, subject_id = _subject_of(subject)
    _data_checked(action=action, data=dict(data or {}))
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
