"""Programmes, calls and applications in the Django admin: for looking, not for deciding.

An application's status, stage and feedback are read only here: they change only through
:func:`wotu.programmes.workflow.application_transition` (with its audit event), i.e. the
formal check and review pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from wotu.programmes.models import Application, Attachment, Call, Programme, Stage


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin[Programme]):
    list_display = ("code", "title", "year", "budget", "hkmo_may_lead")
    list_filter = ("year", "hkmo_may_lead")
    search_fields = ("code", "title", "title_en")


class StageInline(admin.TabularInline[Stage, Call]):
    model = Stage
    extra = 0
    fields = ("order", "kind", "panel_size", "max_load", "min_hkmo", "normalise", "status")
    readonly_fields = ("status",)


@admin.register(Call)
class CallAdmin(admin.ModelAdmin[Call]):
    list_display = ("code", "title", "programme", "opens_at", "closes_at", "status")
    list_filter = ("status", "programme")
    search_fields = ("code", "title", "title_en")
    readonly_fields = ("status", "created_by")
    inlines = [StageInline]


class AttachmentInline(admin.TabularInline[Attachment, Application]):
    model = Attachment
    extra = 0
    fields = ("field", "original_name", "kind", "size", "sha256", "uploaded_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin[Application]):
    list_display = ("reference", "title", "organisation", "call", "status", "submitted_at")
    list_filter = ("status", "call")
    search_fields = ("reference", "title", "organisation__name")
    readonly_fields = ("status", "stage", "feedback", "submitted_at", "proposed", "created_by")
    raw_id_fields = ("organisation", "partners")
    inlines = [AttachmentInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
