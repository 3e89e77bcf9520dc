"""Reading challenge tasks and their bids: who may see which (see the table in
:mod:`wotu.programmes.challenges`).

A task's requirements are public once posted; its bids are read by bureau and finance officers
(all) and by the bidding organisation (its own). A getter raises Http404 for what the user may
not read, a list raises :class:`~wotu.programmes.errors.Refused` for a role that may read none.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from wotu.core import permissions
from wotu.programmes.errors import Refused
from wotu.programmes.models import Application, Award, ChallengeTask, Status, TaskStatus


def challenge_list_public(*, now: dt.datetime | None = None) -> QuerySet[ChallengeTask]:
    """Tasks open for bids now (anyone may read them), the soonest deadline first."""
    now = now or timezone.now()
    return (
        ChallengeTask.objects.filter(status=TaskStatus.OPEN, call__closes_at__gt=now)
        .select_related("call")
        .order_by("call__closes_at", "pk")
    )


def challenge_get_public(*, pk: int) -> ChallengeTask:
    """A posted task (any but a draft): its requirements and KPIs are public."""
    try:
        return (
            ChallengeTask.objects.select_related("call").exclude(status=TaskStatus.DRAFT).get(pk=pk)
        )
    except ChallengeTask.DoesNotExist as exc:
        raise Http404 from exc


def challenge_list_for_user(*, user: Any) -> QuerySet[ChallengeTask]:
    """Every task with its bid counts, for bureau and finance officers."""
    if not permissions.can_read_all_applications(user):
        raise Refused(
            "只有科技局和财务人员可以管理揭榜任务",
            "only bureau and finance officers may manage tasks",
        )
    live = ~Q(call__applications__status__in=(Status.DRAFT, Status.WITHDRAWN))
    return (
        ChallengeTask.objects.select_related("call")
        .annotate(bid_count=Count("call__applications", filter=live))
        .order_by("-call__opens_at", "pk")
    )


def challenge_get_for_user(*, user: Any, pk: int) -> ChallengeTask:
    try:
        return challenge_list_for_user(user=user).get(pk=pk)
    except ChallengeTask.DoesNotExist as exc:
        raise Http404 from exc


def bid_list_for_user(*, user: Any, task: ChallengeTask) -> QuerySet[Application]:
    """The task's submitted bids (drafts left out): all for bureau and finance officers, the
    organisation's own for an applicant; other roles are refused."""
    if permissions.can_read_all_applications(user):
        bids = Application.objects.filter(call=task.call)
    elif permissions.can_apply(user):
        bids = Application.objects.filter(call=task.call, organisation_id=user.organisation_id)
    else:
        raise Refused("您的角色无权查看揭榜方案", "your role may not read bids")
    return (
        bids.exclude(status=Status.DRAFT)
        .select_related("organisation", "call", "stage")
        .order_by("requested", "reference")
    )


def bids_mine(*, user: Any) -> QuerySet[Application]:
    """The applicant organisation's bids on every task, newest task first."""
    if not permissions.can_apply(user):
        raise Refused(
            "只有申报单位的用户有自己的揭榜方案", "only applicants have bids of their own"
        )
    return (
        Application.objects.filter(
            organisation_id=user.organisation_id, call__challenge__isnull=False
        )
        .select_related("call", "call__challenge")
        .order_by("-call__opens_at", "reference")
    )


def bid_get_for_user(*, user: Any, pk: int) -> Application:
    """One bid (an application to a task's call) the user may read; Http404 otherwise."""
    if permissions.can_read_all_applications(user):
        bids = Application.objects.all()
    elif permissions.can_apply(user):
        bids = Application.objects.filter(organisation_id=user.organisation_id)
    else:
        raise Http404
    try:
        return bids.select_related("call", "call__challenge", "organisation").get(
            pk=pk, call__challenge__isnull=False
        )
    except Application.DoesNotExist as exc:
        raise Http404 from exc


def bid_is_selected(*, bid: Application) -> bool:
    """A selected bid is a task's bid, FUNDED with an award (see
    :func:`~wotu.programmes.challenges.challenge_select`);
    read from the database, not from ``bid``'s possibly stale fields."""
    return Application.objects.filter(
        pk=bid.pk, status=Status.FUNDED, award__isnull=False, call__challenge__isnull=False
    ).exists()


def bid_price(*, bid: Application) -> Decimal:
    """What the bid is paid in all: its award (selected) or else its price."""
    award = Award.objects.filter(application=bid).first()
    amount: Decimal = award.amount if award is not None else bid.requested
    return amount
