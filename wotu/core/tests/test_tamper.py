"""Tamper tests: changing, deleting or inserting any single row of the audit chain or the ledger
is named by `wotu audit verify`; rewriting the whole chain is caught by a signed checkpoint.

On SQLite the rows are changed with raw SQL. On PostgreSQL the triggers refuse UPDATE and DELETE
first (asserted), then the test disables them (``ALTER TABLE … DISABLE TRIGGER USER``, rolled
back with the test's transaction) to show that verify still finds the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from wotu.core.audit import (
    GENESIS,
    ChainBreak,
    audit_checkpoint,
    audit_record,
    audit_verify,
    event_hash,
)
from wotu.core.models import AuditEvent, User
from wotu.ledger.models import EntryKind, JournalEntry, Posting
from wotu.ledger.posting import account_for, entry_post, entry_reverse

pytestmark = pytest.mark.django_db
KEY = "a-test-audit-key-of-at-least-32-characters"
ON_PG = connection.vendor == "postgresql"


@dataclass(frozen=True)
class Book:
    """A small ledger: an allocation, a commitment and its reversal, with other events between."""

    allocate: JournalEntry
    commit: JournalEntry
    reversal: JournalEntry

    def posting_ids(self, entry: JournalEntry) -> list[int]:
        return list(entry.postings.order_by("pk").values_list("pk", flat=True))


@pytest.fixture
def book(bob: User) -> Book:
    source, budget = account_for(kind="source"), account_for(kind="budget")
    commitment = account_for(kind="commitment")
    audit_record(actor=bob, action="test.step", subject=("test.thing", "1"), data={"n": 1})
    allocate = entry_post(
        kind=EntryKind.ALLOCATE, actor=bob, memo="2026 budget",
        lines=[(source, Decimal("1000.00")), (budget, Decimal("-1000.00"))],
    )  # fmt: skip
    commit = entry_post(
        kind=EntryKind.COMMIT, actor=bob, memo="award 7",
        lines=[(budget, Decimal("400.00")), (commitment, Decimal("-400.00"))],
    )  # fmt: skip
    audit_record(actor=bob, action="test.step", subject=("test.thing", "2"), data={"n": 2})
    reversal = entry_reverse(entry=commit, actor=bob, memo="award withdrawn")
    assert audit_verify() is None
    return Book(allocate, commit, reversal)


def _sql(sql: str, params: Sequence[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _tamper(table: str, sql: str, params: Sequence[Any] | None = None) -> None:
    """Run one raw change. On PostgreSQL, first show that the database refuses it (the
    append-only triggers refuse UPDATE and DELETE; the deferred balance trigger refuses a lone
    posting), then disable the table's triggers and make the change anyway."""
    if ON_PG and _triggers_enabled(table):
        refused = sql.lstrip().upper().startswith(("UPDATE", "DELETE"))
        if refused or table == "ledger_posting":
            with pytest.raises(DatabaseError, match=r"append-only|balance"), transaction.atomic():
                _sql(sql, params)
                _sql("SET CONSTRAINTS ALL IMMEDIATE")
        # ALTER TABLE refuses while deferred checks are pending: run them now.
        _sql("SET CONSTRAINTS ALL IMMEDIATE")
        _sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    _sql(sql, params)


def _triggers_enabled(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(bool_or(tgenabled <> 'D'), false) FROM pg_trigger"
            " WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [table],
        )
        return bool(cursor.fetchone()[0])


def _broken() -> ChainBreak:
    broken = audit_verify()
    assert broken is not None, "the tampering went unnoticed"
    return broken


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]


# --- the audit chain ---------------------------------------------------------------------


def test_a_changed_event_is_named_with_its_table_and_id(book: Book) -> None:
    _tamper("core_auditevent", "UPDATE core_auditevent SET data = %s WHERE id = 1", ['{"n": 9}'])
    broken = _broken()
    assert (broken.table, broken.row_id) == ("core_auditevent", 1)
    assert "changed" in broken.reason_en and "已被改动" in broken.reason_zh


def test_a_changed_ledger_event_is_named_even_when_the_ledger_is_untouched(book: Book) -> None:
    event = AuditEvent.objects.get(action="ledger.entry", subject_id=str(book.commit.pk))
    _tamper(
        "core_auditevent",
        "UPDATE core_auditevent SET actor_label = 'mallory', subject_id = %s WHERE id = %s",
        [str(book.allocate.pk), event.pk],
    )
    broken = _broken()
    assert (broken.table, broken.row_id) == ("core_auditevent", event.pk)


