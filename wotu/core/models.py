"""Accounts: who may do what. A user has one role; applicants and bank officers belong to one
organisation (an applicant to an enterprise or institution, a bank officer to a bank)."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from wotu.organisations.models import Organisation


class GuardedModel(models.Model):
    """A row that refuses ``save()`` and ``delete()`` once :meth:`is_locked` says so (finished
    runs, ledger entries…). Subclasses define ``is_locked`` and ``locked_error``. Querysets that
    bypass ``save()`` need their own guard."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.is_locked():
            raise self.locked_error()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.is_locked():
            raise self.locked_error()
        return super().delete(*args, **kwargs)

    def is_locked(self) -> bool:
        raise NotImplementedError

    def locked_error(self) -> Exception:
        raise NotImplementedError


class Role(models.TextChoices):
    BUREAU_OFFICER = "bureau_officer", _("Bureau officer")
    FINANCE_OFFICER = "finance_officer", _("Finance officer")
    EXPERT = "expert", _("Expert reviewer")
    APPLICANT = "applicant", _("Applicant")
    BANK_OFFICER = "bank_officer", _("Bank officer")


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    organisation: models.ForeignKey[Organisation | None, Organisation | None] = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text=_("Applicants: their enterprise or institution. Bank officers: their bank."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                name="core_user_org_only_for_applicants_and_banks",
                condition=models.Q(organisation__isnull=True)
                | models.Q(role__in=["applicant", "bank_officer"]),
            ),
        ]

    def clean(self) -> None:
        super().clean()
        needs_org = self.role in (Role.APPLICANT, Role.BANK_OFFICER)
        if needs_org and self.organisation_id is None:
            raise ValidationError(
                {"organisation": _("Applicants and bank officers must belong to an organisation.")}
            )
        if not needs_org and self.organisation_id is not None:
            raise ValidationError(
                {"organisation": _("Only applicants and bank officers belong to an organisation.")}
            )
        if self.organisation is not None:
            is_bank = self.organisation.kind == "bank"
            if self.role == Role.BANK_OFFICER and not is_bank:
                raise ValidationError({"organisation": _("A bank officer must belong to a bank.")})
            if self.role == Role.APPLICANT and is_bank:
                raise ValidationError({"organisation": _("An applicant cannot belong to a bank.")})


class ApiToken(models.Model):
    """A bearer token for the REST API. Only a SHA-256 of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @staticmethod
    def new_raw() -> str:
        return "wotu_" + secrets.token_urlsafe(32)
