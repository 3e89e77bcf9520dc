from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "wotu.policies"
    label = "policies"
    verbose_name = _("Policies")
