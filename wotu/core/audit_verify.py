"""Verifying the audit chain: walk it, check the ledger against it, and anchor it with signed
checkpoint files. (Recording is :mod:`wotu.core.audit`.)

Every journal entry of the ledger writes exactly one ``ledger.entry`` event (see
:func:`wotu.ledger.posting.entry_post`); :func:`audit_verify` recomputes that event's data from
the ledger tables, so a changed, deleted or inserted ledger row is found as well as a broken link.
Events written since the entry's ``posted_at`` and subject were recorded (``"posted_at"`` and
``"subject": "type:id"`` in their data) are compared on those too; older events lack the keys
and are compared on the rest only.

A chain rewritten from the start with every hash recomputed would still link; a *checkpoint*
catches it. :func:`audit_checkpoint` writes ``{last_id, last_hash, ledger_entries,
ledger_postings_digest, created_at}`` to a file, signed with HMAC-SHA256 under the key in the
environment variable ``WOTU_AUDIT_KEY`` (never stored in the database); :func:`audit_verify`
then checks that event ``last_id`` still has ``last_hash``.

Verification streams: events, entries and postings are read in keyset-paginated chunks of
:data:`CHUNK` rows, so memory does not grow with the chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from wotu.core.audit import GENESIS, canonical_json, event_hash
from wotu.core.errors import WotuError
from wotu.core.models import AuditChainHead, AuditEvent

#: Rows read per query while verifying (well under SQLite's 999 bound parameters).
CHUNK = 900
KEY_ENV = "WOTU_AUDIT_KEY"
#: Shortest key :func:`audit_checkpoint` signs with (production settings demand the same).
KEY_MIN_LENGTH = 32
LEDGER_ACTION = "ledger.entry"
ENTRY_SUBJECT = "ledger.journalentry"
CHECKPOINT_FIELDS = ("last_id", "last_hash", "ledger_entries", "ledger_postings_digest")


# --- what verification reports ------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link: the table (``core_auditevent``, ``ledger_journalentry``,
    ``ledger_posting`` or ``checkpoint``), the row's id when there is one (None for a deleted
    posting or a checkpoint file), the chain event concerned, and why — in Chinese and English."""

    table: str
    row_id: int | None
    event_id: int | None
    reason_zh: str
    reason_en: str

    def __str__(self) -> str:
        return f"{self.reason_zh} / {self.reason_en}"


@dataclass(frozen=True)
class AuditReport:
    """What :func:`audit_inspect` found. ``checkpoints`` is how many checkpoint files were
    checked, or None when they were not (``checkpoints_note`` says why)."""

    broken: ChainBreak | None
    events: int
    entries: int
    checkpoints: int | None
    checkpoints_note_zh: str = ""
    checkpoints_note_en: str = ""


def _event_break(event_id: int, zh: str, en: str) -> ChainBreak:
    return ChainBreak("core_auditevent", event_id, event_id, zh, en)


# --- checkpoints -------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    last_id: int
    last_hash: str
    ledger_entries: int
    ledger_postings_digest: str


def audit_key() -> bytes | None:
    """The checkpoint signing key from ``WOTU_AUDIT_KEY``, or None when it is not set."""
    raw = os.environ.get(KEY_ENV, "")
    return raw.encode() if raw else None


def checkpoints_dir_default() -> Path:
    """``var/checkpoints/<database>`` under the settings' VAR_DIR (environment ``WOTU_VAR_DIR``).

    One directory per database (vendor, host, port and name, hashed): checkpoints vouch for one
    chain, so two databases on one machine (the demo and a copy, SQLite and PostgreSQL) must
    not judge each other's chains. The key is deliberately *not* derived from the chain itself —
    a rewritten chain must still meet the checkpoints of its database."""
    from django.db import connection

    conf = connection.settings_dict
    identity = (
        f"{connection.vendor}:{conf.get('HOST') or ''}:{conf.get('PORT') or ''}:{conf['NAME']}"
    )
    return (
        Path(settings.VAR_DIR) / "checkpoints" / hashlib.sha256(identity.encode()).hexdigest()[:16]
    )


def _signature(*, key: bytes, body: Mapping[str, Any]) -> str:
    return hmac.new(key, canonical_json(dict(body)).encode(), hashlib.sha256).hexdigest()


