"""The ledger in the Django admin: for looking, never for moving money.

Entries, postings, commitments, tranches, batches and payments change only through the
services (:mod:`wotu.ledger.services`, :mod:`wotu.ledger.payments`), which post balanced entries
under idempotency keys and write audit events; so they are read only here. Funding sources are
reference data and may be added or renamed (never deleted: accounts point at them).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from wotu.ledger.models import (
    Account,
    BatchApproval,
    Commitment,
    FundingSource,
    FxRate,
    IdempotencyRecord,
    JournalEntry,
    PayeeAccount,
    PaymentBatch,
    PaymentLine,
    Posting,
    Tranche,
)


class ReadOnly:
    """No adding, changing or deleting from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FundingSource)
class FundingSourceAdmin(admin.ModelAdmin[FundingSource]):
    list_display = ("code", "kind", "name", "name_en", "district_code")
    list_filter = ("kind",)
    search_fields = ("code", "name", "name_en")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnly, admin.ModelAdmin[Account]):
    list_display = ("code", "kind", "currency", "year")
    list_filter = ("kind", "currency", "year", "source")
    search_fields = ("code",)


class PostingInline(ReadOnly, admin.TabularInline[Posting, JournalEntry]):
    model = Posting
    fields = ("account", "currency", "amount")
    readonly_fields = fields
    extra = 0


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnly, admin.ModelAdmin[JournalEntry]):
    list_display = ("id", "kind", "posted_at", "memo", "actor", "subject_type", "subject_id",
                    "reverses")  # fmt: skip
    list_filter = ("kind",)
    search_fields = ("memo", "subject_id")
    list_select_related = ("actor",)
    inlines = [PostingInline]


class TrancheInline(ReadOnly, admin.TabularInline[Tranche, Commitment]):
    model = Tranche
    fields = ("order", "due_on", "amount", "milestone", "status")
    readonly_fields = fields
    extra = 0


@admin.register(Commitment)
class CommitmentAdmin(ReadOnly, admin.ModelAdmin[Commitment]):
    list_display = ("id", "award_type", "award_id", "programme", "year", "source", "payee",
                    "amount", "created_at")  # fmt: skip
    list_filter = ("year", "source", "award_type")
    search_fields = ("award_id", "payee__name", "payee__uscc")
    list_select_related = ("programme", "source", "payee")
    inlines = [TrancheInline]


class PaymentLineInline(ReadOnly, admin.TabularInline[PaymentLine, PaymentBatch]):
    model = PaymentLine
    fields = ("reference", "payee", "amount_cny", "currency", "amount", "fx_rate", "status")
    readonly_fields = fields
    extra = 0


@admin.register(PaymentBatch)
class PaymentBatchAdmin(ReadOnly, admin.ModelAdmin[PaymentBatch]):
    list_display = ("reference", "status", "prepared_by", "created_at", "exported_at")
    list_filter = ("status",)
    search_fields = ("reference",)
    inlines = [PaymentLineInline]


@admin.register(BatchApproval)
class BatchApprovalAdmin(ReadOnly, admin.ModelAdmin[BatchApproval]):
    list_display = ("batch", "approver", "approved_at")


@admin.register(FxRate)
class FxRateAdmin(ReadOnly, admin.ModelAdmin[FxRate]):
    list_display = ("date", "currency", "rate", "source")
    list_filter = ("currency",)


@admin.register(PayeeAccount)
class PayeeAccountAdmin(ReadOnly, admin.ModelAdmin[PayeeAccount]):
    list_display = ("organisation", "bank_name", "currency", "preferred")
    list_filter = ("currency",)
    search_fields = ("organisation__name", "bank_name")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnly, admin.ModelAdmin[IdempotencyRecord]):
    list_display = ("key", "scope", "created_at")
    search_fields = ("key",)
