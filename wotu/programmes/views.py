"""Programmes, calls and applications in the browser.

Officers: programmes (list, detail, create), calls (create, open, close, the application list
with counts per status) and the formal check of each application. Applicants: open calls, their
applications with status and stage feedback (never who the experts were), the application form
(draft, upload, submit with every error next to its field) and withdrawal. Views parse, call one
selector or service, and render; who may see what is decided in :mod:`wotu.programmes.selectors`.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wotu.core import permissions
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.programmes import eligibility, selectors, services
from wotu.programmes.forms import (
    ApplicationForm,
    CallForm,
    FormalCheckForm,
    ProgrammeForm,
    StatusFilterForm,
    WithdrawForm,
    bilingual,
    english,
)
from wotu.programmes.formschema import form_spec_validate
from wotu.programmes.models import OPEN_STATUSES, Application, Call, Programme, Status
from wotu.programmes.pipeline import MIN_SHARE_DEFAULT, funding_rule
from wotu.programmes.workflow import STATUS_ZH
from wotu.reviews.fields import field_label

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _refusal(exc: WotuError) -> str:
    return bilingual(exc.zh, exc.en)


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def status_label(status: str) -> str:
    value = Status(status)
    return bilingual(STATUS_ZH[value], str(value.label))


# --- programmes (officers) --------------------------------------------------------------------


@login_required
@require_GET
def programme_list(request: HttpRequest) -> HttpResponse:
    programmes = selectors.programme_list_for_user(user=_user(request))
    context = {
        "programmes": programmes,
        "can_manage": permissions.can_manage_programmes(_user(request)),
    }
    return render(request, "programmes/programme_list.html", context)


@login_required
@require_GET
def programme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    programme = selectors.programme_get_for_user(user=user, pk=pk)
    context = {
        "programme": programme,
        "calls": programme.calls.order_by("-opens_at"),
        "can_manage": permissions.can_manage_programmes(user),
        "rules": [eligibility.rule_get(r) for r in programme.eligibility],
        "funding": _funding_shown(programme),
    }
    return render(request, "programmes/programme_detail.html", context)


def _funding_shown(programme: Programme) -> dict[str, Any]:
    """The programme's funding rule for its page; an invalid stored rule shows as ``none``."""
    try:
        rule, share = funding_rule(funding=programme.funding)
    except WotuError:
        rule, share = "none", MIN_SHARE_DEFAULT
    return {"rule": rule, "min_share_percent": f"{share * 100:.0f}"}


