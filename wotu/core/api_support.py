"""What the REST routers with public (no-token) endpoints share: the refusal body and the
responses it is declared for, and the caller of an authenticated endpoint.

A public endpoint says ``auth=None``; every other endpoint is authenticated by
:data:`wotu.core.auth.api_auth`, which sets ``request.auth`` to the calling user.
"""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja import Schema

from wotu.core.models import User


# A refusal: ``detail`` is ``detail_zh / detail_en``. No docstring: it would become the schema's
# description in the published OpenAPI document, which stays as it was.
class ProblemOut(Schema):
    detail: str
    detail_zh: str
    detail_en: str


REFUSALS: dict[int | str, Any] = {400: ProblemOut, 401: ProblemOut, 403: ProblemOut,
                                  404: ProblemOut}  # fmt: skip


def caller(request: HttpRequest) -> User:
    """The authenticated user of a request that passed the router's auth (never anonymous)."""
    return cast(User, request.auth)  # type: ignore[attr-defined]
