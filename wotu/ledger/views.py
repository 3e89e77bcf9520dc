"""The finance pages: the dashboard (budget vs committed vs paid, spending over time,
cross-border flows), commitments with their tranches, payment batches (prepare, submit, approve,
export, bank return), FX rates, payee statements, and the public open data page.

Views parse, call one selector or service, and render. Who may see what is decided in
:mod:`wotu.ledger.selectors` and :mod:`wotu.ledger.permissions`; four eyes, balances and file
checks are the payment services' (a refusal is shown as the service words it, zh or en).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wotu.core.errors import WotuError
from wotu.ledger import cancellations, export, opendata, payments, permissions, reports, selectors
from wotu.ledger.bankfiles import FileRowsError
from wotu.ledger.forms import (
    BatchPrepareForm,
    CommitmentCancelForm,
    DashboardFilterForm,
    FxImportForm,
    KeyForm,
    ReturnFileForm,
    key_new,
)
from wotu.ledger.fx import fx_rates_import
from wotu.ledger.models import BatchStatus, PaymentBatch, TrancheStatus
from wotu.organisations.models import Organisation

PAGE_SIZE = 50
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _said(exc: WotuError) -> str:
    return exc.en if _english() else exc.zh


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def _download(data: bytes, *, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _money(values: list[Decimal]) -> list[str]:
    return [str(v) for v in values]


# --- dashboard ----------------------------------------------------------------------------------


def _budget_chart(lines: list[reports.BudgetLine]) -> dict[str, Any]:
    en = _english()
    return {
        "locale": "en" if en else "zh-CN",
        # The source first: long programme titles are truncated on the axis, and the rows of
        # one programme differ only by their source.
        "categories": [
            f"{x.source.name_en if en else x.source.name} · "
            f"{x.programme.title_en if en else x.programme.title} · {x.year}"
            for x in lines
        ],
        "series": [
            {"name": _("Allocated"), "values": _money([x.allocated for x in lines])},
            {"name": _("Committed"), "values": _money([x.committed for x in lines])},
            {"name": _("Paid"), "values": _money([x.paid for x in lines])},
        ],
    }


def _spending_chart(series: reports.SpendingSeries) -> dict[str, Any]:
    return {
        "locale": "en" if _english() else "zh-CN",
        "categories": series.months,
        "series": [
            {"name": _("Committed"), "values": _money(series.committed), "type": "bar"},
            {"name": _("Paid"), "values": _money(series.paid), "type": "bar"},
            {"name": _("Paid, cumulative"), "values": _money(series.paid_cumulative),
             "type": "line"},
        ],
    }  # fmt: skip


def _cross_border_chart(lines: list[reports.CrossBorderLine]) -> dict[str, Any]:
    """CNY paid per year, one stacked series per institution."""
    en = _english()
    years = sorted({x.year for x in lines})
    payees: dict[int, str] = {}
    totals: dict[tuple[int, int], Decimal] = {}
    for x in lines:
        payees[x.payee.pk] = (x.payee.name_en or x.payee.name) if en else x.payee.name
        key = (x.payee.pk, x.year)
        totals[key] = totals.get(key, Decimal("0")) + x.amount_cny
    return {
        "locale": "en" if en else "zh-CN",
        "categories": [str(y) for y in years],
        "series": [
            {"name": name, "stack": "cny",
             "values": [str(totals.get((pk, y), Decimal("0"))) for y in years]}
            for pk, name in sorted(payees.items(), key=lambda kv: kv[1])
        ],
    }  # fmt: skip


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    selectors.ledger_require_reader(user=request.user)
    form = DashboardFilterForm(request.GET or None, years=reports.budget_years())
    filters = reports.BudgetFilter()
    if form.is_valid():
        data = form.cleaned_data
        filters = reports.BudgetFilter(
            year=data.get("year"),
            programme_id=data["programme"].pk if data.get("programme") else None,
            source_id=data["source"].pk if data.get("source") else None,
        )
    lines = reports.budget_report(filters=filters)
    spending = reports.spending_over_time(filters=filters)
    cross_border = reports.cross_border_report(year=filters.year)
    context = {
        "form": form,
        "lines": lines,
        "totals": reports.budget_totals(lines=lines),
        "cross_border": cross_border,
        "currency_totals": reports.cross_border_currency_totals(lines=cross_border),
        "charts": {
            "budget": _budget_chart(lines),
            "spending": _spending_chart(spending),
            "cross_border": _cross_border_chart(cross_border),
        },
        "can_prepare": permissions.can_prepare_payments(request.user),
    }
    return render(request, "ledger/dashboard.html", context)


# --- commitments --------------------------------------------------------------------------------


@login_required
@require_GET
def commitment_list(request: HttpRequest) -> HttpResponse:
    commitments = selectors.commitment_list_for_user(user=request.user).order_by(
        "-year", "-created_at", "-id"
    )
    page = Paginator(commitments, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ledger/commitment_list.html", {"page": page})


@login_required
@require_GET
def commitment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    commitment = selectors.commitment_get_for_user(user=request.user, pk=pk)
    tranches = commitment.tranches.prefetch_related("lines__batch").select_related("milestone")
    reversed_ = not reports.live_commitments().filter(pk=commitment.pk).exists()
    can_cancel = (
        permissions.can_prepare_payments(request.user)
        and not reversed_
        and all(t.status in cancellations.COMMITMENT_CANCELLABLE for t in tranches)
    )
    context = {
        "commitment": commitment,
        "tranches": tranches,
        "reversed": reversed_,
        "cancelled": any(t.status == TrancheStatus.CANCELLED for t in tranches),
        "reads_ledger": permissions.can_read_ledger(request.user),
        "can_cancel": can_cancel,
        "cancel_form": CommitmentCancelForm(
            initial={"key": key_new(f"commitment-cancel-{commitment.pk}")}
        ),
    }
    return render(request, "ledger/commitment_detail.html", context)


@login_required
@require_POST
def commitment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a commitment none of whose tranches is in payment (finance officers; reason
    required). The budget it held is free again."""
    commitment = selectors.commitment_get_for_user(user=request.user, pk=pk)
    _require(permissions.can_prepare_payments(request.user))
    form = CommitmentCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for cancelling the commitment."))
        return redirect("ledger:commitment", pk=commitment.pk)
    try:
        cancellations.commitment_cancel(
            commitment=commitment,
            actor=request.user,
            key=form.cleaned_data["key"],
            reason=form.cleaned_data["reason"],
        )
    except WotuError as exc:
        messages.error(request, _said(exc))
    else:
        messages.success(request, _("The commitment was cancelled; its budget is free again."))
    return redirect("ledger:commitment", pk=commitment.pk)


