"""PostgreSQL guard for the audit chain (schema only; no data changes).

``core_auditevent`` refuses UPDATE and DELETE (a row trigger), so even raw SQL cannot rewrite an
event; the chain head (``core_auditchainhead``) stays updatable because every append moves it.
TRUNCATE is left alone on purpose: test databases use it to reset between transactional tests,
and only the database owner can run it. On SQLite this is skipped: the model and queryset refuse
changes there, and ``wotu audit verify`` finds any that slip through.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

REFUSE_CHANGE = r"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION
        '审计事件只能追加：表 % 不允许 % / audit events are append-only: % on % is refused',
        TG_TABLE_NAME, TG_OP, TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER core_auditevent_append_only
    BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""

REFUSE_CHANGE_REVERSE = """
DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;
DROP FUNCTION IF EXISTS audit_refuse_change();
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
        ("core", "0003_audit_chain"),
    ]

    operations = [
        PostgresOnlySQL(sql=REFUSE_CHANGE, reverse_sql=REFUSE_CHANGE_REVERSE),
    ]
