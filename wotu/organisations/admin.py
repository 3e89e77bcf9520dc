from __future__ import annotations

from django.contrib import admin

from wotu.organisations.models import EnterpriseYear, ImportBatch, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ("name", "kind", "region", "uscc", "local_id", "district_code")
    list_filter = ("kind", "region")
    search_fields = ("name", "name_en", "uscc", "local_id")


@admin.register(EnterpriseYear)
class EnterpriseYearAdmin(admin.ModelAdmin[EnterpriseYear]):
    list_display = ("organisation", "year", "revenue", "rd_expense", "employees")
    list_filter = ("year",)
    search_fields = ("organisation__name", "organisation__uscc")
    raw_id_fields = ("organisation", "batch")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin[ImportBatch]):
    list_display = ("filename", "imported_at", "imported_by", "rows", "created", "updated")
