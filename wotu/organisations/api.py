"""The registry's REST endpoints: organisations, their qualifications and yearly facts, imports.

Every endpoint is thin: it parses, calls one permission-scoped selector or one service, and
renders. Who may do what is decided in :mod:`wotu.core.permissions` (through the selectors);
PermissionDenied becomes 403 and Http404 becomes 404 in :mod:`wotu.api`.
"""

from __future__ import annotations

import math
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import File, Query, Router, Status, UploadedFile

from wotu.core import permissions
from wotu.core.models import User
from wotu.organisations.facts import FactError
from wotu.organisations.models import EnterpriseYear, Organisation
from wotu.organisations.schemas import (
    FactsIn,
    FactsInvalid,
    FactsOut,
    ImportInvalid,
    ImportOut,
    OrganisationOut,
    OrganisationPage,
    Problem,
    QualificationsOut,
    RegistryQuery,
)
from wotu.organisations.selectors import (
    RegistryFilter,
    facts_get_for_user,
    facts_list_for_user,
    organisation_get_for_user,
    organisation_list_for_user,
    qualifications_for_user,
)
from wotu.organisations.services import ImportResult, facts_import_upload, facts_save_one

router = Router(tags=["registry"])

REFUSALS: dict[int | str, Any] = {401: Problem, 403: Problem, 404: Problem}


def _caller(request: HttpRequest) -> User:
    """The authenticated user (wotu.core.auth sets ``request.auth``)."""
    return cast(User, request.auth)  # type: ignore[attr-defined]


# --- organisations ------------------------------------------------------------------------


@router.get("/organisations", response={200: OrganisationPage, **REFUSALS})
def organisation_list(request: HttpRequest, query: Query[RegistryQuery]) -> dict[str, Any]:
    """Search the registry: an applicant sees only its own organisation."""
    filters = RegistryFilter(
        q=query.q,
        kind=query.kind or "",
        region=query.region or "",
        district=query.district,
        qualification=query.qualification or "",
        year=query.year,
    )
    organisations = organisation_list_for_user(user=_caller(request), filters=filters)
    return _page(organisations, page=query.page, size=query.page_size)


def _page(queryset: QuerySet[Organisation], *, page: int, size: int) -> dict[str, Any]:
    total = queryset.count()
    start = (page - 1) * size
    return {
        "items": list(queryset[start : start + size]),
        "total": total,
        "page": page,
        "page_size": size,
        "pages": math.ceil(total / size),
    }


@router.get("/organisations/{organisation_id}", response={200: OrganisationOut, **REFUSALS})
def organisation_get(request: HttpRequest, organisation_id: int) -> Organisation:
    return organisation_get_for_user(user=_caller(request), pk=organisation_id)


@router.get(
    "/organisations/{organisation_id}/qualifications",
    response={200: QualificationsOut, **REFUSALS},
)
def organisation_qualifications(request: HttpRequest, organisation_id: int) -> dict[str, Any]:
    """Tech-SME numbers, high-tech certificates and listing, derived from the yearly facts."""
    user = _caller(request)
    organisation = organisation_get_for_user(user=user, pk=organisation_id)
    found = qualifications_for_user(user=user, organisation=organisation)
    return {
        "tech_sme": [{"year": year, "number": number} for year, number in found.tech_sme],
        "certificates": found.certificates,
        "listing_pool_years": found.listing_pool_years,
        "listed_since": found.listed_since,
    }


# --- yearly facts -------------------------------------------------------------------------


@router.get("/organisations/{organisation_id}/facts", response={200: list[FactsOut], **REFUSALS})
def facts_list(request: HttpRequest, organisation_id: int) -> QuerySet[EnterpriseYear]:
    """Every year on record, oldest first."""
    user = _caller(request)
    organisation = organisation_get_for_user(user=user, pk=organisation_id)
    return facts_list_for_user(user=user, organisation=organisation).select_related("organisation")


@router.get("/organisations/{organisation_id}/facts/{year}", response={200: FactsOut, **REFUSALS})
def facts_get(request: HttpRequest, organisation_id: int, year: int) -> EnterpriseYear:
    user = _caller(request)
    organisation = organisation_get_for_user(user=user, pk=organisation_id)
    return facts_get_for_user(user=user, organisation=organisation, year=year)


@router.put(
    "/organisations/{organisation_id}/facts/{year}",
    response={200: FactsOut, 422: FactsInvalid, **REFUSALS},
)
def facts_put(
    request: HttpRequest, organisation_id: int, year: int, body: FactsIn
) -> EnterpriseYear | Status[dict[str, Any]]:
    """Create or replace one year, validated exactly as a row of an imported facts file.

    Invalid values give 422 with every problem (row is always 2, as for a one-row file) and
    change nothing.
    """
    user = _caller(request)
    organisation = organisation_get_for_user(user=user, pk=organisation_id)
    if not permissions.can_edit_facts(user, organisation.pk):
        raise PermissionDenied
    errors = facts_save_one(
        organisation=organisation, year=year, values=body.model_dump(), user=user
    )
    if errors:
        return Status(422, _facts_invalid(errors))
    return facts_get_for_user(user=user, organisation=organisation, year=year)


def _facts_invalid(errors: list[FactError]) -> dict[str, Any]:
    zh = f"数据有 {len(errors)} 处问题，未保存任何内容"
    en = f"{len(errors)} problem(s) found; nothing was saved"
    return {
        "detail": f"{zh} / {en}",
        "detail_zh": zh,
        "detail_en": en,
        "errors": [e.as_dict() for e in errors],
    }


# --- imports ------------------------------------------------------------------------------


@router.post("/imports/facts", response={200: ImportOut, 422: ImportInvalid, **REFUSALS})
def facts_import_post(
    request: HttpRequest, file: File[UploadedFile]
) -> dict[str, Any] | Status[dict[str, Any]]:
    """Import a facts file (CSV, XLSX or Parquet): all rows or none, as `wotu import facts`.

    The file must be what its extension says (checked by content, not by the name or the
    browser's content type) and at most ``WOTU_MAX_UPLOAD_BYTES``. 422 lists every bad row, or
    says why the file as a whole cannot be read; nothing is saved then.
    """
    user = _caller(request)
    if not permissions.can_import_facts(user):
        raise PermissionDenied
    result = facts_import_upload(upload=file, user=user)
    if not result.ok:
        return Status(422, _import_invalid(result))
    return _import_counts(result)


def _import_counts(result: ImportResult) -> dict[str, Any]:
    return {
        "filename": result.filename,
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "organisations_created": result.organisations_created,
        "batch_id": result.batch_id,
        "warnings": [{"zh": zh, "en": en} for zh, en in result.warnings],
    }


def _import_invalid(result: ImportResult) -> dict[str, Any]:
    if result.file_error is not None:
        zh, en = result.file_error
    else:
        zh = f"文件有 {len(result.errors)} 处问题，未导入任何内容"
        en = f"{len(result.errors)} problem(s) in the file; nothing was imported"
    return {
        "detail": f"{zh} / {en}",
        "detail_zh": zh,
        "detail_en": en,
        "filename": result.filename,
        "rows": result.rows,
        "errors": [e.as_dict() for e in result.errors],
        "file_error": {"zh": zh, "en": en} if result.file_error else None,
        "warnings": [{"zh": w_zh, "en": w_en} for w_zh, w_en in result.warnings],
    }
