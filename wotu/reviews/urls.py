from __future__ import annotations

from django.urls import URLPattern, path

app_name = "reviews"

urlpatterns: list[URLPattern] = []

__all__ = ["path"]