def _checkpoint_read(*, path: Path, key: bytes) -> Checkpoint | ChainBreak:
    tampered = ChainBreak(
        "checkpoint",
        None,
        None,
        f"检查点文件 {path.name} 已被篡改（签名无效或内容不完整）",
        f"checkpoint file {path.name} tampered (invalid signature or incomplete content)",
    )
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return tampered
    if not isinstance(body, dict) or not isinstance(body.get("signature"), str):
        return tampered
    signature = body.pop("signature")
    if not hmac.compare_digest(signature, _signature(key=key, body=body)):
        return tampered
    values = [body.get(name) for name in CHECKPOINT_FIELDS]
    if not (isinstance(values[0], int) and isinstance(values[2], int)):
        return tampered
    if not (isinstance(values[1], str) and isinstance(values[3], str)):
        return tampered
    return Checkpoint(path, values[0], values[1], values[2], values[3])


def checkpoints_load(*, directory: Path, key: bytes) -> list[Checkpoint] | ChainBreak:
    """Every ``*.json`` checkpoint in ``directory`` with a valid signature, sorted by
    ``last_id``; or the break for the first file (by name) that is not."""
    found: list[Checkpoint] = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        checkpoint = _checkpoint_read(path=path, key=key)
        if isinstance(checkpoint, ChainBreak):
            return checkpoint
        found.append(checkpoint)
    return sorted(found, key=lambda c: c.last_id)


# --- the ledger as the chain recorded it -------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    kind: str
    memo: str
    reverses: int | None
    actor: int | None
    #: When it was posted, as ``ledger.entry`` events record it (UTC, ISO 8601).
    posted_at: str
    #: What it is about, as ``"type:id"``.
    subject: str
    #: (posting id, account code, currency, amount) in posting-id order.
    postings: list[tuple[int, str, str, str]]

    def lines(self) -> list[list[str]]:
        return [[code, currency, amount] for _, code, currency, amount in self.postings]


def _entry_id_of(event: AuditEvent) -> int | None:
    if event.subject_type != ENTRY_SUBJECT or not event.subject_id.isdigit():
        return None
    return int(event.subject_id)


def _entries_fetch(ids: Sequence[int]) -> dict[int, _Entry]:
    """The entries with these ids as they are now in the ledger tables (missing ones absent)."""
    from wotu.ledger.models import JournalEntry, Posting

    postings: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    rows = (
        Posting.objects.filter(entry_id__in=ids)
        .order_by("entry_id", "id")
        .values_list("id", "entry_id", "account__code", "currency", "amount")
    )
    for posting_id, entry_id, code, currency, amount in rows:
        postings[entry_id].append((posting_id, code, currency, str(amount)))
    fields = ("id", "kind", "memo", "reverses_id", "actor_id", "posted_at", "subject_type",
              "subject_id")  # fmt: skip
    rows_of = JournalEntry.objects.filter(pk__in=ids).values_list(*fields)
    return {
        pk: _Entry(kind, memo, reverses, actor, entry_posted_at(at), f"{stype}:{sid}", postings[pk])
        for pk, kind, memo, reverses, actor, at, stype, sid in rows_of
    }


def entry_posted_at(moment: dt.datetime) -> str:
    """A journal entry's ``posted_at`` as its ``ledger.entry`` event records it."""
    return moment.astimezone(dt.UTC).isoformat()


def _digest_line(entry_id: int, entry: _Entry | None) -> bytes:
    if entry is None:
        return (canonical_json([entry_id, None]) + "\n").encode()
    line = [entry_id, entry.kind, entry.reverses, entry.memo, entry.lines()]
    return (canonical_json(line) + "\n").encode()


def _data_of(event: AuditEvent) -> dict[str, Any]:
    return event.data if isinstance(event.data, dict) else {}