# --- payment batches ----------------------------------------------------------------------------


@login_required
@require_GET
def batch_list(request: HttpRequest) -> HttpResponse:
    batches = (
        selectors.batch_list_for_user(user=request.user)
        .annotate(total=Sum("lines__amount_cny"), line_count=Count("lines", distinct=True))
        .order_by("-created_at", "-id")
    )
    page = Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "can_prepare": permissions.can_prepare_payments(request.user)}
    return render(request, "ledger/batch_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def batch_prepare(request: HttpRequest) -> HttpResponse:
    payable = selectors.payable_tranches_for_user(user=request.user)
    initial = {"key": key_new("batch-prepare")}
    form = BatchPrepareForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            batch = payments.batch_prepare(
                tranches=list(form.cleaned_data["tranches"]),
                actor=request.user,
                key=form.cleaned_data["key"],
            )
        except WotuError as exc:
            form.add_error(None, _said(exc))
        else:
            messages.success(request, _("The batch was prepared."))
            return redirect("ledger:batch", pk=batch.pk)
    return render(request, "ledger/batch_prepare.html", {"form": form, "payable": payable})


def _batch_context(request: HttpRequest, batch: PaymentBatch) -> dict[str, Any]:
    user = request.user
    lines = list(batch.lines.select_related("payee", "tranche__commitment__programme"))
    total = sum((x.amount_cny for x in lines), Decimal("0"))
    # Each button gets its own key: one page, three possible actions.
    approvals = list(batch.approvals.select_related("approver").order_by("approved_at"))
    finance = permissions.can_prepare_payments(user)
    approved_by_me = any(a.approver_id == user.pk for a in approvals)
    return {
        "batch": batch,
        "lines": lines,
        "total": total,
        "approvals": approvals,
        "approvals_needed": payments.approvals_needed(batch=batch),
        "rows": [{"line": x, "account": reports.masked_account(x.bank_account)} for x in lines],
        "can_submit": finance and batch.status == BatchStatus.DRAFT,
        "can_approve": batch.status == BatchStatus.SUBMITTED
        and permissions.can_approve_payments(user, batch)
        and not approved_by_me,
        "can_export": finance and batch.status == BatchStatus.APPROVED,
        "can_download": finance and batch.status in {BatchStatus.EXPORTED, BatchStatus.SETTLED},
        "can_return": finance and batch.status == BatchStatus.EXPORTED,
        "can_cancel": finance and batch.status in cancellations.BATCH_CANCELLABLE,
        "keys": {
            verb: key_new(f"batch-{verb}-{batch.pk}")
            for verb in ("submit", "approve", "export", "cancel")
        },
        "return_form": ReturnFileForm(initial={"key": key_new(f"batch-return-{batch.pk}")}),
    }


@login_required
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_get_for_user(user=request.user, pk=pk)
    return render(request, "ledger/batch_detail.html", _batch_context(request, batch))


def _batch_action(
    request: HttpRequest, pk: int, action: Callable[[PaymentBatch], Any], done: str
) -> HttpResponse:
    batch = selectors.batch_get_for_user(user=request.user, pk=pk)
    _require(permissions.can_prepare_payments(request.user))
    try:
        action(batch)
    except WotuError as exc:
        messages.error(request, _said(exc))
    else:
        messages.success(request, done)
    return redirect("ledger:batch", pk=batch.pk)


@login_required
@require_POST
def batch_submit(request: HttpRequest, pk: int) -> HttpResponse:
    key = request.POST.get("key") or None
    return _batch_action(
        request, pk, lambda b: payments.batch_submit(batch=b, actor=request.user, key=key),
        _("The batch was submitted for approval."),
    )  # fmt: skip


@login_required
@require_POST
def batch_approve(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.batch_get_for_user(user=request.user, pk=pk)
    # The preparer is refused here as well as by the service (and never shown the button).
    _require(permissions.can_approve_payments(request.user, batch))
    key = request.POST.get("key") or None
    return _batch_action(
        request, pk, lambda b: payments.batch_approve(batch=b, actor=request.user, key=key),
        _("Your approval was recorded."),
    )  # fmt: skip


@login_required
@require_POST
def batch_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a batch not yet sent to the bank; its tranches are payable again."""
    key = request.POST.get("key", "")
    return _batch_action(
        request, pk, lambda b: cancellations.batch_cancel(batch=b, actor=request.user, key=key),
        _("The batch was cancelled; its tranches are payable again."),
    )  # fmt: skip


@login_required
@require_POST
def batch_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Send an approved batch to the bank and download its payment file (the form's key makes
    a double click replay the first export instead of failing)."""
    batch = selectors.batch_get_for_user(user=request.user, pk=pk)
    _require(permissions.can_prepare_payments(request.user))
    form = KeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form expired; please try again."))
        return redirect("ledger:batch", pk=batch.pk)
    try:
        data = payments.batch_export(batch=batch, actor=request.user, key=form.cleaned_data["key"])
    except WotuError as exc:
        messages.error(request, _said(exc))
        return redirect("ledger:batch", pk=batch.pk)
    return _download(data, name=f"{batch.reference}.csv", content_type=CSV)


@login_required
@require_GET
def batch_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The payment file of a batch already sent, again (reads only; nothing is booked)."""
    batch = selectors.batch_get_for_user(user=request.user, pk=pk)
    _require(permissions.can_prepare_payments(request.user))
    if batch.status not in {BatchStatus.EXPORTED, BatchStatus.SETTLED}:
        raise Http404
    data = payments.batch_file(batch=batch)
    return _download(data, name=f"{batch.reference}.csv", content_type=CSV)


@login_required
@require_http_methods(["GET", "POST"])
def batch_return(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload the bank's return file; every bad row is listed and nothing is booked."""
    batch = selectors.batch_get_for_user(user=request.user, pk=pk)
    _require(permissions.can_prepare_payments(request.user))
    initial = {"key": key_new(f"batch-return-{batch.pk}")}
    form = ReturnFileForm(request.POST or None, request.FILES or None, initial=initial)
    row_errors: list[Any] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            payments.bank_return_import(
                batch=batch, data=upload.read(), actor=request.user,
                key=form.cleaned_data["key"], name=upload.name or "return.csv",
            )  # fmt: skip
        except FileRowsError as exc:
            row_errors = exc.errors
            form.add_error(None, _("The return file was refused; nothing was booked."))
        except WotuError as exc:
            form.add_error(None, _said(exc))
        else:
            messages.success(request, _("The bank's return was booked."))
            return redirect("ledger:batch", pk=batch.pk)
    context = {"batch": batch, "form": form, "row_errors": row_errors}
    return render(request, "ledger/batch_return.html", context)


# --- FX rates -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def fx_rates(request: HttpRequest) -> HttpResponse:
    rates = selectors.fx_rate_list_for_user(user=request.user)
    can_import = permissions.can_prepare_payments(request.user)
    if request.method == "POST":
        _require(can_import)
    form = FxImportForm(request.POST or None, request.FILES or None)
    row_errors: list[Any] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = fx_rates_import(
                data=upload.read(), name=upload.name or "rates.csv",
                source=form.cleaned_data["source"], actor=request.user,
            )  # fmt: skip
        except FileRowsError as exc:
            row_errors = exc.errors
            form.add_error(None, _("The rate table was refused; nothing was imported."))
        except WotuError as exc:
            form.add_error(None, _said(exc))
        else:
            messages.success(
                request,
                _("%(created)d new rates imported, %(unchanged)d already recorded.")
                % {"created": result.created, "unchanged": result.unchanged},
            )
            return redirect("ledger:fx")
    page = Paginator(rates, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "can_import": can_import, "row_errors": row_errors}
    return render(request, "ledger/fx_rates.html", context)


# --- payee statements ---------------------------------------------------------------------------


@login_required
@require_GET
def statement_index(request: HttpRequest) -> HttpResponse:
    """An applicant goes to its own statement; ledger readers choose a payee."""
    user: Any = request.user
    if permissions.can_see_own_payments(user):
        return redirect("ledger:statement", pk=user.organisation_id)
    selectors.ledger_require_reader(user=user)
    payees = (
        Organisation.objects.filter(commitments__isnull=False)
        .annotate(committed=Sum("commitments__amount"), awards=Count("commitments"))
        .order_by("name", "id")
    )
    page = Paginator(payees, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ledger/statement_index.html", {"page": page})


@login_required
@require_GET
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.payee_statement_for_user(user=request.user, pk=pk)
    context = {
        "statement": found,
        "reads_ledger": permissions.can_read_ledger(request.user),
    }
    return render(request, "ledger/statement.html", context)


# --- open data (public) -------------------------------------------------------------------------


@require_GET
def open_data(request: HttpRequest) -> HttpResponse:
    grants = opendata.grants_360()["grants"]
    context = {
        "grants": grants[::-1][:100],  # newest first
        "count": len(grants),
        "total": sum((Decimal(str(g["amountAwarded"])) for g in grants), Decimal("0")),
        "disbursed": sum((Decimal(str(g["amountDisbursed"])) for g in grants), Decimal("0")),
        "prefix": opendata.open_data_prefix(),
    }
    return render(request, "ledger/open_data.html", context)


@require_GET
def open_data_json(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(opendata.grants_360_json(), content_type="application/json")
    response["Content-Disposition"] = 'inline; filename="wotu-grants-360giving.json"'
    return response


@require_GET
def open_data_xlsx(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate().isoformat()
    return _download(export.awards_xlsx(), name=f"wotu-awards-{today}.xlsx", content_type=XLSX)
