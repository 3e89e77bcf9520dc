"""Reads from the registry, always scoped to what the asking user may see.

Every view, endpoint and export fetches organisations and facts through these functions.
``PermissionDenied`` means the role may not look at this kind of data at all; ``Http404``
means this particular object is not visible to the user (we do not reveal that it exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.http import Http404

from wotu.core import permissions
from wotu.core.models import User
from wotu.organisations.models import EnterpriseYear, Organisation

QUALIFICATIONS = ("tech_sme", "hitech", "listing_pool", "listed")


@dataclass(frozen=True)
class RegistryFilter:
    q: str = ""
    kind: str = ""
    region: str = ""
    district: str = ""
    qualification: str = ""
    year: int | None = None


def latest_fact_year() -> int | None:
    value = EnterpriseYear.objects.aggregate(newest=Max("year"))["newest"]
    return int(value) if value is not None else None


def organisation_list_for_user(
    *, user: User, filters: RegistryFilter | None = None
) -> QuerySet[Organisation]:
    if not permissions.can_browse_registry(user):
        raise PermissionDenied
    queryset = Organisation.objects.all()
    if not permissions.sees_whole_registry(user):
        queryset = queryset.filter(pk=user.organisation_id or 0)
    return _filtered(queryset, filters or RegistryFilter(), user=user)


def _filtered(
    queryset: QuerySet[Organisation], f: RegistryFilter, *, user: User
) -> QuerySet[Organisation]:
    q = f.q.strip()
    if q:
        queryset = queryset.filter(
            Q(name__icontains=q) | Q(name_en__icontains=q) | Q(uscc__startswith=q.upper())
            | Q(local_id__iexact=q)
        )  # fmt: skip
    if f.kind:
        queryset = queryset.filter(kind=f.kind)
    if f.region:
        queryset = queryset.filter(region=f.region)
    if f.district:
        queryset = queryset.filter(district_code=f.district)
    if f.qualification in QUALIFICATIONS:
        year = f.year or latest_fact_year()
        queryset = queryset.filter(Exists(_qualified_years(f.qualification, year)))
    return queryset.order_by("name", "id")


def _qualified_years(qualification: str, year: int | None) -> QuerySet[EnterpriseYear]:
    rows = EnterpriseYear.objects.filter(organisation=OuterRef("pk"), year=year or 0)
    if qualification == "tech_sme":
        return rows.exclude(tech_sme_number="")
    if qualification == "hitech":
        # A certificate is valid in the year it was issued and the two after.
        return rows.filter(hitech_cert_year__isnull=False, hitech_cert_year__gte=(year or 0) - 2)
    if qualification == "listing_pool":
        return rows.filter(in_listing_pool=True)
    return rows.filter(listed=True)


def organisation_get_for_user(*, user: User, pk: int) -> Organisation:
    if not permissions.can_browse_registry(user):
        raise PermissionDenied
    if not permissions.sees_whole_registry(user) and user.organisation_id != pk:
        raise Http404
    try:
        return Organisation.objects.get(pk=pk)
    except Organisation.DoesNotExist as exc:
        raise Http404 from exc


def facts_list_for_user(*, user: User, organisation: Organisation) -> QuerySet[EnterpriseYear]:
    if not permissions.can_view_facts(user, organisation.pk):
        raise PermissionDenied
    return EnterpriseYear.objects.filter(organisation=organisation).order_by("year")


def facts_get_for_user(*, user: User, organisation: Organisation, year: int) -> EnterpriseYear:
    try:
        return facts_list_for_user(user=user, organisation=organisation).get(year=year)
    except EnterpriseYear.DoesNotExist as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class Certificate:
    issue_year: int
    valid_through: int
    first: bool


@dataclass
class Qualifications:
    tech_sme: list[tuple[int, str]] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    listing_pool_years: list[int] = field(default_factory=list)
    listed_since: int | None = None


def qualifications_for_user(*, user: User, organisation: Organisation) -> Qualifications:
    """Tech-SME numbers, high-tech certificates and listing, derived from the yearly facts.

    These are published information (registries and certificate lists are public), so every
    role that may open the organisation sees them, bank officers included.
    """
    if not permissions.can_browse_registry(user):
        raise PermissionDenied
    rows = EnterpriseYear.objects.filter(organisation=organisation).order_by("year")
    result = Qualifications()
    cert_years: dict[int, bool] = {}
    for row in rows.only("year", "tech_sme_number", "hitech_cert_year", "hitech_first_cert_year",
                         "in_listing_pool", "listed"):  # fmt: skip
        if row.tech_sme_number:
            result.tech_sme.append((row.year, row.tech_sme_number))
        if row.hitech_first_cert_year is not None:
            cert_years[row.hitech_first_cert_year] = True
        if row.hitech_cert_year is not None:
            first = row.hitech_cert_year == row.hitech_first_cert_year
            cert_years[row.hitech_cert_year] = cert_years.get(row.hitech_cert_year, False) or first
        if row.in_listing_pool:
            result.listing_pool_years.append(row.year)
        if row.listed and result.listed_since is None:
            result.listed_since = row.year
    result.certificates = [
        Certificate(issue_year=y, valid_through=y + 2, first=first)
        for y, first in sorted(cert_years.items())
    ]
    return result


def facts_export_rows(*, user: User | None, year: int) -> list[list[object]]:
    """Every enterprise's facts for ``year`` as rows in the contract's column order.

    ``user=None`` is the command line (operator access). Rows are ordered by USCC so the same
    registry always exports the same file.
    """
    from wotu.organisations.facts import COLUMN_NAMES

    if user is not None and not permissions.can_export_facts(user):
        raise PermissionDenied
    fields = [name for name in COLUMN_NAMES if name != "uscc"]
    rows = (
        EnterpriseYear.objects.filter(year=year, organisation__uscc__isnull=False)
        .order_by("organisation__uscc")
        .values_list("organisation__uscc", *fields)
    )
    return [list(row) for row in rows.iterator(chunk_size=5000)]
