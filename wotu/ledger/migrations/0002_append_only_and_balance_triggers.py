"""PostgreSQL guards for the ledger (schema only; no data changes).

- ``ledger_journalentry`` and ``ledger_posting`` refuse UPDATE and DELETE (row triggers), so
  even raw SQL cannot rewrite history; a correction is a reversing entry. TRUNCATE is left
  alone on purpose: it is what test databases use to reset between transactional tests, and
  only the database owner can run it.
- A DEFERRABLE INITIALLY DEFERRED constraint trigger on ``ledger_posting`` checks, at commit,
  that the entry of every inserted posting sums to zero per currency and that the posting's
  currency is its account's.

On SQLite these are skipped: the models and querysets refuse changes there (and SQLite's test
flush deletes rows, which a trigger would block).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

REFUSE_CHANGE = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION
        '账簿只能追加：表 % 不允许 %，如需更正请做冲销分录 / ledger rows are append-only: % on % is refused; post a reversing entry instead',
        TG_TABLE_NAME, TG_OP, TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER ledger_journalentry_append_only
    BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_posting_append_only
    BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

REFUSE_CHANGE_REVERSE = """
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_journalentry_append_only ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""

BALANCED = r"""
CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    account_currency varchar(3);
BEGIN
    SELECT currency INTO account_currency FROM ledger_account WHERE id = NEW.account_id;
    IF account_currency IS DISTINCT FROM NEW.currency THEN
        RAISE EXCEPTION
            '分录 #% 的过账币种 % 与账户币种 % 不符 / entry #%: a posting in % on an account in %',
            NEW.entry_id, NEW.currency, account_currency,
            NEW.entry_id, NEW.currency, account_currency
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency, SUM(amount) AS total INTO bad
        FROM ledger_posting WHERE entry_id = NEW.entry_id
        GROUP BY currency HAVING SUM(amount) <> 0
        ORDER BY currency LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION
            '分录 #% 按 % 不平衡：借贷相差 % / entry #% does not balance in %: off by %',
            NEW.entry_id, bad.currency, bad.total, NEW.entry_id, bad.currency, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
"""

BALANCED_REVERSE = """
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_entry_balanced();
"""


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that runs only on PostgreSQL (both directions); a no-op elsewhere."""

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_accounts_entries_commitments_payments"),
    ]

    operations = [
        PostgresOnlySQL(sql=REFUSE_CHANGE, reverse_sql=REFUSE_CHANGE_REVERSE),
        PostgresOnlySQL(sql=BALANCED, reverse_sql=BALANCED_REVERSE),
    ]