def _lines_compare(*, event: AuditEvent, entry_id: int, entry: _Entry) -> ChainBreak | None:
    recorded = _data_of(event).get("lines")
    now = entry.lines()
    if now == recorded:
        return None
    recorded = recorded if isinstance(recorded, list) else []
    at = next(
        (i for i, (a, b) in enumerate(zip(now, recorded, strict=False)) if a != b),
        min(len(now), len(recorded)),
    )
    where = f"（分录 #{entry_id}，审计事件 #{event.pk}）"
    where_en = f" (entry #{entry_id}, audit event #{event.pk})"
    if len(now) > len(recorded):
        pid = entry.postings[at][0]
        return ChainBreak(
            "ledger_posting",
            pid,
            event.pk,
            f"表 ledger_posting 中 id 为 {pid} 的行是插入的：链中没有记录它{where}",
            f"ledger_posting row #{pid} was inserted: the chain does not record it{where_en}",
        )
    if len(now) < len(recorded):
        return ChainBreak(
            "ledger_posting",
            None,
            event.pk,
            f"表 ledger_posting 中有一行被删除：链记录的第 {at + 1} 行 {recorded[at]}"
            f" 已不存在{where}",
            f"a ledger_posting row was deleted: line {at + 1} {recorded[at]} recorded by the"
            f" chain is gone{where_en}",
        )
    pid = entry.postings[at][0]
    if sorted(now) == sorted(recorded):
        return ChainBreak(
            "ledger_posting",
            pid,
            event.pk,
            f"表 ledger_posting 中 id 为 {pid} 的行顺序错乱：分录的各行与链中记录的顺序不同{where}",
            f"ledger_posting row #{pid} is out of order: the entry's postings are not in the"
            f" order the chain recorded{where_en}",
        )
    return ChainBreak(
        "ledger_posting",
        pid,
        event.pk,
        f"表 ledger_posting 中 id 为 {pid} 的行已被改动：现为 {now[at]}，"
        f"链中记录为 {recorded[at]}{where}",
        f"ledger_posting row #{pid} was changed: it now reads {now[at]}, the chain recorded"
        f" {recorded[at]}{where_en}",
    )


def _optional_fields(entry: _Entry) -> dict[str, str]:
    """Compared only when the event carries them (events written before they were recorded
    do not)."""
    return {"posted_at": entry.posted_at, "subject": entry.subject}


def _entry_compare(*, event: AuditEvent, entry_id: int, entry: _Entry | None) -> ChainBreak | None:
    """The first difference between a ``ledger.entry`` event and the entry as it is now."""
    if entry is None:
        return ChainBreak(
            "ledger_journalentry",
            entry_id,
            event.pk,
            f"表 ledger_journalentry 中 id 为 {entry_id} 的行已被删除"
            f"（审计事件 #{event.pk} 记录了它）",
            f"ledger_journalentry row #{entry_id} was deleted (audit event #{event.pk} records it)",
        )
    fields: dict[str, Any] = {"kind": entry.kind, "memo": entry.memo, "reverses": entry.reverses}
    data = _data_of(event)
    # Recorded since these keys were added to the event; older events are checked without them.
    fields.update({n: v for n, v in _optional_fields(entry).items() if n in data})
    changes = [(n, v, data.get(n)) for n, v in fields.items() if data.get(n) != v]
    if entry.actor != event.actor_id:
        changes.append(("actor", entry.actor, event.actor_id))
    if changes:
        name, now, then = changes[0]
        return ChainBreak(
            "ledger_journalentry",
            entry_id,
            event.pk,
            f"表 ledger_journalentry 中 id 为 {entry_id} 的行已被改动：{name} 现为 {now!r}，"
            f"审计事件 #{event.pk} 记录为 {then!r}",
            f"ledger_journalentry row #{entry_id} was changed: {name} is now {now!r}, audit"
            f" event #{event.pk} recorded {then!r}",
        )
    return _lines_compare(event=event, entry_id=entry_id, entry=entry)


# --- the walk ----------------------------------------------------------------------------


