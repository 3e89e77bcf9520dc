"""PostgreSQL refuses, even to raw SQL, what the models refuse: changing or deleting ledger
rows, and committing an entry that does not balance per currency (migration 0002)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from wotu.core.models import User
from wotu.ledger.models import AccountKind, EntryKind, JournalEntry, Posting
from wotu.ledger.posting import account_for, entry_post

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database triggers exist on PostgreSQL only"
)


def _entry(actor: User) -> JournalEntry:
    return entry_post(
        kind=EntryKind.ALLOCATE,
        lines=[(account_for(kind=AccountKind.SOURCE), Decimal("10")),
               (account_for(kind=AccountKind.BUDGET), Decimal("-10"))],
        actor=actor,
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_posting SET amount = amount * 2",
        "DELETE FROM ledger_posting",
        "UPDATE ledger_journalentry SET memo = 'rewritten'",
        "DELETE FROM ledger_journalentry",
    ],
)
def test_raw_sql_cannot_change_or_delete_ledger_rows(bob: User, sql: str) -> None:
    _entry(bob)
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    amounts = sorted(Posting.objects.values_list("amount", flat=True))
    assert amounts == [Decimal("-10.00"), Decimal("10.00")]


@pytest.mark.django_db(transaction=True)
def test_an_unbalanced_raw_insert_fails_when_the_transaction_commits(bob: User) -> None:
    entry = _entry(bob)
    account = account_for(kind=AccountKind.BUDGET)
    with (
        pytest.raises(IntegrityError, match=f"entry #{entry.pk} does not balance in CNY"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, currency, amount)"
            " VALUES (%s, %s, 'CNY', 5)",
            [entry.pk, account.pk],
        )
    assert Posting.objects.filter(entry=entry).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_posting_in_another_currency_than_its_account_fails_at_commit(bob: User) -> None:
    entry = _entry(bob)
    account = account_for(kind=AccountKind.BUDGET)
    with (
        pytest.raises(IntegrityError, match="a posting in HKD on an account in CNY"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO ledger_posting (entry_id, account_id, currency, amount)"
            " VALUES (%s, %s, 'HKD', 5), (%s, %s, 'HKD', -5)",
            [entry.pk, account.pk, entry.pk, account.pk],
        )


@pytest.mark.django_db(transaction=True)
def test_balanced_entries_commit_normally(bob: User) -> None:
    _entry(bob)
    assert Posting.objects.count() == 2
