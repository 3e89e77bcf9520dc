from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrganisationsConfig(AppConfig):
    name = "wotu.organisations"
    label = "organisations"
    verbose_name = _("Registry")
