"""Challenge tasks (揭榜挂帅) in the browser: the public task list and task page (no sign-in),
the officer's pages (post, bids, selection, milestone plans and acceptance) and the applicant's
(bid, my bids, submit a milestone). Views parse, call one selector or service, and render; who
may do what is decided in :mod:`wotu.programmes.challenges`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wotu.core import permissions
from wotu.core.errors import WotuError
from wotu.programmes import challenges as svc
from wotu.programmes.models import Programme
from wotu.programmes.selectors import programme_list_for_user
from wotu.reviews.calendar import SHANGHAI
from wotu.reviews.fields import FIELDS


def _error_text(error: WotuError) -> str:
    english = (get_language() or "").startswith("en")
    return f"{error.en} / {error.zh}" if english else f"{error.zh} / {error.en}"


class PostForm(forms.Form):
    programme = forms.ModelChoiceField(
        label=gettext_lazy("Programme"), queryset=Programme.objects.none()
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    title_en = forms.CharField(label=gettext_lazy("English title"), max_length=200)
    requirements = forms.CharField(
        label=gettext_lazy("Requirements"), widget=forms.Textarea(attrs={"rows": 5})
    )
    kpis = forms.CharField(
        label=gettext_lazy("KPIs, one per line"), widget=forms.Textarea(attrs={"rows": 4})
    )
    budget_ceiling = forms.DecimalField(
        label=gettext_lazy("Budget ceiling (CNY)"), max_digits=20, decimal_places=2
    )
    deadline = forms.DateTimeField(
        label=gettext_lazy("Deadline (Beijing time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    max_winners = forms.IntegerField(label=gettext_lazy("Bids selected"), min_value=1, initial=1)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["programme"]
        field.queryset = programme_list_for_user(user=user)  # type: ignore[attr-defined]


class BidForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    field = forms.ChoiceField(label=gettext_lazy("Field"), choices=[])
    proposal = forms.CharField(
        label=gettext_lazy("Proposal"), widget=forms.Textarea(attrs={"rows": 8})
    )
    team = forms.CharField(label=gettext_lazy("Team"), widget=forms.Textarea(attrs={"rows": 4}))
    price = forms.DecimalField(label=gettext_lazy("Price (CNY)"), max_digits=20, decimal_places=2)
    proposal_file = forms.FileField(
        label=gettext_lazy("Proposal document (PDF, optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,application/pdf"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        english = (get_language() or "").startswith("en")
        choices = [(f.code, f.en if english else f.zh) for f in FIELDS]
        self.fields["field"].choices = choices  # type: ignore[attr-defined]


class ReportForm(forms.Form):
    report = forms.CharField(label=gettext_lazy("Report"), widget=forms.Textarea(attrs={"rows": 4}))


# --- public ----------------------------------------------------------------------------------


@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "programmes/challenges/list.html", {"tasks": svc.challenge_list_public()}
    )


@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = svc.challenge_get_public(pk=pk)
    context = {
        "task": task,
        "can_bid": permissions.can_apply(request.user),
        "is_officer": permissions.can_read_all_applications(request.user),
    }
    return render(request, "programmes/challenges/detail.html", context)


# --- officers --------------------------------------------------------------------------------


@login_required
@require_GET
def task_manage(request: HttpRequest) -> HttpResponse:
    context = {
        "tasks": svc.challenge_list_for_user(user=request.user),
        "can_post": permissions.can_manage_programmes(request.user),
    }
    return render(request, "programmes/challenges/manage.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def task_post(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_programmes(request.user):
        raise PermissionDenied
    form = PostForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        deadline: dt.datetime = data["deadline"]
        try:
            task = svc.challenge_post(
                actor=request.user,
                programme=data["programme"],
                title=data["title"],
                title_en=data["title_en"],
                requirements=data["requirements"],
                kpis=data["kpis"].splitlines(),
                budget_ceiling=data["budget_ceiling"],
                deadline=deadline.astimezone(SHANGHAI),
                max_winners=data["max_winners"],
            )
        except WotuError as refused:
            form.add_error(None, _error_text(refused))
        else:
            messages.success(request, gettext("The task was posted."))
            return redirect("challenges:bids", pk=task.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "programmes/challenges/post.html", {"form": form}, status=status)


@login_required
@require_GET
def bid_list(request: HttpRequest, pk: int) -> HttpResponse:
    task = svc.challenge_get_for_user(user=request.user, pk=pk)
    context = {
        "task": task,
        "bids": svc.bid_list_for_user(user=request.user, task=task),
        "can_select": permissions.can_manage_programmes(request.user),
    }
    return render(request, "programmes/challenges/bids.html", context)


@login_required
@require_POST
def task_select(request: HttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_manage_programmes(request.user):
        raise PermissionDenied
    task = svc.challenge_get_for_user(user=request.user, pk=pk)
    try:
        ids = [int(i) for i in request.POST.getlist("bid")]
        svc.challenge_select(task=task, actor=request.user, application_ids=ids)
    except (WotuError, ValueError) as refused:
        text = _error_text(refused) if isinstance(refused, WotuError) else str(refused)
        messages.error(request, text)
    else:
        messages.success(request, gettext("The selection was recorded."))
    return redirect("challenges:bids", pk=task.pk)


# --- one bid and its milestones ----------------------------------------------------------------


@login_required
@require_GET
def bid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bid = svc.bid_get_for_user(user=request.user, pk=pk)
    is_officer = permissions.can_manage_programmes(request.user)
    own = permissions.can_apply(request.user)
    context = {
        "bid": bid,
        "task": bid.call.challenge,
        "selected": svc.bid_is_selected(bid=bid),
        "price": svc.bid_price(bid=bid),
        "milestones": bid.milestones.order_by("order"),
        "proposal_file": bid.files.filter(field=svc.PROPOSAL_FILE).first(),
        "payable": svc.milestone_payable(application=bid),
        "can_plan": is_officer,
        "can_decide": is_officer,
        "can_submit": own,
        "plan_rows": range(1, 7),
    }
    return render(request, "programmes/challenges/bid.html", context)


@login_required
@require_POST
def plan_set(request: HttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_manage_programmes(request.user):
        raise PermissionDenied
    bid = svc.bid_get_for_user(user=request.user, pk=pk)
    rows = [
        {
            "title": request.POST.get(f"title-{i}", ""),
            "due_on": request.POST.get(f"due-{i}", ""),
            "amount": request.POST.get(f"amount-{i}", ""),
        }
        for i in range(1, 7)
        if request.POST.get(f"title-{i}", "").strip()
    ]
    try:
        svc.milestone_plan_set(application=bid, actor=request.user, milestones=rows)
    except WotuError as refused:
        messages.error(request, _error_text(refused))
    else:
        messages.success(request, gettext("The milestone plan was saved."))
    return redirect("challenges:bid", pk=bid.pk)


@login_required
@require_POST
def milestone_submit(request: HttpRequest, pk: int) -> HttpResponse:
    milestone = svc.milestone_get_for_user(user=request.user, pk=pk)
    try:
        svc.milestone_submit(
            milestone=milestone, actor=request.user, report=request.POST.get("report", "")
        )
    except WotuError as refused:
        messages.error(request, _error_text(refused))
    else:
        messages.success(request, gettext("The milestone was submitted for acceptance."))
    return redirect("challenges:bid", pk=milestone.application_id)


@login_required
@require_POST
def milestone_decide(request: HttpRequest, pk: int) -> HttpResponse:
    milestone = svc.milestone_get_for_user(user=request.user, pk=pk)
    try:
        svc.milestone_decide(
            milestone=milestone,
            actor=request.user,
            accept=request.POST.get("decision") == "accept",
            note=request.POST.get("note", ""),
        )
    except WotuError as refused:
        messages.error(request, _error_text(refused))
    else:
        messages.success(request, gettext("The milestone decision was recorded."))
    return redirect("challenges:bid", pk=milestone.application_id)


# --- applicants --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def bid_create(request: HttpRequest, pk: int) -> HttpResponse:
    if not permissions.can_apply(request.user):
        raise PermissionDenied
    task = svc.challenge_get_public(pk=pk)
    form = BidForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            bid = svc.challenge_bid_submit(task=task, actor=request.user, **form.cleaned_data)
        except WotuError as refused:
            form.add_error(None, _error_text(refused))
        else:
            messages.success(request, gettext("Your bid was submitted."))
            return redirect("challenges:bid", pk=bid.pk)
    status = 400 if form.is_bound and form.errors else 200
    context = {"task": task, "form": form}
    return render(request, "programmes/challenges/bid_form.html", context, status=status)


@login_required
@require_GET
def bids_mine(request: HttpRequest) -> HttpResponse:
    bids = svc.bids_mine(user=request.user)
    return render(request, "programmes/challenges/mine.html", {"bids": bids})
