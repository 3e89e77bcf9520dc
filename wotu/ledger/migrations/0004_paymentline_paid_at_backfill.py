"""Data: give lines paid before ``PaymentLine.paid_at`` existed the time of their
``payment.paid`` audit event (written in the same transaction as the ``paid`` entry).
Reversing leaves the column as it is (0003 drops it)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def paid_at_backfill(apps: Any, schema_editor: Any) -> None:
    payment_line = apps.get_model("ledger", "PaymentLine")
    audit_event = apps.get_model("core", "AuditEvent")
    events = audit_event.objects.filter(
        action="payment.paid", subject_type="ledger.paymentline"
    ).values_list("subject_id", "at")
    for subject_id, at in events.iterator():
        if subject_id.isdigit():
            payment_line.objects.filter(pk=int(subject_id), paid_at__isnull=True).update(paid_at=at)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_audit_append_only_trigger"),
        ("ledger", "0003_paymentline_paid_at_tranche_cancelled"),
    ]

    operations = [migrations.RunPython(paid_at_backfill, migrations.RunPython.noop)]