def test_a_deleted_event_is_named_as_missing(book: Book) -> None:
    _tamper("core_auditevent", "DELETE FROM core_auditevent WHERE id = 2")
    broken = _broken()
    assert (broken.table, broken.row_id) == ("core_auditevent", 2)
    assert "missing" in broken.reason_en and "缺失" in broken.reason_zh


def test_an_inserted_event_is_found_through_the_chain_head(book: Book, bob: User) -> None:
    last = AuditEvent.objects.get(pk=_last_event_id())
    forged = AuditEvent(
        id=last.pk + 1, at=last.at, actor=bob, action="test.step",
        subject_type="test.thing", subject_id="3", data={"n": 3}, prev_hash=last.hash,
    )  # fmt: skip
    forged.hash = event_hash(prev_hash=last.hash, event=forged)
    _tamper(
        "core_auditevent",
        "INSERT INTO core_auditevent (id, at, actor_id, actor_label, action, subject_type,"
        " subject_id, data, prev_hash, hash) VALUES (%s, %s, %s, 'bob', 'test.step',"
        " 'test.thing', '3', %s, %s, %s)",
        [forged.pk, last.at, bob.pk, '{"n": 3}', forged.prev_hash, forged.hash],
    )
    broken = _broken()
    assert "inserted" in broken.reason_en and "插入" in broken.reason_zh


def test_a_well_formed_ledger_event_appended_with_the_head_moved_is_named(book: Book) -> None:
    """The strongest single insert: a correctly hashed copy of an entry's event at the end of
    the chain, with the (updatable) head moved to it. The entry now has two events."""
    last = AuditEvent.objects.get(pk=_last_event_id())
    copy = AuditEvent.objects.get(action="ledger.entry", subject_id=str(book.allocate.pk))
    copy.id, copy.prev_hash = last.pk + 1, last.hash
    copy.hash = event_hash(prev_hash=last.hash, event=copy)
    _tamper(
        "core_auditevent",
        "INSERT INTO core_auditevent (id, at, actor_id, actor_label, action, subject_type,"
        " subject_id, data, prev_hash, hash) VALUES (%s, %s, %s, 'bob', %s, %s, %s, %s, %s, %s)",
        [copy.pk, copy.at, copy.actor_id, copy.action, copy.subject_type, copy.subject_id,
         _json(copy.data), copy.prev_hash, copy.hash],
    )  # fmt: skip
    _sql("UPDATE core_auditchainhead SET last_id = %s, last_hash = %s", [copy.pk, copy.hash])
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_journalentry", book.allocate.pk)
    assert "recorded by 2 events" in broken.reason_en and "事件被插入" in broken.reason_zh


def test_a_deleted_last_event_is_found_through_the_chain_head(book: Book) -> None:
    _tamper("core_auditevent", "DELETE FROM core_auditevent WHERE id = %s", [_last_event_id()])
    broken = _broken()
    assert broken.table == "core_auditchainhead" and "head" in broken.reason_en


def test_a_rehashed_forgery_breaks_the_next_link(book: Book) -> None:
    forged = AuditEvent.objects.get(pk=1)
    forged.data = {"n": 100}
    _tamper(
        "core_auditevent",
        "UPDATE core_auditevent SET data = %s, hash = %s WHERE id = 1",
        ['{"n": 100}', event_hash(prev_hash=GENESIS, event=forged)],
    )
    broken = _broken()
    assert (broken.table, broken.row_id) == ("core_auditevent", 2)
    assert "does not link" in broken.reason_en


# --- the ledger --------------------------------------------------------------------------


def test_a_changed_journal_entry_is_named(book: Book) -> None:
    _tamper(
        "ledger_journalentry",
        "UPDATE ledger_journalentry SET memo = 'award 8' WHERE id = %s",
        [book.commit.pk],
    )
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_journalentry", book.commit.pk)
    assert "memo" in broken.reason_en and "changed" in broken.reason_en


def test_a_changed_posting_time_of_a_journal_entry_is_named(book: Book) -> None:
    moved = book.commit.posted_at - dt.timedelta(days=400)
    _tamper(
        "ledger_journalentry",
        "UPDATE ledger_journalentry SET posted_at = %s WHERE id = %s",
        [connection.ops.adapt_datetimefield_value(moved), book.commit.pk],
    )
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_journalentry", book.commit.pk)
    assert "posted_at is now" in broken.reason_en and moved.year != book.commit.posted_at.year
    assert "posted_at 现为" in broken.reason_zh


