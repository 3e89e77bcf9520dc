"""Reads of the review process, always scoped to what the asking user may see.

``PermissionDenied`` means the role may not look at this kind of data at all; ``Http404`` means
this particular object is not visible to the user (we do not reveal that it exists).

Who sees what:

* bureau officers (and superusers): the expert pool, conflicts, every scored stage, its
  progress *counts* while it is open, and the scores and results once it is closed;
* an expert: only their own assignments. Before affirming "no conflict" they see the title,
  field and lead organisation's name (what they need to judge a conflict); after affirming,
  the full application (answers, attachments, budget). Other experts' scores stay hidden until
  the stage closes, and other experts are never named;
* every other role: nothing here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import Http404

from wotu.core import permissions
from wotu.organisations.models import Organisation
from wotu.programmes.models import Application, Attachment, Stage, StageKind, StageStatus, Status
from wotu.reviews.models import (
    AdmissionCondition,
    Assignment,
    AssignmentStatus,
    Conflict,
    Expert,
    Score,
    StageResult,
)
from wotu.reviews.scoring import Criterion, Rubric

SCORED_KINDS = (StageKind.PROFESSIONAL, StageKind.DEFENCE, StageKind.SITE)
#: An expert may open the full application only after affirming "no conflict".
OPENED = (AssignmentStatus.ACCEPTED, AssignmentStatus.SCORED)


# --- who ----------------------------------------------------------------------------------------


def can_manage_reviews(user: Any) -> bool:
    """The expert pool, conflicts, assignment runs and closing stages: bureau officers."""
    return permissions.can_manage_programmes(user)


def expert_of(user: Any) -> Expert | None:
    """The expert record of a signed-in expert, or None (another role, or no record yet)."""
    if not permissions.is_expert(user):
        return None
    return Expert.objects.filter(user=user).select_related("organisation").first()


def _officer(user: Any) -> None:
    if not can_manage_reviews(user):
        raise PermissionDenied


def _expert(user: Any) -> Expert:
    """The caller's expert record; a non-expert role is refused, an expert role without a
    record sees nothing (404)."""
    if not permissions.is_expert(user):
        raise PermissionDenied
    expert = expert_of(user)
    if expert is None:
        raise Http404
    return expert


# --- the expert pool ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpertFilter:
    q: str = ""
    field: str = ""
    region: str = ""
    #: ``"yes"``, ``"no"`` or ``""`` (any).
    active: str = ""
    #: ``"yes"``: only experts who may be assigned now (active and, for HK/MO, admitted).
    in_pool: str = ""


def expert_pool() -> QuerySet[Expert]:
    """Experts who may be assigned: active, and admitted when from Hong Kong or Macao."""
    return Expert.objects.filter(active=True).filter(Q(region="CN") | Q(admitted_at__isnull=False))


def expert_list_for_user(*, user: Any, filters: ExpertFilter | None = None) -> QuerySet[Expert]:
    _officer(user)
    f = filters or ExpertFilter()
    experts = Expert.objects.select_related("organisation")
    if f.q.strip():
        q = f.q.strip()
        experts = experts.filter(
            Q(name__icontains=q) | Q(code__iexact=q) | Q(organisation__name__icontains=q)
        )
    if f.field:
        # JSON containment is not portable to SQLite; a quoted code cannot match another code.
        experts = experts.filter(fields__icontains=f'"{f.field}"')
    if f.region:
        experts = experts.filter(region=f.region)
    if f.active in ("yes", "no"):
        experts = experts.filter(active=f.active == "yes")
    if f.in_pool == "yes":
        experts = experts.filter(pk__in=expert_pool().values("pk"))
    return experts.order_by("code")


def expert_get_for_user(*, user: Any, pk: int) -> Expert:
    _officer(user)
    try:
        return Expert.objects.select_related("organisation", "user").get(pk=pk)
    except Expert.DoesNotExist as exc:
        raise Http404 from exc


#: At most this many organisations are suggested while an officer types.
SUGGESTIONS = 20


def organisation_suggest_for_user(
    *, user: Any, q: str, limit: int = SUGGESTIONS
) -> list[Organisation]:
    """Up to ``limit`` organisations matching ``q`` for the expert form (officers only;
    ``PermissionDenied`` otherwise): an exact USCC or local registration number first, then
    names (Chinese or English) starting with ``q``, then names containing it, each by name.
    An empty ``q`` suggests nothing (the registry holds 20,000+ organisations)."""
    _officer(user)
    text = " ".join(q.split())
    if not text:
        return []
    exact = Q(uscc=text.upper()) | Q(local_id__iexact=text)
    starts = Q(name__startswith=text) | Q(name_en__istartswith=text)
    matches = Organisation.objects.filter(
        exact | starts | Q(name__icontains=text) | Q(name_en__icontains=text)
        | Q(uscc__startswith=text.upper())
    ).annotate(
        best=Case(
            When(exact, then=Value(0)), When(starts, then=Value(1)), default=Value(2),
            output_field=IntegerField(),
        )
    )  # fmt: skip
    return list(matches.order_by("best", "name", "pk")[: max(0, limit)])


def organisation_match(*, text: str) -> Organisation | None:
    """The one organisation ``text`` names exactly — its USCC, local registration number or
    full name (Chinese or English) — or None when none or several do. What the expert form
    falls back on when a browser without JavaScript posts the typed text only."""
    text = " ".join(text.split())
    if not text:
        return None
    found = list(
        Organisation.objects.filter(
            Q(uscc=text.upper()) | Q(local_id__iexact=text) | Q(name=text) | Q(name_en__iexact=text)
        )[:2]
    )
    return found[0] if len(found) == 1 else None


def organisation_get_for_user(*, user: Any, pk: int) -> Organisation:
    """An organisation an officer picked in the expert form's search; Http404 when there is
    none, ``PermissionDenied`` for other roles."""
    _officer(user)
    found = organisation_by_pk(pk=pk)
    if found is None:
        raise Http404
    return found


def organisation_by_pk(*, pk: int) -> Organisation | None:
    """The organisation with id ``pk`` (any kind: experts come from enterprises, universities,
    institutes and banks), or None."""
    return Organisation.objects.filter(pk=pk).first()


def admission_conditions() -> list[AdmissionCondition]:
    """The conditions an HK/MO expert must meet now, in the bureau's order."""
    return list(AdmissionCondition.objects.filter(active=True))


