"""Writes for accounts: API tokens.

A raw token (``wotu_…``) is shown once, when it is created, and never stored: the database
keeps only its SHA-256 digest and its first characters (so a person can tell tokens apart).
Revoking a token deletes it; requests carrying it are refused from then on.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from wotu.core.errors import WotuError
from wotu.core.models import ApiToken, User

PREFIX_LENGTH = 8  # "wotu_" and three characters of the secret: enough to tell tokens apart
TOUCH_INTERVAL = dt.timedelta(minutes=1)


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``. Returns the stored token and the raw secret (shown once)."""
    name = name.strip()
    if not name:
        raise WotuError("令牌名称不能为空", "a token needs a name")
    raw = ApiToken.new_raw()
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=raw[:PREFIX_LENGTH], digest=ApiToken.digest_of(raw)
    )
    return token, raw


def api_token_revoke(*, token_id: int) -> ApiToken:
    """Delete the token with this id; returns it (unsaved) so the caller can say which it was."""
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None:
        raise WotuError(f"没有编号为 {token_id} 的 API 令牌", f"there is no API token {token_id}")
    token.delete()
    return token


def api_token_authenticate(*, raw: str) -> User | None:
    """The active user a raw token belongs to, or None for an unknown token or inactive user.

    Records when the token was last used, at most once a minute, with one conditional UPDATE
    (so a burst of API calls does not turn every read into a write).
    """
    if not raw.startswith("wotu_"):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOUCH_INTERVAL)
    ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
    return token.user
