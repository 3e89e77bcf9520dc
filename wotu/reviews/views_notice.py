"""The public notice in the browser: public pages (no sign-in) for the notices, their lists,
downloads, the objection form and the funded list; officer pages to publish, read and resolve
objections, and record the committee decision. Views parse, call one selector or service, and
render; who may do what is decided in :mod:`wotu.reviews.notice`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from wotu.core.errors import WotuError
from wotu.programmes.models import Call, Status
from wotu.programmes.selectors import call_get_for_user
from wotu.reviews import decision as decisions
from wotu.reviews import notice as svc
from wotu.reviews.fields import field_label
from wotu.reviews.models import Notice, ObjectionOutcome
from wotu.reviews.notice_export import notice_pdf, notice_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _error_text(error: WotuError) -> str:
    """The refusal in the page's language, the other language after it."""
    english = (get_language() or "").startswith("en")
    return f"{error.en} / {error.zh}" if english else f"{error.zh} / {error.en}"


def _field(code: str) -> str:
    return field_label(code, language=get_language() or "zh-hans")


def _entries(notice: Notice) -> list[dict[str, Any]]:
    return [
        {**entry, "field_label": _field(entry["field"]), "amount": Decimal(entry["amount"])}
        for entry in notice.entries
    ]


class ObjectionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Real name"), max_length=100)
    contact = forms.CharField(
        label=gettext_lazy("Phone or e-mail"),
        max_length=200,
        help_text=gettext_lazy("A mainland, Hong Kong (+852) or Macao (+853) phone, or e-mail."),
    )
    reference = forms.ChoiceField(label=gettext_lazy("Project"), required=False)
    text = forms.CharField(
        label=gettext_lazy("Objection"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("State the facts and your reasons (at least 10 characters)."),
    )

    def __init__(self, *args: Any, notice: Notice, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", gettext("The notice as a whole"))]
        choices += [(e["reference"], f"{e['reference']} {e['title']}") for e in notice.entries]
        self.fields["reference"].choices = choices  # type: ignore[attr-defined]


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            (ObjectionOutcome.UPHELD.value, ObjectionOutcome.UPHELD.label),
            (ObjectionOutcome.DISMISSED.value, ObjectionOutcome.DISMISSED.label),
        ],
        widget=forms.RadioSelect,
    )
    resolution = forms.CharField(
        label=gettext_lazy("Resolution"), widget=forms.Textarea(attrs={"rows": 5})
    )


class DecisionForm(forms.Form):
    minutes = forms.CharField(label=gettext_lazy("Minutes reference"), max_length=500)


# --- public ----------------------------------------------------------------------------------


@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    notices = svc.notice_list_public()
    return render(request, "reviews/notice/list.html", {"notices": notices})


@require_http_methods(["GET", "POST"])
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The notice, its list and window, and the objection form (no sign-in needed). A filed
    objection answers with its receipt number on the same request (no page to look it up)."""
    notice = svc.notice_get_public(pk=pk)
    form = ObjectionForm(request.POST or None, notice=notice)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                objection = svc.objection_file(
                    notice=notice,
                    name=form.cleaned_data["name"],
                    contact=form.cleaned_data["contact"],
                    text=form.cleaned_data["text"],
                    application=svc.notice_application_get(
                        notice=notice, reference=form.cleaned_data["reference"]
                    ),
                )
            except WotuError as error:
                form.add_error(None, _error_text(error))
            else:
                receipt = svc.objection_receipt(objection=objection)
                context = {"notice": notice, "receipt": receipt}
                return render(request, "reviews/notice/receipt.html", context)
        status = 400
    context = {
        "notice": notice,
        "entries": _entries(notice),
        "total": svc.notice_total(notice=notice),
        "is_open": svc.notice_is_open(notice=notice),
        "decided": hasattr(notice.call, "decision"),
        "form": form,
    }
    return render(request, "reviews/notice/detail.html", context, status=status)


@require_GET
def notice_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    notice = svc.notice_get_public(pk=pk)
    if fmt == "xlsx":
        response = HttpResponse(notice_xlsx(notice=notice), content_type=XLSX)
    else:
        response = HttpResponse(notice_pdf(notice=notice), content_type="application/pdf")
    filename = f"notice-{notice.call.code}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def decision_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The funded list with amounts and total: public once the committee has decided."""
    notice = svc.notice_get_public(pk=pk)
    decision = decisions.decision_get_public(notice=notice)
    rows = decisions.funded_list(call=notice.call)
    context = {
        "notice": notice,
        "decision": decision,
        "rows": [{"row": r, "field_label": _field(r.field)} for r in rows],
        "total": sum((r.amount for r in rows), Decimal("0.00")),
    }
    return render(request, "reviews/notice/decision.html", context)


