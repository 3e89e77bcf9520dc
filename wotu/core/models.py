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

from wotu.core.errors import WotuError

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


class AuditImmutableError(WotuError):
    def __init__(self) -> None:
        super().__init__(
            "审计事件只能追加，不能修改或删除",
            "audit events are append-only: they cannot be changed or deleted",
        )


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutableError

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AuditImmutableError


class AuditEvent(GuardedModel):
    """One domain event in the tamper-evident chain (append-only).

    ``hash`` = SHA-256 over ``prev_hash`` and the canonical JSON of the event (see
    :mod:`wotu.core.audit`). Rows are written only by :func:`wotu.core.audit.audit_record`,
    inside the transaction of the change they record.
    """

    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="audit_subject")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.subject_type}:{self.subject_id}"

    def is_locked(self) -> bool:
        return self.pk is not None

    def locked_error(self) -> Exception:
        return AuditImmutableError()


class AuditChainHead(models.Model):
    """A single row holding the chain's last hash; appenders lock it so the chain stays linear."""

    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"#{self.last_id} {self.last_hash[:12]}"
