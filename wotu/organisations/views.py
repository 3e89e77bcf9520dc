"""The registry in the browser: list and search, one organisation, editing one year's facts,
importing and exporting facts files. Views parse, call one selector or service, and render;
who may do what is asked of :mod:`wotu.core.permissions`."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.middleware import HtmxDetails

from wotu.core import permissions
from wotu.core.districts import DISTRICTS, district_label
from wotu.core.models import User
from wotu.core.templatetags.wotu import DASH, money
from wotu.organisations import selectors, services
from wotu.organisations.facts import COLUMNS, EXPORT_COLUMNS, Column
from wotu.organisations.facts_io import table_write
from wotu.organisations.forms import (
    FactsExportForm,
    FactsForm,
    FactsUploadForm,
    RegistrySearchForm,
    fact_label,
)
from wotu.organisations.models import EnterpriseYear, Kind, Organisation, Sector

PAGE_SIZE = 50
ERRORS_SHOWN = 1000
REQUIRED = frozenset(c.name for c in COLUMNS if c.required)
LIST_FIELDS = ("id", "name", "name_en", "kind", "region", "uscc", "local_id", "district_code")


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _partial(request: HtmxHttpRequest) -> bool:
    """An htmx request that replaces part of the page (not a history restore)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


@login_required
@require_GET
def registry_list(request: HtmxHttpRequest) -> HttpResponse:
    form = RegistrySearchForm(request.GET)
    organisations = selectors.organisation_list_for_user(
        user=_user(request), filters=form.filters()
    )
    page = Paginator(organisations.only(*LIST_FIELDS), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page}
    template = "organisations/_results.html" if _partial(request) else "organisations/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_GET
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    organisation = selectors.organisation_get_for_user(user=user, pk=pk)
    # Yearly facts are enterprise facts; universities, institutes and banks have none.
    enterprise = organisation.kind == Kind.ENTERPRISE and bool(organisation.uscc)
    context: dict[str, Any] = {
        "organisation": organisation,
        "qualifications": selectors.qualifications_for_user(user=user, organisation=organisation),
        "can_view_facts": enterprise and permissions.can_view_facts(user, organisation.pk),
        "can_edit_facts": enterprise and permissions.can_edit_facts(user, organisation.pk),
    }
    if context["can_view_facts"]:
        years = list(selectors.facts_list_for_user(user=user, organisation=organisation))
        context |= {"years": years, "facts_table": facts_table(years), "chart": chart_data(years)}
    return render(request, "organisations/detail.html", context)


def facts_table(years: list[EnterpriseYear]) -> list[dict[str, Any]]:
    """One line per contract column, one cell per year: the facts history, transposed so that
    a person reads a column's change over the years along one line."""
    lines = []
    for column in COLUMNS:
        if column.name in {"uscc", "year"}:
            continue
        cells = [fact_display(column, getattr(row, column.name)) for row in years]
        lines.append({"label": fact_label(column), "name": column.name, "cells": cells})
    return lines


def fact_display(column: Column, value: Any) -> str:
    if value is None or value == "":
        return DASH
    if column.kind == "money":
        return money(value)
    if column.kind == "bool":
        return gettext("Yes") if value else gettext("No")
    if column.kind == "int":
        return f"{value:,}"
    if column.kind == "district":
        return f"{district_label(value, get_language() or 'zh-hans')} ({value})"
    if column.kind == "sector":
        return str(Sector(value).label)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def chart_data(years: list[EnterpriseYear]) -> dict[str, Any]:
    """Revenue and R&D expense by year, for the chart. Amounts stay exact decimal strings."""
    return {
        "locale": "en" if (get_language() or "").startswith("en") else "zh-CN",
        "years": [str(row.year) for row in years],
        "series": [
            {"name": fact_label(_column("revenue")), "values": [_exact(r.revenue) for r in years]},
            {
                "name": fact_label(_column("rd_expense")),
                "values": [_exact(r.rd_expense) for r in years],
            },
        ],
    }


def _column(name: str) -> Column:
    return next(c for c in COLUMNS if c.name == name)