# --- officers --------------------------------------------------------------------------------


@login_required
@require_GET
def notice_manage(request: HttpRequest) -> HttpResponse:
    context = {
        "calls": svc.calls_ready_for_notice(user=request.user),
        "notices": svc.notice_list_for_user(user=request.user),
    }
    return render(request, "reviews/notice/manage.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def notice_publish(request: HttpRequest, call_pk: int) -> HttpResponse:
    svc.calls_ready_for_notice(user=request.user)  # the role check, before any lookup
    call: Call = call_get_for_user(user=request.user, pk=call_pk)
    error = None
    if request.method == "POST":
        try:
            notice = svc.notice_publish(call=call, actor=request.user)
        except WotuError as refused:
            error = _error_text(refused)
        else:
            messages.success(request, gettext("The notice was published."))
            return redirect("notices:objections", pk=notice.pk)
    context = {
        "call": call,
        "entries": [
            {**e, "field_label": _field(e["field"]), "amount": Decimal(e["amount"])}
            for e in svc.notice_entries(call=call)
        ],
        "waiting": call.applications.filter(status__in=svc.UNDECIDED).count(),
        "error": error,
    }
    return render(request, "reviews/notice/publish.html", context, status=400 if error else 200)


@login_required
@require_GET
def objection_list(request: HttpRequest, pk: int) -> HttpResponse:
    notice = svc.notice_get_for_user(user=request.user, pk=pk)
    objections = svc.objection_list_for_user(user=request.user, notice=notice)
    rows = [{"o": o, "receipt": svc.objection_receipt(objection=o)} for o in objections]
    context = {
        "notice": notice,
        "rows": rows,
        "is_open": svc.notice_is_open(notice=notice),
        "decided": hasattr(notice.call, "decision"),
    }
    return render(request, "reviews/notice/objections.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def objection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    objection = svc.objection_get_for_user(user=request.user, pk=pk)
    form = ResolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            svc.objection_resolve(
                objection=objection,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                resolution=form.cleaned_data["resolution"],
            )
        except WotuError as refused:
            form.add_error(None, _error_text(refused))
        else:
            messages.success(request, gettext("The objection was resolved."))
            return redirect("notices:objections", pk=objection.notice_id)
    context = {
        "objection": objection,
        "receipt": svc.objection_receipt(objection=objection),
        "form": form,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reviews/notice/objection.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def decision_record(request: HttpRequest, pk: int) -> HttpResponse:
    """The committee decision form: amounts may be lowered per project (``amount-<reference>``
    fields); blank keeps the proposed amount."""
    notice = svc.notice_get_for_user(user=request.user, pk=pk)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        amounts = {
            key.removeprefix("amount-"): request.POST.get(key, "").strip()
            for key in request.POST
            if key.startswith("amount-") and request.POST.get(key, "").strip()
        }
        try:
            decisions.decision_record(
                call=notice.call,
                actor=request.user,
                minutes=form.cleaned_data["minutes"],
                amounts=amounts,
            )
        except WotuError as refused:
            form.add_error(None, _error_text(refused))
        else:
            messages.success(request, gettext("The committee decision was recorded."))
            return redirect("notices:decision", pk=notice.pk)
    upheld = set(
        svc.objection_list_for_user(user=request.user, notice=notice)
        .filter(outcome=ObjectionOutcome.UPHELD)
        .exclude(application=None)
        .values_list("application__reference", flat=True)
    )
    on_notice = set(
        notice.call.applications.filter(status=Status.NOTICE).values_list("reference", flat=True)
    )
    entries = [{**e, "upheld": e["reference"] in upheld} for e in _entries(notice)]
    context = {
        "notice": notice,
        "entries": [e for e in entries if e["reference"] in on_notice],
        "form": form,
        "decided": hasattr(notice.call, "decision"),
        "window_closed": svc.notice_has_closed(notice=notice),
        "open_count": notice.open_count,  # type: ignore[attr-defined]
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reviews/notice/decide.html", context, status=status)
