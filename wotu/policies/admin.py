"""Runs in the admin: to look at, never to change (runs are records; see models.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from wotu.policies.models import PolicyRun, RunResult


class ReadOnly:
    """No adding, changing or deleting from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PolicyRun)
class PolicyRunAdmin(ReadOnly, admin.ModelAdmin[PolicyRun]):
    list_display = ("id", "policy_id", "year", "status", "progress", "scenario", "created_by",
                    "created_at", "finished_at")  # fmt: skip
    list_filter = ("policy_id", "year", "status", "kind")
    search_fields = ("policy_id", "scenario")
    list_select_related = ("created_by",)


@admin.register(RunResult)
class RunResultAdmin(ReadOnly, admin.ModelAdmin[RunResult]):
    list_display = ("run", "uscc", "name", "scheme", "amount", "district_code")
    list_filter = ("run__policy_id", "run__year", "scheme")
    search_fields = ("uscc", "name")
    list_select_related = ("run",)
    raw_id_fields = ("run", "organisation")
