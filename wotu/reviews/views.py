"""The review screens. Officers: the expert pool (list, add, edit, admit), the scored stages
(run the assignment, follow declarations and scores, close, results) and their conflicts
(dismiss with a reason). Experts: their own assignments, the declaration, the application once
"no conflict" is affirmed, and the scoring form.

Views parse, call one selector or service, and render. Objects come through the scoped getters
of :mod:`wotu.reviews.selectors` (404 outside the user's scope); a refusal of a service
(:class:`~wotu.core.errors.WotuError`) is shown on the page in the user's language.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.programmes.models import StageStatus
from wotu.reviews import selectors, services
from wotu.reviews.fields import field_label
from wotu.reviews.forms import (
    AdmissionForm,
    AssignForm,
    DeclareForm,
    DismissForm,
    ExpertForm,
    ExpertSearchForm,
    OrganisationPicker,
    ScoreForm,
)
from wotu.reviews.models import Assignment, ConflictSource

PAGE_SIZE = 50


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _refusal(exc: WotuError) -> str:
    return exc.en if _english() else exc.zh


def _field(code: str) -> str:
    return field_label(code, language=get_language() or "zh-hans")


# --- the expert pool ----------------------------------------------------------------------------


@login_required
@require_GET
def expert_list(request: HtmxHttpRequest) -> HttpResponse:
    form = ExpertSearchForm(request.GET)
    experts = selectors.expert_list_for_user(user=_user(request), filters=form.filters())
    page = Paginator(experts, PAGE_SIZE).get_page(request.GET.get("page"))
    for expert in page.object_list:
        expert.field_names = [_field(code) for code in expert.fields]  # type: ignore[attr-defined]
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    template = "reviews/_expert_results.html" if partial else "reviews/expert_list.html"
    response = render(request, template, {"form": form, "page": page})
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_http_methods(["GET", "POST"])
def expert_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    selectors.expert_list_for_user(user=user)  # officers only
    form = ExpertForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            expert = services.expert_create(
                actor=user, code=data["code"], name=data["name"],
                organisation=data["organisation"], fields=data["fields_"], region=data["region"],
                title=data["title"], max_load=data["max_load"], active=data["active"],
                account=data.get("account"),
            )  # fmt: skip
        except WotuError as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, gettext("The expert was added to the pool."))
            return redirect("reviews:expert", pk=expert.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reviews/expert_form.html", {"form": form}, status=status)


_WIDGET_NAME = re.compile(r"[a-z][a-z0-9_]{0,59}")


@login_required
@require_GET
def organisation_suggest(request: HttpRequest) -> HttpResponse:
    """The expert form's organisation search (officers only): up to 20 matches for what was
    typed, each a button that picks it; ``pick=<id>`` answers with the picker showing that
    organisation chosen (its id in the hidden input the form posts)."""
    user = _user(request)
    name = request.GET.get("name", "organisation")
    widget_id = request.GET.get("id", f"id_{name}")
    if not _WIDGET_NAME.fullmatch(name) or not _WIDGET_NAME.fullmatch(widget_id):
        name, widget_id = "organisation", "id_organisation"
    pick = request.GET.get("pick", "")
    if pick:
        if not pick.isdigit():
            raise Http404
        chosen = selectors.organisation_get_for_user(user=user, pk=int(pick))
        html = OrganisationPicker().render(name, chosen, attrs={"id": widget_id})
        return HttpResponse(html)
    q = request.GET.get(f"{name}_q", request.GET.get("q", ""))[:100]
    context = {
        "organisations": selectors.organisation_suggest_for_user(user=user, q=q),
        "q": q.strip(),
        "name": name,
        "id": widget_id,
        "suggest_url": reverse("reviews:organisation_suggest"),
    }
    return render(request, "reviews/_organisation_suggestions.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def expert_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    expert = selectors.expert_get_for_user(user=user, pk=pk)
    form = ExpertForm(request.POST or None, expert=expert, initial=ExpertForm.initial_from(expert))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.expert_update(
                expert=expert, actor=user, name=data["name"], organisation=data["organisation"],
                fields=data["fields_"], region=data["region"], title=data["title"],
                max_load=data["max_load"], active=data["active"],
            )  # fmt: skip
        except WotuError as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, gettext("The expert's record was saved."))
            return redirect("reviews:expert", pk=expert.pk)
    context = {
        "form": form,
        "expert": expert,
        "field_names": [_field(code) for code in expert.fields],
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reviews/expert_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def expert_admit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    expert = selectors.expert_get_for_user(user=user, pk=pk)
    conditions = selectors.admission_conditions()
    form = AdmissionForm(
        request.POST or None,
        conditions=conditions,
        initial={"conditions": [code for code, met in expert.admission.items() if met]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.expert_admit(expert=expert, actor=user, ticked=form.cleaned_data["conditions"])
        except WotuError as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, gettext("The expert was admitted to the pool."))
            return redirect("reviews:expert", pk=expert.pk)
    context = {"form": form, "expert": expert}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reviews/expert_admit.html", context, status=status)


# --- stages -------------------------------------------------------------------------------------


@login_required
@require_GET
def stage_list(request: HttpRequest) -> HttpResponse:
    stages = selectors.stage_list_for_user(user=_user(request))
    page = Paginator(stages, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reviews/stage_list.html", {"page": page})


def _stage_page(
    request: HttpRequest, pk: int, *, assign_form: AssignForm | None = None,
    problems: list[tuple[str, str]] | None = None, error: str = "", status: int = 200,
) -> HttpResponse:  # fmt: skip
    user = _user(request)
    stage = selectors.stage_get_for_user(user=user, pk=pk)
    progress = selectors.stage_progress_for_user(user=user, stage=stage)
    results = selectors.stage_results_for_user(user=user, stage=stage)
    context = {
        "stage": stage,
        "progress": progress,
        "results": results,
        "pass_line": sum(1 for r in results if r.passed),
        "run": stage.assignment_runs.first(),
        "assign_form": assign_form or AssignForm(),
        "problems": [p[1] if _english() else p[0] for p in problems or []],
        "error": error,
        "can_assign": stage.status in (StageStatus.PENDING, StageStatus.ASSIGNING),
        "can_close": stage.status == StageStatus.SCORING,
    }
    return render(request, "reviews/stage_detail.html", context, status=status)


@login_required
@require_GET
def stage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _stage_page(request, pk)


@login_required
@require_POST
def stage_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    stage = selectors.stage_get_for_user(user=user, pk=pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _stage_page(request, pk, assign_form=form, status=400)
    try:
        run = services.stage_assign(stage=stage, actor=user, seed=form.cleaned_data["seed"])
    except services.StageInfeasible as exc:
        return _stage_page(
            request, pk, assign_form=form, problems=exc.problems, error=_refusal(exc), status=400
        )
    except WotuError as exc:
        return _stage_page(request, pk, assign_form=form, error=_refusal(exc), status=400)
    messages.success(
        request,
        gettext("%(pairs)s assignments made; experts may now declare.") % {"pairs": run.pairs},
    )
    return redirect("reviews:stage", pk=stage.pk)


@login_required
@require_POST
def stage_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    stage = selectors.stage_get_for_user(user=user, pk=pk)
    try:
        closed = services.stage_close(stage=stage, actor=user)
    except WotuError as exc:
        return _stage_page(request, pk, error=_refusal(exc), status=400)
    messages.success(
        request,
        gettext("The stage is closed: %(passed)s passed, %(failed)s did not.")
        % {"passed": closed.passed, "failed": closed.failed},
    )
    return redirect("reviews:stage", pk=stage.pk)


# --- conflicts ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def stage_conflicts(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    stage = selectors.stage_get_for_user(user=user, pk=pk)
    if request.method == "POST":
        found = services.conflicts_detect(stage=stage, actor=user)
        messages.success(
            request, gettext("%(count)s active conflicts found.") % {"count": len(found)}
        )
        return redirect("reviews:conflicts", pk=stage.pk)
    conflicts = selectors.conflict_list_for_user(user=user, stage=stage)
    page = Paginator(conflicts, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "stage": stage,
        "page": page,
        "fixed": (ConflictSource.EXPERT_DECLARED, ConflictSource.SAME_ORGANISATION),
    }
    return render(request, "reviews/conflicts.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def conflict_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    conflict = selectors.conflict_get_for_user(user=user, pk=pk)
    form = DismissForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.conflict_dismiss(
                conflict=conflict, actor=user, reason=form.cleaned_data["reason"]
            )
        except WotuError as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(request, gettext("The conflict was dismissed."))
            stage = conflict.application.stage
            if stage is not None and stage.is_scored:
                return redirect("reviews:conflicts", pk=stage.pk)
            return redirect("reviews:stages")
    status = 400 if form.is_bound and form.errors else 200
    context = {"form": form, "conflict": conflict}
    return render(request, "reviews/conflict_dismiss.html", context, status=status)


# --- the expert portal --------------------------------------------------------------------------


@login_required
@require_GET
def my_assignments(request: HttpRequest) -> HttpResponse:
    assignments = selectors.assignments_for_expert(user=_user(request))
    page = Paginator(assignments, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "reviews/my_assignments.html", {"page": page})


def _limited(assignment: Assignment) -> dict[str, Any]:
    """What an expert sees before affirming: enough to judge a conflict, nothing more."""
    application = assignment.application
    return {
        "reference": application.reference,
        "title": application.title,
        "field": _field(application.field),
        "organisation": application.organisation.name,
        "partners": [p.name for p in application.partners.all()],
    }


@login_required
@require_http_methods(["GET", "POST"])
def assignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    assignment = selectors.assignment_get_for_user(user=user, pk=pk)
    form = DeclareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        no_conflict = form.cleaned_data["declaration"] == "none"
        try:
            outcome = services.assignment_declare(
                assignment=assignment, expert_user=user, no_conflict=no_conflict,
                reason=form.cleaned_data["reason"],
            )  # fmt: skip
        except WotuError as exc:
            form.add_error(None, _refusal(exc))
        else:
            if no_conflict:
                messages.success(request, gettext("Thank you. The application is now open to you."))
                return redirect("reviews:assignment_application", pk=assignment.pk)
            del outcome  # the replacement is the officer's business, not the expert's
            messages.success(
                request,
                gettext("Your declaration was recorded; you are released from this application."),
            )
            return redirect("reviews:mine")
    context = {
        "assignment": assignment,
        "summary": _limited(assignment),
        "form": form,
        "opened": selectors.assignment_opened(assignment),
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reviews/assignment.html", context, status=status)


@login_required
@require_GET
def assignment_application(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    assignment = selectors.assignment_get_for_user(user=user, pk=pk)
    application = selectors.assignment_application_for_user(user=user, assignment=assignment)
    form_spec = application.call.programme.form
    english = _english()
    answers = [
        {
            "label": spec.get("label_en" if english else "label_zh", spec.get("name")),
            "value": application.answers.get(spec.get("name", "")),
            "is_file": spec.get("type") == "file",
        }
        for spec in form_spec
    ]
    lines = {
        line["code"]: line.get("label_en" if english else "label_zh", line["code"])
        for line in application.call.programme.budget_lines
    }
    context = {
        "assignment": assignment,
        "application": application,
        "field": _field(application.field),
        "answers": answers,
        "files": application.files.all(),
        "budget": [(lines.get(code, code), amount) for code, amount in application.budget.items()],
        "score": selectors.assignment_score(assignment),
        "peers": selectors.assignment_peer_totals_for_user(user=user, assignment=assignment),
    }
    return render(request, "reviews/application.html", context)


@login_required
@require_GET
def assignment_file(request: HttpRequest, pk: int, file_pk: int) -> FileResponse:
    user = _user(request)
    assignment = selectors.assignment_get_for_user(user=user, pk=pk)
    attachment = selectors.assignment_attachment_for_user(
        user=user, assignment=assignment, pk=file_pk
    )
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


@login_required
@require_http_methods(["GET", "POST"])
def assignment_score(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    assignment = selectors.assignment_get_for_user(user=user, pk=pk)
    selectors.assignment_application_for_user(user=user, assignment=assignment)  # 404 before
    rubric = selectors.stage_rubric(assignment.stage)
    existing = selectors.assignment_score(assignment)
    initial = ScoreForm.initial_from(existing.marks, existing.comment) if existing else {}
    form = ScoreForm(request.POST or None, rubric=rubric, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.score_submit(
                assignment=assignment, expert_user=user, marks=form.marks(),
                comment=form.cleaned_data["comment"],
            )  # fmt: skip
        except WotuError as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(
                request, gettext("Your score was saved. You may change it until the stage closes.")
            )
            return redirect("reviews:mine")
    context = {
        "assignment": assignment,
        "form": form,
        "editable": assignment.stage.status == StageStatus.SCORING,
        "score": existing,
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "reviews/score.html", context, status=status)