# --- stages -------------------------------------------------------------------------------------


def stage_list_for_user(*, user: Any) -> QuerySet[Stage]:
    """Every scored stage of every call, newest call first."""
    _officer(user)
    return (
        Stage.objects.filter(kind__in=SCORED_KINDS)
        .select_related("call", "call__programme")
        .order_by("-call__opens_at", "call__code", "order")
    )


def stage_get_for_user(*, user: Any, pk: int) -> Stage:
    _officer(user)
    try:
        return Stage.objects.select_related("call", "call__programme").get(
            pk=pk, kind__in=SCORED_KINDS
        )
    except Stage.DoesNotExist as exc:
        raise Http404 from exc


def stage_applications(stage: Stage) -> QuerySet[Application]:
    """The applications under review at ``stage`` now (those the next assignment covers)."""
    return Application.objects.filter(stage=stage, status=Status.IN_REVIEW).order_by("reference")


def stage_rubric(stage: Stage) -> Rubric:
    """The stage's rubric (JSON on the stage) as :class:`wotu.reviews.scoring.Rubric`."""
    criteria = tuple(
        Criterion(
            code=str(line.get("code", "")),
            label_zh=str(line.get("label_zh", "")),
            label_en=str(line.get("label_en", "")),
            weight=Decimal(str(line.get("weight", "0"))),
            min=Decimal(str(line.get("min", "0"))),
            max=Decimal(str(line.get("max", "0"))),
        )
        for line in stage.rubric
    )
    return Rubric(code=f"{stage.call.code}#{stage.order}", criteria=criteria)


@dataclass(frozen=True)
class Progress:
    """Counts only: what an officer sees of a stage while experts are still at work."""

    applications: int
    assignments: int
    pending: int
    accepted: int
    declined: int
    scored: int
    #: References of applications with fewer live assignments than the panel size.
    short: tuple[str, ...]

    @property
    def declared(self) -> int:
        return self.accepted + self.declined + self.scored

    @property
    def live(self) -> int:
        """Assignments still counting (not declined)."""
        return self.assignments - self.declined

    def percent(self, part: int) -> int:
        return round(100 * part / self.live) if self.live else 0

    @property
    def declared_percent(self) -> int:
        return self.percent(self.accepted + self.scored)

    @property
    def scored_percent(self) -> int:
        return self.percent(self.scored)