def test_a_changed_subject_of_a_journal_entry_is_named(book: Book) -> None:
    _tamper(
        "ledger_journalentry",
        "UPDATE ledger_journalentry SET subject_type = 'ledger.commitment', subject_id = '99'"
        " WHERE id = %s",
        [book.allocate.pk],
    )
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_journalentry", book.allocate.pk)
    assert "subject is now 'ledger.commitment:99'" in broken.reason_en


def test_an_entry_recorded_before_its_time_and_subject_were_recorded_still_verifies(
    book: Book, bob: User
) -> None:
    """Events written before ``posted_at`` and ``subject`` joined the data carry neither key:
    they are checked on the rest (a changed memo is still found), never flagged for lacking
    them."""
    source, budget = account_for(kind="source"), account_for(kind="budget")
    old = JournalEntry(kind=EntryKind.ALLOCATE, posted_at=book.commit.posted_at, memo="2019",
                       actor=bob, subject_type="programmes.programme", subject_id="1")  # fmt: skip
    old.save()
    Posting.objects.bulk_create([
        Posting(entry=old, account=source, currency="CNY", amount=Decimal("5.00")),
        Posting(entry=old, account=budget, currency="CNY", amount=Decimal("-5.00")),
    ])  # fmt: skip
    lines = [[source.code, "CNY", "5.00"], [budget.code, "CNY", "-5.00"]]
    data = {"kind": "allocate", "lines": lines, "reverses": None, "memo": "2019"}
    audit_record(actor=bob, action="ledger.entry", subject=old, data=data)
    assert audit_verify() is None
    _tamper("ledger_journalentry", "UPDATE ledger_journalentry SET memo = 'x' WHERE id = %s",
            [old.pk])  # fmt: skip
    assert _broken().row_id == old.pk


def test_a_deleted_journal_entry_is_named(book: Book) -> None:
    _tamper("ledger_posting", "DELETE FROM ledger_posting WHERE entry_id = %s", [book.allocate.pk])
    _tamper(
        "ledger_journalentry", "DELETE FROM ledger_journalentry WHERE id = %s", [book.allocate.pk]
    )
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_journalentry", book.allocate.pk)
    assert "deleted" in broken.reason_en and "删除" in broken.reason_zh


def test_an_inserted_journal_entry_is_named_as_having_no_event(book: Book, bob: User) -> None:
    _tamper(
        "ledger_journalentry",
        "INSERT INTO ledger_journalentry (kind, posted_at, memo, actor_id, subject_type,"
        " subject_id) VALUES ('commit', %s, 'ghost', %s, '', '')",
        [book.commit.posted_at, bob.pk],
    )
    ghost = JournalEntry.objects.get(memo="ghost")
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_journalentry", ghost.pk)
    assert "event missing" in broken.reason_en and "缺失" in broken.reason_zh


def test_a_changed_posting_is_named(book: Book) -> None:
    posting = book.posting_ids(book.commit)[1]
    _tamper("ledger_posting", "UPDATE ledger_posting SET amount = -4000 WHERE id = %s", [posting])
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_posting", posting)
    assert "changed" in broken.reason_en and "-4000.00" in broken.reason_en


def test_a_posting_moved_to_another_entry_is_named(book: Book) -> None:
    posting = book.posting_ids(book.reversal)[0]
    _tamper(
        "ledger_posting",
        "UPDATE ledger_posting SET entry_id = %s WHERE id = %s",
        [book.allocate.pk, posting],
    )
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_posting", posting)
    assert "inserted" in broken.reason_en


def test_a_deleted_posting_is_named_with_its_entry(book: Book) -> None:
    posting = book.posting_ids(book.commit)[0]
    _tamper("ledger_posting", "DELETE FROM ledger_posting WHERE id = %s", [posting])
    broken = _broken()
    assert broken.table == "ledger_posting" and f"entry #{book.commit.pk}" in broken.reason_en
    assert "deleted" in broken.reason_en and "400.00" in broken.reason_en


def test_an_inserted_posting_is_named(book: Book) -> None:
    budget = account_for(kind="budget")
    _tamper(
        "ledger_posting",
        "INSERT INTO ledger_posting (entry_id, account_id, currency, amount)"
        " VALUES (%s, %s, 'CNY', 1)",
        [book.commit.pk, budget.pk],
    )
    broken = _broken()
    assert broken.table == "ledger_posting" and "inserted" in broken.reason_en
    assert broken.row_id == max(book.posting_ids(book.commit))