PIPELINE_EXAMPLE: list[dict[str, Any]] = [
    {"kind": "professional", "panel_size": 3, "max_load": 10, "pass_rule": {"top_share": 0.5},
     "rubric": [{"code": "innovation", "label_zh": "创新性", "label_en": "Innovation",
                 "weight": "0.5", "min": 0, "max": 100},
                {"code": "feasibility", "label_zh": "可行性", "label_en": "Feasibility",
                 "weight": "0.5", "min": 0, "max": 100}]},
    {"kind": "notice"},
    {"kind": "committee"},
]  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def programme_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require(permissions.can_manage_programmes(user))
    initial = {"regions": ["CN"], "kinds": ["enterprise"], "pipeline": PIPELINE_EXAMPLE}
    form = ProgrammeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            programme = services.programme_create(actor=user, **form.cleaned_data)
        except services.Invalid as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, _("The programme was created."))
            return redirect("programmes:programme", pk=programme.pk)
    return render(request, "programmes/programme_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def call_create(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    programme = selectors.programme_get_for_user(user=user, pk=pk)
    _require(permissions.can_manage_programmes(user))
    form = CallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            call = services.call_create(actor=user, programme=programme, **form.cleaned_data)
        except services.Invalid as exc:
            form.add_service_errors(exc.errors)
        else:
            messages.success(request, _("The call was created as a draft."))
            return redirect("programmes:call", pk=call.pk)
    return render(request, "programmes/call_form.html", {"form": form, "programme": programme})


# --- calls ------------------------------------------------------------------------------------


@login_required
@require_GET
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    call = selectors.call_get_for_user(user=user, pk=pk)
    context: dict[str, Any] = {
        "call": call,
        "stages": call.stages.order_by("order"),
        "pipeline": selectors.call_pipeline(call=call),
        "accepting": services.call_accepting(call),
        "can_apply": permissions.can_apply(user),
        "can_manage": permissions.can_manage_programmes(user),
    }
    if selectors.can_read_programmes(user):
        context |= _call_applications(request, call)
        if getattr(request, "htmx", False):
            response = render(request, "programmes/_applications.html", context)
            patch_vary_headers(response, ("HX-Request",))
            return response
    return render(request, "programmes/call_detail.html", context)


def _call_applications(request: HttpRequest, call: Call) -> dict[str, Any]:
    user = _user(request)
    form = StatusFilterForm(request.GET)
    status = form.status_or_blank()
    applications = selectors.applications_for_user(user=user, call=call, status=status)
    page = Paginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.application_status_counts(user=user, call=call)
    return {
        "filter_form": form,
        "page": page,
        "status": status,
        "counts": [(s, status_label(s), n) for s, n in counts.items()],
        "total": sum(counts.values()),
    }


@login_required
@require_POST
def call_open(request: HttpRequest, pk: int) -> HttpResponse:
    return _call_status(request, pk, services.call_open, _("The call is open."))


@login_required
@require_POST
def call_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _call_status(request, pk, services.call_close, _("The call is closed for review."))


def _call_status(request: HttpRequest, pk: int, service: Any, done: str) -> HttpResponse:
    user = _user(request)
    call = selectors.call_get_for_user(user=user, pk=pk)
    _require(permissions.can_manage_programmes(user))
    try:
        service(actor=user, call=call)
    except WotuError as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(request, done)
    return redirect("programmes:call", pk=call.pk)


@login_required
@require_GET
def calls_open(request: HttpRequest) -> HttpResponse:
    calls = selectors.calls_open()
    context = {"calls": calls, "can_apply": permissions.can_apply(_user(request))}
    return render(request, "programmes/calls_open.html", context)


# --- applications (applicants) ----------------------------------------------------------------


@login_required
@require_GET
def my_applications(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require(permissions.can_apply(user))
    applications = selectors.applications_for_user(user=user)
    rows = [
        {
            "application": a,
            "status": status_label(a.status),
            "lead": a.organisation_id == user.organisation_id,
        }
        for a in applications
    ]
    return render(request, "programmes/my_applications.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def application_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    call = selectors.call_get_for_user(user=user, pk=pk)
    _require(permissions.can_apply(user))
    return _application_form(request, call=call, application=None)


@login_required
@require_http_methods(["GET", "POST"])
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    application = selectors.application_get_for_user(user=user, pk=pk)
    if not selectors.application_is_editable(user=user, application=application):
        raise PermissionDenied
    return _application_form(request, call=application.call, application=application)


def _application_form(
    request: HttpRequest, *, call: Call, application: Application | None
) -> HttpResponse:
    user = _user(request)
    programme = call.programme
    if request.method == "GET":
        form = ApplicationForm(programme=programme, application=application)
        return _render_form(request, form, call, application)
    form = ApplicationForm(request.POST, request.FILES, programme=programme)
    if not form.is_valid():
        return _render_form(request, form, call, application, status=400)
    try:
        application = services.application_draft_save(
            actor=user, call=call, application=application, **form.service_arguments()
        )
    except services.Invalid as exc:
        form.add_service_errors(exc.errors)
        return _render_form(request, form, call, application, status=400)
    except WotuError as exc:
        messages.error(request, _refusal(exc))
        return _render_form(request, form, call, application, status=400)
    if request.POST.get("action") != "submit":
        messages.success(request, _("Draft saved."))
        return redirect("programmes:edit", pk=application.pk)
    try:
        services.application_submit(actor=user, application=application)
    except services.Invalid as exc:
        form = ApplicationForm(request.POST, programme=programme)
        form.is_valid()
        form.add_service_errors(exc.errors)
        messages.warning(
            request, _("Your draft was saved but not submitted: please correct the problems below.")
        )
        return _render_form(request, form, call, application, status=400)
    except WotuError as exc:
        messages.error(request, _refusal(exc))
        return redirect("programmes:application", pk=application.pk)
    messages.success(request, _("The application was submitted."))
    return redirect("programmes:application", pk=application.pk)


def _render_form(
    request: HttpRequest,
    form: ApplicationForm,
    call: Call,
    application: Application | None,
    status: int = 200,
) -> HttpResponse:
    files = {a.field: a for a in application.files.all()} if application else {}
    rows = [(form[f"answer_{spec.name}"], files.get(spec.name)) for spec in form.specs]
    context = {"form": form, "call": call, "application": application, "answer_rows": rows}
    return render(request, "programmes/application_form.html", context, status=status)


@login_required
@require_GET
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    application = selectors.application_get_for_user(user=user, pk=pk)
    programme = application.call.programme
    answers = []
    files = {a.field: a for a in application.files.all()}
    for spec in form_spec_validate(spec=programme.form).fields:
        value = files.get(spec.name) if spec.type == "file" else application.answers.get(spec.name)
        answers.append(
            {"label": bilingual(spec.label_zh, spec.label_en), "spec": spec, "value": value}
        )
    lines = [
        {
            "label": bilingual(line["label_zh"], line["label_en"]),
            "amount": application.budget.get(line["code"]),
        }
        for line in programme.budget_lines
    ]
    context = {
        "application": application,
        "status": status_label(application.status),
        "field_name": field_label(application.field, language="en" if english() else "zh-hans"),
        "answers": answers,
        "lines": lines,
        "partners": application.partners.all(),
        "results": _stage_results(application),
        "can_edit": selectors.application_is_editable(user=user, application=application),
        "can_withdraw": selectors.application_is_lead(user=user, application=application)
        and application.status in OPEN_STATUSES,
        "can_check": permissions.can_manage_programmes(user)
        and application.status == Status.SUBMITTED,
        "is_officer": selectors.can_read_programmes(user),
    }
    return render(request, "programmes/application_detail.html", context)


def _stage_results(application: Application) -> list[dict[str, Any]]:
    """What the applicant may read of each closed stage: passed or not, and the feedback —
    never the experts, their marks or who they were."""
    from wotu.reviews.models import StageResult

    results = StageResult.objects.filter(application=application).select_related("stage")
    return [
        {"stage": r.stage.get_kind_display(), "passed": r.passed, "feedback": r.feedback}
        for r in results.order_by("stage__order")
    ]


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int, field: str) -> FileResponse:
    application = selectors.application_get_for_user(user=_user(request), pk=pk)
    attachment = application.files.filter(field=field).first()
    if attachment is None:
        raise Http404
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def application_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    application = selectors.application_get_for_user(user=user, pk=pk)
    _require(selectors.application_is_lead(user=user, application=application))
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.application_withdraw(
                actor=user, application=application, reason=form.cleaned_data["reason"]
            )
        except WotuError as exc:
            messages.error(request, _refusal(exc))
        else:
            messages.success(request, _("The application was withdrawn."))
        return redirect("programmes:application", pk=application.pk)
    context = {"application": application, "form": form, "status": status_label(application.status)}
    return render(request, "programmes/application_withdraw.html", context)


# --- the formal check (officers) --------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def formal_check(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    application = selectors.application_get_for_user(user=user, pk=pk)
    _require(permissions.can_manage_programmes(user))
    form = FormalCheckForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.application_formal_check(
                application=application, actor=user, outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )  # fmt: skip
        except services.Invalid as exc:
            form.add_service_errors(exc.errors)
            status = 400
        except WotuError as exc:
            messages.error(request, _refusal(exc))
            return redirect("programmes:application", pk=application.pk)
        else:
            messages.success(request, _("The formal check was recorded."))
            return redirect("programmes:call", pk=application.call_id)
    checks = services.application_problems(application)
    context = {
        "application": application,
        "form": form,
        "status": status_label(application.status),
        "checks": [bilingual(e.message_zh, e.message_en) for e in checks],
        "submitted": application.status == Status.SUBMITTED,
    }
    return render(request, "programmes/formal_check.html", context, status=status)
