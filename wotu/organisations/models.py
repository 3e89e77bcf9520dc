"""The registry: organisations and their yearly facts (the facts contract in design.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from wotu.core.money import money_field


class Kind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    UNIVERSITY = "university", _("University")
    INSTITUTE = "institute", _("Research institute")
    BANK = "bank", _("Bank")


class Region(models.TextChoices):
    MAINLAND = "CN", _("Mainland China")
    HONG_KONG = "HK", _("Hong Kong")
    MACAO = "MO", _("Macao")


class Sector(models.TextChoices):
    INDUSTRIAL = "industrial", _("Industrial")
    SERVICE = "service", _("Service")
    OTHER = "other", _("Other")


class Organisation(models.Model):
    """An enterprise, university, research institute or bank.

    Mainland organisations are identified by their USCC; Hong Kong and Macao ones by their
    local registration (``local_id``: HK Business Registration number, Macao registry number).
    ``name``, ``district_code``, ``sector`` and ``manufacturing`` hold the latest imported year.
    """

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    region = models.CharField(_("region"), max_length=2, choices=Region.choices, default="CN")
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    uscc = models.CharField(_("USCC"), max_length=18, unique=True, null=True, blank=True)
    local_id = models.CharField(_("local registration number"), max_length=40, blank=True)
    district_code = models.CharField(_("district"), max_length=6, blank=True, db_index=True)
    registered_on = models.DateField(_("registered on"), null=True, blank=True)
    sector = models.CharField(_("sector"), max_length=10, choices=Sector.choices, blank=True)
    manufacturing = models.BooleanField(_("manufacturing"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["kind", "region"], name="org_kind_region"),
            models.Index(fields=["name", "id"], name="org_name_id"),
        ]
        constraints = [
            models.CheckConstraint(
                name="org_mainland_enterprise_has_uscc",
                condition=~models.Q(kind="enterprise", region="CN") | models.Q(uscc__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def identifier(self) -> str:
        return self.uscc or self.local_id


class ImportBatch(models.Model):
    """One successful import of a facts file: who, when, what, and what it changed."""

    kind = models.CharField(max_length=20, default="facts")
    filename = models.CharField(_("file"), max_length=255)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(_("rows"))
    created = models.PositiveIntegerField(_("created"))
    updated = models.PositiveIntegerField(_("updated"))
    unchanged = models.PositiveIntegerField(_("unchanged"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.imported_at:%Y-%m-%d %H:%M})"


class EnterpriseYear(models.Model):
    """One row of the facts contract: an enterprise's figures for one fiscal year.

    Optional money columns stay NULL when the file left them empty, so that an export writes
    the same cells back; readers apply the contract's defaults (e.g. rd_expense_domestic
    defaults to rd_expense) through :mod:`wotu.organisations.facts`.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="years", verbose_name=_("organisation")
    )
    year = models.PositiveSmallIntegerField(_("year"))
    name = models.CharField(_("name"), max_length=200)
    district_code = models.CharField(_("district"), max_length=6, blank=True)
    registered_on = models.DateField(_("registered on"))
    sector = models.CharField(_("sector"), max_length=10, choices=Sector.choices, blank=True)
    manufacturing = models.BooleanField(_("manufacturing"), default=False)
    above_designated_size = models.BooleanField(_("above designated size"), default=False)
    employees = models.PositiveIntegerField(_("employees"))
    st_staff = models.PositiveIntegerField(_("S&T staff"))
    revenue = money_field(_("revenue"))
    total_costs = money_field(_("total costs"), null=True)
    total_assets = money_field(_("total assets"), null=True)
    net_assets = money_field(_("net assets"), null=True)
    rd_expense = money_field(_("R&D expense"))
    rd_expense_domestic = money_field(_("domestic R&D expense"), null=True)
    rd_deductible = money_field(_("deductible R&D"), null=True)
    hitech_revenue = money_field(_("high-tech revenue"), null=True)
    ip_class1 = models.PositiveIntegerField(_("Class I IP"), null=True, blank=True)
    ip_class2 = models.PositiveIntegerField(_("Class II IP"), null=True, blank=True)
    conversions = models.PositiveIntegerField(_("conversions"), null=True, blank=True)
    hitech_cert_year = models.PositiveSmallIntegerField(
        _("high-tech certificate year"), null=True, blank=True
    )
    hitech_first_cert_year = models.PositiveSmallIntegerField(
        _("first high-tech certificate year"), null=True, blank=True
    )
    tech_sme_number = models.CharField(_("tech-SME number"), max_length=40, blank=True)
    in_listing_pool = models.BooleanField(_("in listing pool"), default=False)
    listed = models.BooleanField(_("listed"), default=False)
    incident = models.BooleanField(_("major incident"), default=False)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("enterprise-year facts")
        verbose_name_plural = _("enterprise-year facts")
        ordering = ["organisation_id", "year"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "year"], name="facts_one_row_per_year"),
            models.CheckConstraint(
                name="facts_st_staff_within_employees",
                condition=models.Q(st_staff__lte=models.F("employees")),
            ),
            models.CheckConstraint(
                name="facts_revenue_not_negative", condition=models.Q(revenue__gte=0)
            ),
            models.CheckConstraint(
                name="facts_rd_expense_not_negative", condition=models.Q(rd_expense__gte=0)
            ),
        ]
        indexes = [
            models.Index(fields=["year", "organisation"], name="facts_year_org"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.year}"