def _exact(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


# ---------------------------------------------------------------------------------------------
# Editing one year


def _editable(request: HttpRequest, pk: int) -> tuple[User, Organisation]:
    user = _user(request)
    organisation = selectors.organisation_get_for_user(user=user, pk=pk)
    if not permissions.can_edit_facts(user, organisation.pk):
        raise PermissionDenied
    return user, organisation


@login_required
@require_http_methods(["GET", "POST"])
def facts_edit(request: HttpRequest, pk: int, year: int) -> HttpResponse:
    user, organisation = _editable(request, pk)
    row = selectors.facts_get_for_user(user=user, organisation=organisation, year=year)
    form = FactsForm(request.POST or None, initial=FactsForm.initial_from(row))
    if request.method == "POST" and form.is_valid():
        errors = services.facts_save_one(
            organisation=organisation, year=year, values=form.raw_values(), user=user
        )
        if not errors:
            return _saved(request, organisation, year)
        form.add_fact_errors(errors)
    return _render_facts_form(request, organisation, form, year=year)


@login_required
@require_http_methods(["GET", "POST"])
def facts_add(request: HttpRequest, pk: int) -> HttpResponse:
    user, organisation = _editable(request, pk)
    known = list(selectors.facts_list_for_user(user=user, organisation=organisation))
    form = FactsForm(
        request.POST or None,
        new_year_after=frozenset(row.year for row in known),
        initial=_initial_new(organisation, known),
    )
    if request.method == "POST" and form.is_valid():
        year = form.cleaned_data["year"]
        errors = services.facts_save_one(
            organisation=organisation, year=year, values=form.raw_values(), user=user
        )
        if not errors:
            return _saved(request, organisation, year)
        form.add_fact_errors(errors)
    return _render_facts_form(request, organisation, form, year=None)


def _initial_new(organisation: Organisation, known: list[EnterpriseYear]) -> dict[str, Any]:
    """A new year starts from the latest one (the figures a person is most likely to update)."""
    if known:
        initial = FactsForm.initial_from(known[-1])
        initial["year"] = known[-1].year + 1
        return initial
    registered = organisation.registered_on
    return {
        "name": organisation.name,
        "district_code": organisation.district_code,
        "registered_on": registered.isoformat() if registered else "",
        "sector": organisation.sector,
        "manufacturing": organisation.manufacturing,
    }


def _saved(request: HttpRequest, organisation: Organisation, year: int) -> HttpResponse:
    messages.success(request, gettext("The facts for %(year)s were saved.") % {"year": year})
    return redirect(reverse("organisations:detail", args=[organisation.pk]) + "#facts")


def _render_facts_form(
    request: HttpRequest, organisation: Organisation, form: FactsForm, *, year: int | None
) -> HttpResponse:
    english = (get_language() or "").startswith("en")
    context = {
        "organisation": organisation,
        "form": form,
        "year": year,
        "districts": [
            (code, names[1] if english else names[0]) for code, names in DISTRICTS.items()
        ],
        "required_names": REQUIRED,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "organisations/facts_form.html", context, status=status)


# ---------------------------------------------------------------------------------------------
# Import and export


@login_required
@require_http_methods(["GET", "POST"])
def facts_import(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    if not permissions.can_import_facts(user):
        raise PermissionDenied
    form = FactsUploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = services.facts_import_upload(upload=form.cleaned_data["file"], user=user)
    context = {
        "form": form,
        "result": result,
        "errors": result.errors[:ERRORS_SHOWN] if result else [],
        "errors_shown": ERRORS_SHOWN,
    }
    template = (
        "organisations/_import_panel.html" if _partial(request) else "organisations/import.html"
    )
    status = 400 if form.is_bound and (form.errors or (result and not result.ok)) else 200
    return render(request, template, context, status=status)


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


@login_required
@require_GET
def facts_export(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not permissions.can_export_facts(user):
        raise PermissionDenied
    if "year" not in request.GET:
        form = FactsExportForm(initial={"year": selectors.latest_fact_year(), "format": "csv"})
        return render(request, "organisations/export.html", {"form": form})
    form = FactsExportForm(request.GET)
    if form.is_valid():
        year, fmt = form.cleaned_data["year"], form.cleaned_data["format"]
        rows = selectors.facts_export_rows(user=user, year=year)
        if rows:
            return _download(rows, year=year, fmt=fmt)
        form.add_error("year", gettext("No facts are recorded for %(year)s.") % {"year": year})
    return render(request, "organisations/export.html", {"form": form}, status=400)


def _download(rows: list[list[object]], *, year: int, fmt: str) -> HttpResponse:
    filename = f"wotu-facts-{year}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="wotu-export-") as folder:
        path = Path(folder) / filename
        table_write(path, columns=EXPORT_COLUMNS, rows=rows)
        payload = path.read_bytes()
    response = HttpResponse(payload, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
