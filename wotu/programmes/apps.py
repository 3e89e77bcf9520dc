from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgrammesConfig(AppConfig):
    name = "wotu.programmes"
    label = "programmes"
    verbose_name = _("Programmes")
