"""The REST API under /api/ (django-ninja), with OpenAPI docs at /api/docs.

Every endpoint takes a bearer token or the browser session (:mod:`wotu.core.auth`). Every
refusal has the same shape, in Chinese and English::

    {"detail": "<zh> / <en>", "detail_zh": "…", "detail_en": "…"}

401: not authenticated · 403: the role may not do this · 404: no such object, or not visible
to the caller (we do not reveal which) · 422: the request or its data is invalid.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.types import DictStrAny

from wotu.core.auth import api_auth
from wotu.core.errors import WotuError
from wotu.ledger.api import router as ledger_router
from wotu.organisations.api import router as organisations_router
from wotu.policies.api import router as policies_router
from wotu.programmes.api import router as programmes_router
from wotu.programmes.api_challenges import router as challenges_router
from wotu.reviews.api import router as reviews_router
from wotu.reviews.api_notice import router as notice_router


class ExactNumberParser(Parser):
    """JSON bodies with decimal numbers read as Decimal, never float (money stays exact)."""

    def parse_body(self, request: HttpRequest) -> DictStrAny:
        return cast(DictStrAny, json.loads(request.body, parse_float=Decimal))


api = NinjaAPI(
    title="Wotu API",
    version="1",
    description=(
        "沃土 — registry, policies, programmes and payments of a city S&T bureau. "
        "Authenticate with `Authorization: Bearer wotu_…` (create a token with "
        "`wotu apitoken create USERNAME`) or with a logged-in browser session."
    ),
    urls_namespace="api",
    auth=api_auth,
    parser=ExactNumberParser(),
)
api.add_router("/", organisations_router)
api.add_router("/", policies_router)
api.add_router("/", programmes_router)
api.add_router("/", reviews_router)
api.add_router("/", notice_router)
api.add_router("/", challenges_router)
api.add_router("/", ledger_router)


def problem(request: HttpRequest, status: int, zh: str, en: str, **extra: Any) -> HttpResponse:
    body = {"detail": f"{zh} / {en}", "detail_zh": zh, "detail_en": en, **extra}
    return api.create_response(request, body, status=status)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    zh = getattr(exc, "zh", "需要登录，或在 Authorization 请求头中发送有效的 API 令牌")
    en = getattr(exc, "en", "authentication required: log in, or send 'Authorization: Bearer …'")
    response = problem(request, 401, zh, en)
    response["WWW-Authenticate"] = 'Bearer realm="wotu"'
    return response


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    zh = getattr(exc, "zh", "您的角色无权执行此操作")
    en = getattr(exc, "en", "your role may not do this")
    return problem(request, 403, zh, en)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, 404, "未找到，或您无权查看", "not found, or not visible to you")


@api.exception_handler(ValidationError)
def _invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    zh, en = "请求参数无效", "the request is not valid"
    return problem(request, 422, zh, en, errors=exc.errors)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem(request, exc.status_code, f"请求无法处理：{exc.message}", exc.message)


@api.exception_handler(WotuError)
def _refused(request: HttpRequest, exc: WotuError) -> HttpResponse:
    return problem(request, 400, exc.zh, exc.en)
