"""Settings, read from the environment.

DATABASE_URL   any form dj-database-url accepts; default sqlite:///var/wotu.sqlite3
SECRET_KEY     required when DEBUG is off
DEBUG          "1" to turn on debugging (the demo does)
ALLOWED_HOSTS  comma-separated
WOTU_TASKS_BACKEND  the django-tasks backend for long jobs; default the database queue
               (django_tasks_db.DatabaseBackend, run by `wotu db_worker`);
               django_tasks.backends.immediate.ImmediateBackend runs them in the request
WOTU_TWO_APPROVER_THRESHOLD  payment batches above this many CNY need two approvers besides
               the preparer; default 1000000
WOTU_OPEN_DATA_PREFIX  the 360Giving identifier prefix of this bureau; default 360G-wotu
WOTU_AUDIT_KEY the key that signs audit checkpoints (required in production)
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url
import django_stubs_ext

# Lets ModelAdmin[Model] and QuerySet[Model] be written at run time as the type checker sees them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WOTU_VAR_DIR", BASE_DIR / "var"))


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_flag("DEBUG")
# Development and tests get a fixed key; production settings refuse to start without one.
SECRET_KEY = os.environ.get("SECRET_KEY", "wotu-insecure-development-key-not-for-production")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # Listed so /api/docs serves Swagger UI from ninja's bundled static files, not a CDN.
    "ninja",
    # Background jobs (policy runs over the registry): django-tasks with its database backend,
    # so no extra server is needed; `wotu db_worker` executes them.
    "django_tasks",
    "django_tasks_db",
    "wotu.core",
    "wotu.organisations",
    "wotu.policies",
    "wotu.programmes",
    "wotu.reviews",
    "wotu.ledger",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "wotu.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "wotu.urls"
WSGI_APPLICATION = "wotu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'wotu.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers carry on while an import writes; busy timeout instead of instant errors.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }

AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "wotu" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [
    # Front-end packages installed by `npm ci` (package.json); never copied into the repository.
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
]
# The SQLite file, collected static files and uploads live under var/; make sure it exists.
for _folder in (VAR_DIR, STATIC_ROOT):
    _folder.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = VAR_DIR / "media"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Long jobs (policy runs over the registry) are queued in the database and executed by
# `wotu db_worker`. Tests and the demo build use the immediate backend or run them in-process.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("WOTU_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Uploads: a facts file may be large; refuse anything bigger than this (bytes).
WOTU_MAX_UPLOAD_BYTES = int(os.environ.get("WOTU_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
# POST /api/policies/{id}/evaluate reads its JSON body itself (100,000 facts rows are ~60 MB).
WOTU_MAX_EVALUATE_BYTES = int(os.environ.get("WOTU_MAX_EVALUATE_BYTES", str(200 * 1024 * 1024)))

# Money: batches above this total need two approvers besides the preparer (issue 5).
WOTU_TWO_APPROVER_THRESHOLD = Decimal(os.environ.get("WOTU_TWO_APPROVER_THRESHOLD", "1000000"))
WOTU_OPEN_DATA_PREFIX = os.environ.get("WOTU_OPEN_DATA_PREFIX", "360G-wotu")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