def test_postings_swapped_within_an_entry_are_named_out_of_order(book: Book) -> None:
    first, second = book.posting_ids(book.allocate)
    source, budget = account_for(kind="source"), account_for(kind="budget")
    _tamper(
        "ledger_posting",
        "UPDATE ledger_posting SET amount = -amount, account_id = CASE WHEN id = %s THEN %s"
        " ELSE %s END WHERE id IN (%s, %s)",
        [first, budget.pk, source.pk, first, second],
    )
    broken = _broken()
    assert (broken.table, broken.row_id) == ("ledger_posting", first)
    assert "out of order" in broken.reason_en and "顺序" in broken.reason_zh


# --- rewriting the whole chain -----------------------------------------------------------


def _chain_rewrite(*, change: Callable[[AuditEvent], None]) -> None:
    """Apply ``change`` to the events it picks and recompute every hash from the start, so the
    chain links again; the head is moved along (it is updatable by design)."""
    prev = GENESIS
    for event in AuditEvent.objects.order_by("id"):
        change(event)
        event.prev_hash, event.hash = prev, event_hash(prev_hash=prev, event=event)
        _tamper(
            "core_auditevent",
            "UPDATE core_auditevent SET data = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [_json(event.data), event.prev_hash, event.hash, event.pk],
        )
        prev = event.hash
    _sql("UPDATE core_auditchainhead SET last_hash = %s WHERE id = 1", [prev])


def _json(data: object) -> str:
    from wotu.core.audit import canonical_json

    return canonical_json(data)


def _double_the_commitment(book: Book) -> Callable[[AuditEvent], None]:
    """Double the commitment in the ledger, and its event, as a forger would."""
    for posting in book.posting_ids(book.commit):
        _tamper("ledger_posting", "UPDATE ledger_posting SET amount = amount * 2 WHERE id = %s",
                [posting])  # fmt: skip

    def change(event: AuditEvent) -> None:
        if event.action == "ledger.entry" and event.subject_id == str(book.commit.pk):
            event.data["lines"] = [
                [code, currency, str(Decimal(amount) * 2)]
                for code, currency, amount in event.data["lines"]
            ]

    return change


def test_a_consistent_rewrite_passes_without_a_checkpoint(book: Book) -> None:
    _chain_rewrite(change=_double_the_commitment(book))
    assert audit_verify() is None  # why checkpoints exist


def test_a_consistent_rewrite_is_caught_by_an_earlier_checkpoint(
    book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOTU_AUDIT_KEY", KEY)
    checkpoint = audit_checkpoint(out_dir=tmp_path)
    _chain_rewrite(change=_double_the_commitment(book))
    broken = audit_verify(checkpoints_dir=tmp_path)
    assert broken is not None and broken.table == "core_auditevent"
    assert f"the chain was rewritten before checkpoint {checkpoint.name}" in broken.reason_en
    assert "之前被改写" in broken.reason_zh


def test_a_truncated_chain_with_a_moved_head_is_caught_by_the_checkpoint(
    book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOTU_AUDIT_KEY", KEY)
    audit_checkpoint(out_dir=tmp_path)
    last = _last_event_id()
    kept = AuditEvent.objects.get(pk=last - 1)
    _tamper("core_auditevent", "DELETE FROM core_auditevent WHERE id = %s", [last])
    _sql(
        "UPDATE core_auditchainhead SET last_id = %s, last_hash = %s WHERE id = 1",
        [kept.pk, kept.hash],
    )
    assert audit_verify() is not None  # the reversal's entry has lost its event
    broken = audit_verify(checkpoints_dir=tmp_path)
    assert broken is not None and "the chain ends at" in broken.reason_en


def test_a_tampered_checkpoint_file_is_named(
    book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOTU_AUDIT_KEY", KEY)
    path = audit_checkpoint(out_dir=tmp_path)
    path.write_text(path.read_text().replace('"ledger_entries": 3', '"ledger_entries": 2'))
    broken = audit_verify(checkpoints_dir=tmp_path)
    assert broken is not None and broken.table == "checkpoint"
    assert f"checkpoint file {path.name} tampered" in broken.reason_en


def test_a_checkpoint_signed_with_another_key_is_named_tampered(
    book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOTU_AUDIT_KEY", "another-key-" + KEY)
    audit_checkpoint(out_dir=tmp_path)
    monkeypatch.setenv("WOTU_AUDIT_KEY", KEY)
    broken = audit_verify(checkpoints_dir=tmp_path)
    assert broken is not None and "tampered" in broken.reason_en