def stage_progress_for_user(*, user: Any, stage: Stage) -> Progress:
    _officer(user)
    statuses = Counter(
        Assignment.objects.filter(stage=stage).values_list("status", flat=True).iterator()
    )
    live = Counter(
        Assignment.objects.filter(stage=stage)
        .exclude(status=AssignmentStatus.DECLINED)
        .values_list("application__reference", flat=True)
        .iterator()
    )
    applications = (
        Application.objects.filter(assignments__stage=stage).distinct().count()
        if statuses
        else stage_applications(stage).count()
    )
    return Progress(
        applications=applications,
        assignments=sum(statuses.values()),
        pending=statuses[AssignmentStatus.PENDING],
        accepted=statuses[AssignmentStatus.ACCEPTED],
        declined=statuses[AssignmentStatus.DECLINED],
        scored=statuses[AssignmentStatus.SCORED],
        short=tuple(sorted(ref for ref, n in live.items() if n < stage.panel_size)),
    )


def stage_results_for_user(*, user: Any, stage: Stage) -> QuerySet[StageResult]:
    """The ranked results of a closed stage (empty while it is open)."""
    _officer(user)
    if stage.status != StageStatus.CLOSED:
        return StageResult.objects.none()
    return StageResult.objects.filter(stage=stage).select_related(
        "application", "application__organisation"
    )


def stage_scores_for_user(*, user: Any, stage: Stage) -> QuerySet[Score]:
    """Every expert's score at a stage — for officers, and only once the stage is closed."""
    _officer(user)
    if stage.status != StageStatus.CLOSED:
        return Score.objects.none()
    return Score.objects.filter(assignment__stage=stage).select_related(
        "assignment__expert", "assignment__application"
    )


# --- conflicts ----------------------------------------------------------------------------------


def conflict_list_for_user(*, user: Any, stage: Stage) -> QuerySet[Conflict]:
    """Conflicts (active and dismissed) on the applications at ``stage`` or assigned in it."""
    _officer(user)
    applications = Application.objects.filter(
        Q(stage=stage, status=Status.IN_REVIEW) | Q(assignments__stage=stage)
    ).values("pk")
    return (
        Conflict.objects.filter(application__in=applications)
        .select_related("application", "expert", "expert__organisation", "dismissed_by")
        .order_by("application__reference", "expert__code", "source")
    )


def conflict_get_for_user(*, user: Any, pk: int) -> Conflict:
    _officer(user)
    try:
        return Conflict.objects.select_related("application", "expert").get(pk=pk)
    except Conflict.DoesNotExist as exc:
        raise Http404 from exc


# --- the expert's own assignments ----------------------------------------------------------------


def assignments_for_expert(*, user: Any) -> QuerySet[Assignment]:
    """Only the signed-in expert's assignments, newest stage first."""
    if not permissions.is_expert(user):
        raise PermissionDenied
    expert = expert_of(user)
    if expert is None:
        return Assignment.objects.none()
    return (
        Assignment.objects.filter(expert=expert)
        .select_related("stage", "stage__call", "application", "application__organisation")
        .order_by("-stage__call__opens_at", "stage__order", "application__reference")
    )


def assignment_get_for_user(*, user: Any, pk: int) -> Assignment:
    """One of the expert's own assignments; another expert's, or a missing one, is a 404."""
    expert = _expert(user)
    try:
        return (
            Assignment.objects.select_related(
                "stage", "stage__call", "application", "application__organisation", "expert"
            )
            .filter(expert=expert)
            .get(pk=pk)
        )
    except Assignment.DoesNotExist as exc:
        raise Http404 from exc


def assignment_opened(assignment: Assignment) -> bool:
    """True once the expert affirmed "no conflict": the full application is open to them."""
    return assignment.status in OPENED


def assignment_application_for_user(*, user: Any, assignment: Assignment) -> Application:
    """The full application behind an assignment — only after "no conflict" was affirmed."""
    own = assignment_get_for_user(user=user, pk=assignment.pk)
    if not assignment_opened(own):
        raise Http404
    return own.application


def assignment_attachment_for_user(*, user: Any, assignment: Assignment, pk: int) -> Attachment:
    application = assignment_application_for_user(user=user, assignment=assignment)
    try:
        return Attachment.objects.get(application=application, pk=pk)
    except Attachment.DoesNotExist as exc:
        raise Http404 from exc


def assignment_score(assignment: Assignment) -> Score | None:
    """The expert's own score for this assignment, if submitted."""
    return Score.objects.filter(assignment=assignment).first()


def assignment_peer_totals_for_user(*, user: Any, assignment: Assignment) -> list[Decimal]:
    """The other experts' totals for the same application at the same stage, unnamed —
    shown only once the stage is closed (empty before)."""
    own = assignment_get_for_user(user=user, pk=assignment.pk)
    if own.stage.status != StageStatus.CLOSED:
        return []
    return list(
        Score.objects.filter(assignment__stage=own.stage, assignment__application=own.application)
        .exclude(assignment=own)
        .order_by("total")
        .values_list("total", flat=True)
    )
