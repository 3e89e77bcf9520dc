"""Policy runs in the browser: runs over the registry (start one, watch its progress, totals
with a chart, results, Excel export) and a scenario against its baseline. Views parse, call one
selector or service, and render; who may do what is asked of :mod:`wotu.core.permissions`
(through :mod:`wotu.policies.selectors`)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.middleware import HtmxDetails
from openpyxl import Workbook

from wotu.core import permissions
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.organisations.selectors import latest_fact_year
from wotu.policies import catalog, selectors, services
from wotu.policies.engine import Policy
from wotu.policies.forms import ResultsFilterForm, RunForm
from wotu.policies.models import PolicyRun, RunKind, RunResult, RunStatus
from wotu.policies.views import (
    REFUSALS,
    _english,
    _policy,
    _policy_choices,
    _policy_name,
    _refusal,
    _user,
    default_year,
)

PAGE_SIZE = 50
COMPARED = [(_("Baseline"), "baseline_amount"), (_("Scenario"), "scenario_amount")]
COMPARE_LIMIT = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _partial(request: HtmxHttpRequest) -> bool:
    """An htmx request that replaces part of the page (not a history restore)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


# ---------------------------------------------------------------------------------------------
# Runs


@login_required
@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    runs = selectors.run_list_for_user(user=user)
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    names = {policy_id: name for policy_id, name in _policy_choices()}
    context = {
        "page": page,
        "names": names,
        "can_run": permissions.can_create_runs(user),
        "sees_totals": permissions.can_view_runs(user),
    }
    return render(request, "policies/runs.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def run_start(request: HtmxHttpRequest) -> HttpResponse:
    """The form that starts a run (a scenario when parameters are changed). On success, the
    run's page, where its progress shows until it is done."""
    user = _user(request)
    if not permissions.can_create_runs(user):
        raise PermissionDenied
    source = request.POST if request.method == "POST" else request.GET
    policy_id = source.get("policy") or (catalog.policy_ids() or [""])[0]
    policy = _policy(policy_id) if policy_id in catalog.policy_ids() else None
    form = RunForm(
        request.POST or None, policies=_policy_choices(), policy=policy,
        baselines=_baseline_choices(user, policy_id),
        initial={"policy": policy_id, "year": _initial_year(source, policy)},
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            run = services.run_create(user=user, **form.run_arguments(_baseline_of(user, form)))
        except REFUSALS as exc:
            form.add_error(None, _refusal(exc))
        else:
            return redirect("policies:run", pk=run.pk)
    template = "policies/_run_form.html" if _partial(request) else "policies/run_form.html"
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, {"form": form, "policy": policy}, status=status)


def _initial_year(source: Any, policy: Policy | None) -> int:
    year = str(source.get("year") or "")
    if year.isdigit():
        return int(year)
    return default_year(policy) if policy else (latest_fact_year() or dt.date.today().year - 1)


def _baseline_choices(user: User, policy_id: str) -> list[tuple[str, str]]:
    runs = selectors.run_list_for_user(user=user, policy_id=policy_id)
    baselines = runs.filter(baseline__isnull=True).exclude(status=RunStatus.FAILED)[:50]
    return [
        (str(run.pk), f"#{run.pk} · {run.year} · {run.get_status_display()}") for run in baselines
    ]


def _baseline_of(user: User, form: RunForm) -> PolicyRun | None:
    pk = form.cleaned_data.get("baseline")
    return selectors.run_get_for_user(user=user, pk=int(pk)) if pk else None


RESULT_COLUMNS = [
    ("uscc", _("USCC")),
    ("name", _("Name")),
    ("district", _("District")),
    ("scheme", _("Scheme")),
    ("amount", _("Amount")),
]


@login_required
@require_GET
def run_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A run: its progress while queued or running; once done, totals by scheme and district
    with a chart, and the results (filter, sort, pages)."""
    user = _user(request)
    run = selectors.run_get_for_user(user=user, pk=pk)
    context = {
        "run": run,
        "policy_name": _policy_name(run.policy_id),
        "progress_message": progress_text(run),
    }
    context |= _run_context(request, user, run)
    template = "policies/_run_results.html" if _partial(request) else "policies/run.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _run_context(request: HttpRequest, user: User, run: PolicyRun) -> dict[str, Any]:
    form = ResultsFilterForm(request.GET, schemes=_scheme_choices(run))
    sort, descending = form.ordering(evaluate=run.kind == RunKind.EVALUATE)
    order = "-amount" if (sort, descending) == ("amount", True) else sort
    results = selectors.run_results_for_user(
        user=user, run=run, scheme=form.cleaned_data.get("scheme"), q=form.cleaned_data.get("q"),
        order=order,
    )  # fmt: skip
    if descending and order != "-amount":
        results = results.reverse()
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = selectors.run_totals(run) if permissions.can_view_runs(user) else None
    evaluated = totals is not None and totals["kind"] == "evaluate"
    return {
        "form": form,
        "page": page,
        "rows": [_result_row(run, result) for result in page.object_list],
        "columns": _sort_columns(run, sort, descending),
        "outputs": _outputs(run) if run.kind == RunKind.ASSESS else [],
        "totals": totals,
        "chart": _charts(totals, [(_("Amount"), "amount")]) if evaluated else None,
        "sees_totals": permissions.can_view_runs(user),
        "scenarios": _scenarios_of(user, run),
    }


def _scenarios_of(user: User, run: PolicyRun) -> Any:
    if not permissions.can_view_runs(user) or run.is_scenario:
        return []
    runs = selectors.run_list_for_user(user=user, policy_id=run.policy_id, year=run.year)
    return runs.filter(baseline=run)


def _scheme_choices(run: PolicyRun) -> list[tuple[str, str]]:
    return _outputs(run) if run.kind == RunKind.EVALUATE else []


def _rule_label(policy: Policy, name: str) -> str:
    rule = policy.rules.get(name)
    if rule is None:
        return name
    return rule.en if _english() else rule.zh


def _outputs(run: PolicyRun) -> list[tuple[str, str]]:
    policy = catalog.policy_get(run.policy_id)
    return [(name, _rule_label(policy, name)) for name in policy.outputs]


def _result_row(run: PolicyRun, result: RunResult) -> dict[str, Any]:
    explain = reverse("policies:explain", args=[run.policy_id])
    query = urlencode({"year": str(run.year), "uscc": result.uscc, "run": str(run.pk)})
    policy = catalog.policy_get(run.policy_id)
    return {
        "result": result,
        "scheme": _rule_label(policy, result.scheme) if result.scheme else "",
        "values": [_value_text(result.values.get(name)) for name in policy.outputs]
        if run.kind == RunKind.ASSESS
        else [],
        "explain_url": f"{explain}?{query}",
    }


def _value_text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("Yes")) if value else str(_("No"))
    return str(value)


def _sort_columns(run: PolicyRun, sort: str, descending: bool) -> list[dict[str, Any]]:
    columns = []
    for key, label in RESULT_COLUMNS:
        if run.kind == RunKind.ASSESS and key in {"scheme", "amount"}:
            continue
        active = key == sort
        direction = "desc" if key == "amount" and not active else "asc"
        if active:
            direction = "asc" if descending else "desc"
        aria = ("descending" if descending else "ascending") if active else ""
        columns.append({"key": key, "label": label, "dir": direction, "aria": aria})
    return columns


def _charts(data: Any, series: list[tuple[Any, str]]) -> dict[str, Any]:
    return {name: bars(data[name], series) for name in ("schemes", "districts")}


def bars(lines: list[Any], series: list[tuple[Any, str]]) -> dict[str, Any]:
    """Bar chart data (see static policies/charts.js): one category per line (a scheme or a
    district, labelled in the reader's language), one series per (name, amount key). Amounts
    stay exact decimal strings."""
    english = _english()
    return {
        "locale": "en" if english else "zh-CN",
        "categories": [line["label_en"] if english else line["label_zh"] for line in lines],
        "series": [
            {"name": str(name), "values": [f"{line[key]:.2f}" for line in lines]}
            for name, key in series
        ],
    }


@login_required
@require_GET
def run_progress(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled every second while the run is queued or running. When it has
    finished, htmx reloads the whole page to show the outcome."""
    run = selectors.run_get_for_user(user=_user(request), pk=pk)
    context = {"run": run, "progress_message": progress_text(run)}
    response = render(request, "policies/_run_progress.html", context)
    if run.is_finished and request.htmx:
        response["HX-Refresh"] = "true"
    return response


def progress_text(run: PolicyRun) -> str:
    """The run's progress message ("zh / en" as recorded) in the reader's language."""
    zh, _sep, en = run.progress_message.partition(" / ")
    return (en or zh) if _english() else zh


@login_required
@require_GET
def run_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The run's results as Excel (first sheet, header row 1): ``uscc, year, scheme,
    amount_cny`` for awards (the ``wotu evaluate`` contract) or ``uscc, year`` and the policy's
    outputs for an assessment, then ``basis, name, district_code``. Filters apply as on the
    page; an applicant gets its own rows only."""
    user = _user(request)
    run = selectors.run_get_for_user(user=user, pk=pk)
    form = ResultsFilterForm(request.GET, schemes=_scheme_choices(run))
    form.is_valid()
    results = selectors.run_results_for_user(
        user=user, run=run, scheme=form.cleaned_data.get("scheme"), q=form.cleaned_data.get("q"),
    )  # fmt: skip
    payload = results_workbook(run, results)
    filename = f"wotu-run-{run.pk}-{run.policy_id}-{run.year}.xlsx"
    response = HttpResponse(payload, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def results_workbook(run: PolicyRun, results: Any) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=f"run {run.pk}")
    tail = ["basis", "name", "district_code"]
    if run.kind == RunKind.EVALUATE:
        sheet.append(["uscc", "year", "scheme", "amount_cny", *tail])
        for r in results.iterator():
            sheet.append([r.uscc, run.year, r.scheme, r.amount, r.basis, r.name, r.district_code])
    else:
        outputs = list(catalog.policy_get(run.policy_id).outputs)
        sheet.append(["uscc", "year", *outputs, *tail])
        for r in results.iterator():
            values = [_cell(r.values.get(name)) for name in outputs]
            sheet.append([r.uscc, run.year, *values, r.basis, r.name, r.district_code])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


# ---------------------------------------------------------------------------------------------
# Scenario against its baseline


@login_required
@require_GET
def run_compare(request: HttpRequest, baseline: int, scenario: int) -> HttpResponse:
    user = _user(request)
    if not permissions.can_view_runs(user):
        raise PermissionDenied
    runs = [selectors.run_get_for_user(user=user, pk=pk) for pk in (baseline, scenario)]
    context: dict[str, Any] = {"baseline": runs[0], "scenario": runs[1]}
    try:
        comparison = selectors.run_compare(
            user=user, baseline=runs[0], scenario=runs[1], limit=COMPARE_LIMIT
        )
    except WotuError as exc:
        context["problem"] = _refusal(exc)
        return render(request, "policies/compare.html", context, status=400)
    context |= {
        "comparison": comparison,
        "policy_name": _policy_name(runs[0].policy_id),
        "chart": _charts(comparison, COMPARED),
        "limit": COMPARE_LIMIT,
    }
    return render(request, "policies/compare.html", context)
