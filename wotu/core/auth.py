"""How the REST API knows who is calling: a bearer token or the browser's Django session.

Both are accepted on every endpoint; the bearer token is tried first.

- ``Authorization: Bearer wotu_…`` — looked up by its SHA-256 digest. A token that is wrong,
  revoked or belongs to an inactive user is refused (401) outright, without falling back to
  the session, so a script with a bad token learns so instead of acting as someone else.
- The session cookie, as ninja's ``django_auth``, with Django's CSRF check for unsafe methods
  (send the ``csrftoken`` cookie's value in ``X-CSRFToken``). The check only runs for a logged-in
  session: an anonymous request gets 401, not a CSRF refusal.

Endpoints read the caller from ``request.auth`` (also set as ``request.user``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from wotu.core.models import User
from wotu.core.services import api_token_authenticate

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class BadToken(AuthenticationError):
    """A bearer token was sent but is unknown, revoked, or its user is inactive."""

    zh = "API 令牌无效、已撤销，或其用户已停用"
    en = "the API token is invalid or revoked, or its user is inactive"


class CsrfRefused(PermissionDenied):
    """A logged-in session sent an unsafe request without a valid CSRF token."""

    zh = "CSRF 校验失败：请在 X-CSRFToken 请求头中发送 csrftoken Cookie 的值"
    en = "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header"


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = api_token_authenticate(raw=token.strip())
        if user is None:
            raise BadToken
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # Unlike ninja's APIKeyCookie, check CSRF in authenticate(), once we know there is a
        # session to protect.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated or not user.is_active:
            return None
        if self._csrf_required(request) and check_csrf(request) is not None:
            raise CsrfRefused
        return user

    def _csrf_required(self, request: HttpRequest) -> bool:
        exempt = getattr(request, "_ninja_csrf_exempt", False)
        return self.csrf and not exempt and request.method not in SAFE_METHODS


api_auth = [TokenAuth(), SessionAuth()]
