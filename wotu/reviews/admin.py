"""The review models in Django's admin, for superusers' inspection. Changes that matter
(admission, dismissals, assignments, scores, closing) go through the services and their audit
events, so the workflow records are read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from wotu.reviews.models import (
    AdmissionCondition,
    Assignment,
    AssignmentRun,
    Conflict,
    Expert,
    ExpertRelation,
    Score,
    StageResult,
)


@admin.register(AdmissionCondition)
class AdmissionConditionAdmin(admin.ModelAdmin[AdmissionCondition]):
    list_display = ("code", "label", "label_en", "active", "order")
    list_editable = ("active", "order")


class ExpertRelationInline(admin.TabularInline[ExpertRelation, Expert]):
    model = ExpertRelation
    raw_id_fields = ("organisation",)
    extra = 0


@admin.register(Expert)
class ExpertAdmin(admin.ModelAdmin[Expert]):
    list_display = ("code", "name", "organisation", "region", "active", "admitted_at")
    list_filter = ("region", "active")
    search_fields = ("code", "name", "organisation__name")
    raw_id_fields = ("organisation", "user")
    readonly_fields = ("admission", "admitted_at")
    inlines = [ExpertRelationInline]


class ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conflict)
class ConflictAdmin(ReadOnly):
    list_display = ("application", "expert", "source", "dismissed_at")
    list_filter = ("source",)
    search_fields = ("application__reference", "expert__code")


@admin.register(AssignmentRun)
class AssignmentRunAdmin(ReadOnly):
    list_display = ("stage", "seed", "solver", "solver_version", "pairs", "created_at")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnly):
    list_display = ("stage", "application", "expert", "status", "declared_at")
    list_filter = ("status",)
    search_fields = ("application__reference", "expert__code")


@admin.register(Score)
class ScoreAdmin(ReadOnly):
    list_display = ("assignment", "total", "submitted_at")


@admin.register(StageResult)
class StageResultAdmin(ReadOnly):
    list_display = ("stage", "application", "mean", "normalised", "rank", "passed")
    list_filter = ("passed",)
