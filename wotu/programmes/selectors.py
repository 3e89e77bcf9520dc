"""Reads of programmes, calls and applications, always scoped to what the asking user may see.

| role            | programmes | calls                             | applications                 |
|-----------------|------------|-----------------------------------|------------------------------|
| bureau officer  | all        | all                               | all                          |
| finance officer | all (read) | all (read)                        | all (read)                   |
| applicant       | no         | open ones, and those it applied to| its organisation's, as lead  |
|                 |            |                                   | or co-applicant (read only)  |
| expert, bank    | no         | open ones                         | no (experts: see reviews)    |
| anonymous       | no         | no                                | no                           |

``PermissionDenied`` means the role may not look at this kind of data at all; ``Http404`` means
this particular object is not visible to the user (we do not reveal that it exists).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from wotu.core import permissions
from wotu.programmes.models import (
    Application,
    Call,
    CallStatus,
    Programme,
    StageKind,
    StageStatus,
    Status,
)


def can_read_programmes(user: Any) -> bool:
    """Programme and call administration pages (read): bureau and finance officers."""
    return permissions.can_manage_programmes(user) or permissions.can_read_all_applications(user)


def can_see_open_calls(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "is_active", False)


def _org_id(user: Any) -> int | None:
    return getattr(user, "organisation_id", None)


# --- programmes -------------------------------------------------------------------------------


def programme_list_for_user(*, user: Any) -> QuerySet[Programme]:
    if not can_read_programmes(user):
        raise PermissionDenied
    return Programme.objects.annotate(call_count=Count("calls")).order_by("-year", "code")


def programme_get_for_user(*, user: Any, pk: int) -> Programme:
    if not can_read_programmes(user):
        raise Http404
    try:
        return Programme.objects.get(pk=pk)
    except Programme.DoesNotExist as exc:
        raise Http404 from exc


# --- calls ------------------------------------------------------------------------------------


def calls_open(*, now: Any = None) -> QuerySet[Call]:
    """Calls an applicant may apply to now or soon: status open and not yet closed, soonest
    closing first."""
    now = now or timezone.now()
    return (
        Call.objects.filter(status=CallStatus.OPEN, closes_at__gt=now)
        .select_related("programme")
        .order_by("closes_at", "code")
    )


def call_list_for_user(*, user: Any) -> QuerySet[Call]:
    """Every call the user may open: all for officers; otherwise the open ones (and, for an
    applicant, the calls its organisation applied to)."""
    if can_read_programmes(user):
        return Call.objects.select_related("programme").order_by("-opens_at", "code")
    if not can_see_open_calls(user):
        raise PermissionDenied
    visible = Q(status=CallStatus.OPEN)
    org_id = _org_id(user)
    if permissions.can_apply(user) and org_id is not None:
        visible |= Q(applications__organisation_id=org_id)
    return (
        Call.objects.filter(visible)
        .distinct()
        .select_related("programme")
        .order_by("-opens_at", "code")
    )


def call_get_for_user(*, user: Any, pk: int) -> Call:
    if not can_see_open_calls(user):
        raise Http404
    try:
        return call_list_for_user(user=user).get(pk=pk)
    except Call.DoesNotExist as exc:
        raise Http404 from exc


# --- applications -----------------------------------------------------------------------------


def applications_for_user(
    *, user: Any, call: Call | None = None, status: str = ""
) -> QuerySet[Application]:
    """Applications the user may read: all for officers, the organisation's own (as lead or
    co-applicant) for an applicant; other roles are refused."""
    if permissions.can_read_all_applications(user):
        queryset = Application.objects.all()
    elif permissions.can_apply(user):
        org_id = _org_id(user)
        mine = Q(organisation_id=org_id) | Q(partners__id=org_id)
        queryset = Application.objects.filter(pk__in=Application.objects.filter(mine).values("pk"))
    else:
        raise PermissionDenied
    if call is not None:
        queryset = queryset.filter(call=call)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.select_related("call", "call__programme", "organisation", "stage").order_by(
        "call", "reference"
    )


def application_get_for_user(*, user: Any, pk: int) -> Application:
    try:
        return applications_for_user(user=user).get(pk=pk)
    except (PermissionDenied, Application.DoesNotExist) as exc:
        raise Http404 from exc


def application_is_lead(*, user: Any, application: Application) -> bool:
    """The user applies for the application's lead organisation (co-applicants only read)."""
    return permissions.can_apply(user) and application.organisation_id == _org_id(user)


def application_is_editable(*, user: Any, application: Application) -> bool:
    """The lead's applicant may still change it: a draft, or returned for correction."""
    return application_is_lead(user=user, application=application) and application.status in (
        Status.DRAFT,
        Status.RETURNED,
    )


def application_status_counts(*, user: Any, call: Call) -> dict[str, int]:
    """How many of the call's applications are in each status (every status, zeros too)."""
    rows = (
        applications_for_user(user=user, call=call)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )
    counts = {str(value): 0 for value in Status.values}
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


@dataclass(frozen=True)
class PipelineStep:
    """One stage of a call as the pipeline progress bar shows it. ``state`` is ``todo`` (not
    started), ``active`` (assigning, scoring, or — for the notice — running) or ``done``."""

    order: int
    kind: str
    label: str
    status: str
    state: str
    state_label: str
    closed_at: dt.datetime | None


def call_pipeline(*, call: Call) -> list[PipelineStep]:
    """Every stage of ``call`` in order with its state, for the call page. A stage that is not
    scored (the notice, the committee) shows *in progress* rather than *scoring*."""
    steps = []
    for stage in call.stages.order_by("order"):
        status = StageStatus(stage.status)
        state = {StageStatus.PENDING: "todo", StageStatus.CLOSED: "done"}.get(status, "active")
        label = str(status.label)
        if status == StageStatus.SCORING and not stage.is_scored:
            label = gettext("In progress")
        steps.append(
            PipelineStep(
                order=stage.order,
                kind=stage.kind,
                label=str(StageKind(stage.kind).label),
                status=stage.status,
                state=state,
                state_label=label,
                closed_at=stage.closed_at,
            )
        )
    return steps
