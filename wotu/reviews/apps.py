from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "wotu.reviews"
    label = "reviews"
    verbose_name = _("Reviews")
