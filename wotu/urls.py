from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from wotu.api import api

urlpatterns = [
    path("", include("wotu.core.urls")),
    path("registry/", include("wotu.organisations.urls")),
    path("policies/", include("wotu.policies.urls")),
    path("programmes/", include("wotu.programmes.urls")),
    path("challenges/", include("wotu.programmes.urls_challenges")),
    path("reviews/", include("wotu.reviews.urls")),
    path("notices/", include("wotu.reviews.urls_notice")),
    path("ledger/", include("wotu.ledger.urls")),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
