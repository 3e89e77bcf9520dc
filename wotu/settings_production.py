"""Production settings: everything secure, the secret key and the audit checkpoint key from the
environment only."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from wotu.settings import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "生产环境须通过环境变量 SECRET_KEY 提供至少 50 个字符的密钥 / "
        "production needs SECRET_KEY in the environment, at least 50 characters"
    )
# The audit checkpoints' signing key (wotu.core.audit): environment only, never the database.
if len(os.environ.get("WOTU_AUDIT_KEY", "")) < 32:
    raise ImproperlyConfigured(
        "生产环境须通过环境变量 WOTU_AUDIT_KEY 提供至少 32 个字符的审计检查点签名密钥 / "
        "production needs WOTU_AUDIT_KEY in the environment, at least 32 characters"
        " (it signs the audit checkpoints)"
    )
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
