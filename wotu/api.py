"""The REST API under /api/ (django-ninja), with OpenAPI docs at /api/docs."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Wotu API",
    version="1",
    description="沃土 — registry, policies, programmes and payments of a city S&T bureau.",
    urls_namespace="api",
)