def _events_chunked(*, upto: int) -> Iterator[list[AuditEvent]]:
    last = 0
    while True:
        chunk = list(AuditEvent.objects.filter(id__gt=last, id__lte=upto).order_by("id")[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def _link_check(*, event: AuditEvent, expected_id: int, prev_hash: str) -> ChainBreak | None:
    if event.pk != expected_id:
        return _event_break(
            expected_id,
            f"core_auditevent 事件 #{expected_id} 缺失（已被删除；下一条是 #{event.pk}）",
            f"core_auditevent event #{expected_id} is missing (deleted; the next one is"
            f" #{event.pk})",
        )
    if event.prev_hash != prev_hash:
        return _event_break(
            event.pk,
            f"core_auditevent 事件 #{event.pk} 的前序哈希与上一事件不符（链被改写或插入）",
            f"core_auditevent event #{event.pk} does not link to the previous event's hash"
            " (the chain was rewritten or a row inserted)",
        )
    if event_hash(prev_hash=prev_hash, event=event) != event.hash:
        return _event_break(
            event.pk,
            f"core_auditevent 事件 #{event.pk} 的内容与其哈希不符（已被改动）",
            f"core_auditevent event #{event.pk} does not match its hash (it was changed)",
        )
    return None


def _checkpoint_check(
    *, checkpoint: Checkpoint, event: AuditEvent, digest: str, entries: int
) -> ChainBreak | None:
    name = checkpoint.path.name
    if event.hash != checkpoint.last_hash:
        return _event_break(
            event.pk,
            f"链在检查点 {name} 之前被改写：事件 #{event.pk} 的哈希已不是检查点记录的值",
            f"the chain was rewritten before checkpoint {name}: event #{event.pk} no longer"
            " has the hash the checkpoint recorded",
        )
    if entries != checkpoint.ledger_entries or digest != checkpoint.ledger_postings_digest:
        return ChainBreak(
            "ledger_posting",
            None,
            event.pk,
            f"账簿在检查点 {name} 之前被改写：分录数 {entries}（检查点记录 "
            f"{checkpoint.ledger_entries}）或分录摘要与检查点不符",
            f"the ledger was rewritten before checkpoint {name}: {entries} entries (the"
            f" checkpoint recorded {checkpoint.ledger_entries}) or the postings digest differs",
        )
    return None


@dataclass
class _Walk:
    """Where a walk over the chain got to."""

    events: int = 0
    entries: int = 0
    prev_hash: str = GENESIS
    broken: ChainBreak | None = None

    def __post_init__(self) -> None:
        self.digest = hashlib.sha256()


def _chunk_walk(walk: _Walk, chunk: list[AuditEvent], pending: list[Checkpoint]) -> None:
    ids = [i for e in chunk if e.action == LEDGER_ACTION and (i := _entry_id_of(e)) is not None]
    entries = _entries_fetch(ids) if ids else {}
    for event in chunk:
        walk.broken = _link_check(
            event=event, expected_id=walk.events + 1, prev_hash=walk.prev_hash
        )
        if walk.broken is None and event.action == LEDGER_ACTION:
            walk.broken = _ledger_event_check(walk, event, entries)
        while walk.broken is None and pending and pending[0].last_id == event.pk:
            walk.broken = _checkpoint_check(
                checkpoint=pending.pop(0),
                event=event,
                digest=walk.digest.hexdigest(),
                entries=walk.entries,
            )
        if walk.broken is not None:
            return
        walk.prev_hash = event.hash
        walk.events += 1


def _ledger_event_check(
    walk: _Walk, event: AuditEvent, entries: dict[int, _Entry]
) -> ChainBreak | None:
    entry_id = _entry_id_of(event)
    if entry_id is None:
        return _event_break(
            event.pk,
            f"core_auditevent 事件 #{event.pk} 是账簿事件，但其对象 "
            f"{event.subject_type}:{event.subject_id} 不是分录",
            f"core_auditevent event #{event.pk} is a ledger event but its subject"
            f" {event.subject_type}:{event.subject_id} is not a journal entry",
        )
    entry = entries.get(entry_id)
    walk.entries += 1
    walk.digest.update(_digest_line(entry_id, entry))
    return _entry_compare(event=event, entry_id=entry_id, entry=entry)


def _chain_walk(*, upto: int, checkpoints: Sequence[Checkpoint]) -> _Walk:
    """Walk events 1…``upto``, checking links, hashes, each ``ledger.entry``
    event against the ledger and each checkpoint at its ``last_id``; stop at the first break."""
    walk = _Walk()
    pending = list(checkpoints)
    for chunk in _events_chunked(upto=upto):
        _chunk_walk(walk, chunk, pending)
        if walk.broken is not None:
            return walk
    if pending:
        checkpoint = pending[0]
        walk.broken = _event_break(
            checkpoint.last_id,
            f"检查点 {checkpoint.path.name} 覆盖到事件 #{checkpoint.last_id}，"
            f"但链在 #{walk.events} 结束（链尾的事件被删除）",
            f"checkpoint {checkpoint.path.name} covers events up to #{checkpoint.last_id} but"
            f" the chain ends at #{walk.events} (events at the end were deleted)",
        )
    return walk


def _chain_head() -> tuple[int, str] | None:
    return AuditChainHead.objects.filter(pk=1).values_list("last_id", "last_hash").first()


def _head_check(walk: _Walk, head: tuple[int, str] | None) -> ChainBreak | None:
    """The walk (up to the head read before it) must end exactly at the head, and no event may
    lie beyond the head. The highest id is read *before* the head again: an append commits its
    event and the head together, so a legitimate later event never looks beyond the head."""
    last_id, last_hash = head or (0, GENESIS)
    if (last_id, last_hash) != (walk.events, walk.prev_hash):
        return ChainBreak(
            "core_auditchainhead",
            1,
            last_id,
            f"链尾记录指向 #{last_id}，但链在 #{walk.events} 结束（事件被删除或插入）",
            f"the chain head points at #{last_id} but the chain ends at #{walk.events}"
            " (events were deleted or inserted)",
        )
    highest = AuditEvent.objects.aggregate(highest=Max("id"))["highest"] or 0
    last_id = (_chain_head() or (0, GENESIS))[0]
    if highest <= last_id:
        return None
    return _event_break(
        highest,
        f"core_auditevent 事件 #{highest} 在链尾 #{last_id} 之后（是插入的，链尾没有指向它）",
        f"core_auditevent event #{highest} lies beyond the chain head #{last_id} (it was"
        " inserted; the head does not point at it)",
    )


def _entries_unrecorded() -> tuple[int, ChainBreak | None]:
    """Count the journal entries; find the first with no ``ledger.entry`` event or with more
    than one, and any posting whose entry is gone."""
    from wotu.ledger.models import JournalEntry, Posting

    count, last = 0, 0
    while ids := list(
        JournalEntry.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK]
    ):
        events: dict[str, list[int]] = defaultdict(list)
        rows = AuditEvent.objects.filter(
            action=LEDGER_ACTION, subject_type=ENTRY_SUBJECT, subject_id__in=[str(i) for i in ids]
        ).values_list("subject_id", "id")
        for subject_id, event_id in rows:
            events[subject_id].append(event_id)
        for pk in ids:
            found = sorted(events.get(str(pk), []))
            if len(found) != 1:
                return count, _entry_event_break(pk, found)
        count, last = count + len(ids), ids[-1]
    orphan = (
        Posting.objects.filter(~Exists(JournalEntry.objects.filter(pk=OuterRef("entry_id"))))
        .order_by("pk")
        .values_list("pk", "entry_id")
        .first()
    )
    if orphan is not None:
        return count, ChainBreak(
            "ledger_posting",
            orphan[0],
            None,
            f"表 ledger_posting 中 id 为 {orphan[0]} 的行属于不存在的分录 #{orphan[1]}"
            "（分录被删除）",
            f"ledger_posting row #{orphan[0]} belongs to entry #{orphan[1]}, which does not"
            " exist (the entry was deleted)",
        )
    return count, None


def _entry_event_break(entry_id: int, events: list[int]) -> ChainBreak:
    if not events:
        return ChainBreak(
            "ledger_journalentry",
            entry_id,
            None,
            f"表 ledger_journalentry 中 id 为 {entry_id} 的行在审计链中没有 ledger.entry 事件"
            "（审计事件缺失：该分录是绕过账簿插入的）",
            f"ledger_journalentry row #{entry_id} has no ledger.entry event in the audit chain"
            " (event missing: the entry was inserted outside the ledger)",
        )
    listed = ", ".join(f"#{e}" for e in events)
    return ChainBreak(
        "ledger_journalentry",
        entry_id,
        events[1],
        f"表 ledger_journalentry 中 id 为 {entry_id} 的行被 {len(events)} 个事件（{listed}）记录，"
        "应只有一个（事件被插入）",
        f"ledger_journalentry row #{entry_id} is recorded by {len(events)} events ({listed}),"
        " not exactly one (an event was inserted)",
    )


def audit_inspect(*, checkpoints_dir: Path | None = None) -> AuditReport:
    """Verify the chain, the ledger against it, and — when ``checkpoints_dir`` is given and
    ``WOTU_AUDIT_KEY`` is set — every checkpoint file in that directory.

    Checks, in order: checkpoint signatures; then event by event from #1 up to the chain head
    read at the start: the id sequence, the link to the previous hash, the event's own hash, for
    a ``ledger.entry`` event that the entry still exists and matches (kind, memo, reversal,
    actor, postings in posting-id order; posting time and subject when the event records them),
    and at each checkpoint's ``last_id`` its hash and ledger digest; then that the chain ends at
    the head and nothing lies beyond it; then that every journal entry has exactly one event and
    every posting an entry. Stops at the first break. Reads in chunks of :data:`CHUNK` rows;
    takes no locks, so events appended while it runs are simply not covered."""
    checkpoints: list[Checkpoint] = []
    note_zh = note_en = ""
    key = audit_key()
    if checkpoints_dir is not None and key is None:
        note_zh = f"未检查检查点：未设置 {KEY_ENV}"
        note_en = f"checkpoints not checked: {KEY_ENV} is not set"
    elif checkpoints_dir is not None and key is not None:
        loaded = checkpoints_load(directory=checkpoints_dir, key=key)
        if isinstance(loaded, ChainBreak):
            return AuditReport(loaded, 0, 0, 0)
        checkpoints = loaded
    else:
        note_zh, note_en = "未检查检查点", "checkpoints not checked"
    checked = len(checkpoints) if not note_en else None
    head = _chain_head()
    walk = _chain_walk(upto=head[0] if head else 0, checkpoints=checkpoints)
    broken = walk.broken or _head_check(walk, head)
    entries, unrecorded = _entries_unrecorded() if broken is None else (0, None)
    return AuditReport(broken or unrecorded, walk.events, entries, checked, note_zh, note_en)


def audit_verify(*, checkpoints_dir: Path | None = None) -> ChainBreak | None:
    """The first broken link of the chain, the ledger or the checkpoints in
    ``checkpoints_dir`` (see :func:`audit_inspect`), or None when everything is intact."""
    return audit_inspect(checkpoints_dir=checkpoints_dir).broken


def audit_checkpoint(*, out_dir: Path | None = None) -> Path:
    """Write a signed checkpoint of the chain as it is now to ``out_dir`` (default
    ``var/checkpoints``) and return the file's path.

    The file is ``{last_id, last_hash, ledger_entries, ledger_postings_digest, created_at,
    signature}``: ``ledger_entries`` counts the ``ledger.entry`` events up to ``last_id`` and the
    digest is SHA-256 over those entries recomputed from the ledger tables; ``signature`` is
    HMAC-SHA256 under ``WOTU_AUDIT_KEY`` over the canonical JSON of the other fields.
    Refuses (WotuError) without a key of at least :data:`KEY_MIN_LENGTH` characters, or when the
    chain up to its head is already broken — a checkpoint must never vouch for a forgery.
    Takes no lock: events up to the head it reads are committed and never change."""
    key = audit_key()
    if key is None or len(key) < KEY_MIN_LENGTH:
        raise WotuError(
            f"无法写检查点：环境变量 {KEY_ENV} 未设置或短于 {KEY_MIN_LENGTH} 个字符"
            "（签名密钥只放在环境中，不放在数据库里）",
            f"cannot write a checkpoint: the environment variable {KEY_ENV} is not set or is"
            f" shorter than {KEY_MIN_LENGTH} characters (the signing key lives in the"
            " environment, never in the database)",
        )
    head = _chain_head()
    last_id = head[0] if head else 0
    walk = _chain_walk(upto=last_id, checkpoints=[])
    broken = walk.broken or _head_check(walk, head)
    if broken is not None:
        raise WotuError(
            f"链已断开，拒绝写检查点：{broken.reason_zh}",
            f"the chain is broken, so no checkpoint was written: {broken.reason_en}",
        )
    body = {
        "last_id": last_id,
        "last_hash": walk.prev_hash,
        "ledger_entries": walk.entries,
        "ledger_postings_digest": walk.digest.hexdigest(),
        "created_at": timezone.now().astimezone(dt.UTC).isoformat(),
    }
    return _checkpoint_write(out_dir=out_dir or checkpoints_dir_default(), body=body, key=key)


def _checkpoint_write(*, out_dir: Path, body: dict[str, Any], key: bytes) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = out_dir / f"checkpoint-{body['last_id']:012d}-{stamp}.json"
    signed = {**body, "signature": _signature(key=key, body=body)}
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(signed, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    partial.replace(path)  # atomic: a reader never sees half a file
    return path
