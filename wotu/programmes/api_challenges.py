"""Challenge tasks' REST endpoints (揭榜挂帅).

Public (no token): open tasks and one task's requirements and KPIs. Bureau officers: post a
task, select bids, set milestone plans, accept or reject milestones. Bureau and finance
officers: every bid and the payable (accepted) milestones. Applicants: bid, their own bids,
submit milestones. Role refusals are 403, objects outside the caller's view 404, refusals a
person can act on 400 (see :mod:`wotu.api`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema, Status

from wotu.core import permissions
from wotu.core.api_support import REFUSALS, ProblemOut, caller
from wotu.programmes import challenges as svc
from wotu.programmes.models import Application, ChallengeTask, Milestone
from wotu.programmes.selectors import programme_get_for_user

router = Router(tags=["challenge tasks"])


class TaskOut(Schema):
    id: int
    call: str
    title: str
    title_en: str
    requirements: str
    kpis: list[str]
    budget_ceiling: Decimal
    deadline: dt.datetime
    max_winners: int
    status: str


class TaskIn(Schema):
    programme_id: int
    title: str
    title_en: str
    requirements: str
    kpis: list[str]
    budget_ceiling: Decimal
    deadline: dt.datetime
    max_winners: int = 1


class BidIn(Schema):
    title: str
    field: str
    proposal: str
    team: str
    price: Decimal


class BidOut(Schema):
    id: int
    reference: str
    organisation: str
    title: str
    price: Decimal
    status: str
    feedback: str


class SelectIn(Schema):
    bids: list[int]


class MilestoneIn(Schema):
    title: str
    due_on: dt.date
    amount: Decimal


class MilestoneOut(Schema):
    id: int
    order: int
    title: str
    due_on: dt.date
    amount: Decimal
    status: str
    report: str


class ReportIn(Schema):
    report: str


class DecideIn(Schema):
    accept: bool
    note: str = ""


class PayableOut(Schema):
    milestone_id: int
    reference: str
    order: int
    title: str
    amount: Decimal
    accepted_at: dt.datetime | None


def _task_out(task: ChallengeTask) -> dict[str, Any]:
    return {
        "id": task.pk, "call": task.call.code, "title": task.call.title,
        "title_en": task.call.title_en, "requirements": task.requirements, "kpis": task.kpis,
        "budget_ceiling": task.budget_ceiling, "deadline": task.call.closes_at,
        "max_winners": task.max_winners, "status": task.status,
    }  # fmt: skip


def _bid_out(bid: Application) -> dict[str, Any]:
    return {
        "id": bid.pk, "reference": bid.reference, "organisation": bid.organisation.name,
        "title": bid.title, "price": bid.requested, "status": bid.status,
        "feedback": bid.feedback,
    }  # fmt: skip


def _milestone_out(m: Milestone) -> dict[str, Any]:
    return {"id": m.pk, "order": m.order, "title": m.title, "due_on": m.due_on,
            "amount": m.amount, "status": m.status, "report": m.report}  # fmt: skip


@router.get("/challenges", response={200: list[TaskOut]}, auth=None)
def task_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Tasks open for bids (public)."""
    return [_task_out(t) for t in svc.challenge_list_public()]


@router.get("/challenges/{task_id}", response={200: TaskOut, 404: ProblemOut}, auth=None)
def task_get(request: HttpRequest, task_id: int) -> dict[str, Any]:
    return _task_out(svc.challenge_get_public(pk=task_id))


@router.post("/challenges", response={201: TaskOut, **REFUSALS})
def task_post(request: HttpRequest, body: TaskIn) -> Status[dict[str, Any]]:
    user = caller(request)
    if not permissions.can_manage_programmes(user):
        raise PermissionDenied
    task = svc.challenge_post(
        actor=user, programme=programme_get_for_user(user=user, pk=body.programme_id),
        title=body.title, title_en=body.title_en, requirements=body.requirements,
        kpis=body.kpis, budget_ceiling=body.budget_ceiling, deadline=body.deadline,
        max_winners=body.max_winners,
    )  # fmt: skip
    return Status(201, _task_out(task))


@router.post("/challenges/{task_id}/bids", response={201: BidOut, **REFUSALS})
def bid_submit(request: HttpRequest, task_id: int, body: BidIn) -> Status[dict[str, Any]]:
    user = caller(request)
    if not permissions.can_apply(user):
        raise PermissionDenied
    task = svc.challenge_get_public(pk=task_id)
    bid = svc.challenge_bid_submit(task=task, actor=user, **body.dict())
    return Status(201, _bid_out(bid))


@router.get("/challenges/{task_id}/bids", response={200: list[BidOut], **REFUSALS})
def bid_list(request: HttpRequest, task_id: int) -> list[dict[str, Any]]:
    """All bids for bureau and finance officers; an applicant's own."""
    user = caller(request)
    task = svc.challenge_get_public(pk=task_id)
    return [_bid_out(b) for b in svc.bid_list_for_user(user=user, task=task)]


@router.post("/challenges/{task_id}/selection", response={200: list[BidOut], **REFUSALS})
def task_select(request: HttpRequest, task_id: int, body: SelectIn) -> list[dict[str, Any]]:
    user = caller(request)
    if not permissions.can_manage_programmes(user):
        raise PermissionDenied
    task = svc.challenge_get_for_user(user=user, pk=task_id)
    chosen = svc.challenge_select(task=task, actor=user, application_ids=body.bids)
    return [_bid_out(b) for b in chosen]


@router.get("/bids/{bid_id}/milestones", response={200: list[MilestoneOut], **REFUSALS})
def milestone_list(request: HttpRequest, bid_id: int) -> list[dict[str, Any]]:
    bid = svc.bid_get_for_user(user=caller(request), pk=bid_id)
    return [_milestone_out(m) for m in bid.milestones.order_by("order")]


@router.put("/bids/{bid_id}/milestones", response={200: list[MilestoneOut], **REFUSALS})
def milestone_plan(
    request: HttpRequest, bid_id: int, body: list[MilestoneIn]
) -> list[dict[str, Any]]:
    user = caller(request)
    if not permissions.can_manage_programmes(user):
        raise PermissionDenied
    bid = svc.bid_get_for_user(user=user, pk=bid_id)
    plan = svc.milestone_plan_set(application=bid, actor=user, milestones=[m.dict() for m in body])
    return [_milestone_out(m) for m in plan]


@router.post("/milestones/{milestone_id}/submit", response={200: MilestoneOut, **REFUSALS})
def milestone_submit(request: HttpRequest, milestone_id: int, body: ReportIn) -> dict[str, Any]:
    user = caller(request)
    milestone = svc.milestone_get_for_user(user=user, pk=milestone_id)
    return _milestone_out(svc.milestone_submit(milestone=milestone, actor=user, report=body.report))


@router.post("/milestones/{milestone_id}/decision", response={200: MilestoneOut, **REFUSALS})
def milestone_decide(request: HttpRequest, milestone_id: int, body: DecideIn) -> dict[str, Any]:
    user = caller(request)
    milestone = svc.milestone_get_for_user(user=user, pk=milestone_id)
    decided = svc.milestone_decide(
        milestone=milestone, actor=user, accept=body.accept, note=body.note
    )
    return _milestone_out(decided)


@router.get("/milestones/payable", response={200: list[PayableOut], **REFUSALS})
def milestone_payable(request: HttpRequest) -> list[svc.Payable]:
    """Accepted milestones whose payments may be released (bureau and finance officers)."""
    if not permissions.can_read_all_applications(caller(request)):
        raise PermissionDenied
    return svc.milestone_payable()
