from __future__ import annotations

from django.urls import URLPattern, path

app_name = "ledger"

urlpatterns: list[URLPattern] = []

__all__ = ["path"]
