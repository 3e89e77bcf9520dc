"""Challenge tasks (揭榜挂帅): the bureau posts a task, teams bid, up to N bids are selected, and
each selected bid is paid milestone by milestone, only once a milestone is accepted.

A task owns its own :class:`~wotu.programmes.models.Call` (with the programme's review
pipeline), so a bid is an :class:`~wotu.programmes.models.Application` to that call: its
``requested`` amount is the price (at most the task's budget ceiling) and its ``answers`` hold
``proposal`` and ``team``. Bids are saved and submitted through
:mod:`wotu.programmes.services` and reviewed like any application. A selected bid is FUNDED with
an :class:`~wotu.programmes.models.Award` of its price; the other bids still on notice become
NOT_FUNDED.

| who             | task list | post, select, plan, accept | bids, milestones     | bid, submit |
|-----------------|-----------|----------------------------|----------------------|-------------|
| bureau officer  | yes       | yes                        | all                  | no          |
| finance officer | yes       | no                         | all (read: they pay) | no          |
| applicant       | yes       | no                         | its own              | yes         |
| others, public  | yes       | no                         | no                   | no          |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from wotu.core import permissions
from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.money import round_fen
from wotu.programmes import services
from wotu.programmes.models import (
    Application,
    Award,
    Call,
    CallStatus,
    ChallengeTask,
    Milestone,
    MilestoneStatus,
    Programme,
    StageKind,
    StageStatus,
    Status,
    TaskStatus,
)
from wotu.programmes.services import Refused
from wotu.programmes.workflow import application_transition

#: Form fields a challenge programme's form must have (text): what a bid answers.
BID_FIELDS = ("proposal", "team")
#: A ready-made form and budget for a challenge programme (the demo and tests use them).
CHALLENGE_FORM: list[dict[str, Any]] = [
    {"name": "proposal", "type": "text", "label_zh": "技术方案", "label_en": "Proposal",
     "required": True, "max_length": 10000},
    {"name": "team", "type": "text", "label_zh": "团队", "label_en": "Team",
     "required": True, "max_length": 4000},
    {"name": "proposal_file", "type": "file", "label_zh": "方案文件（PDF）",
     "label_en": "Proposal document (PDF)", "kinds": ["pdf"]},
]  # fmt: skip
#: The optional file field of a bid: the proposal as a PDF, checked like any attachment.
PROPOSAL_FILE = "proposal_file"
CHALLENGE_BUDGET_LINES = [{"code": "price", "label_zh": "揭榜报价", "label_en": "Bid price"}]
REPORT_MIN = 10


def _officer_require(actor: Any, what_zh: str, what_en: str) -> None:
    if not permissions.can_manage_programmes(actor):
        raise Refused(f"只有科技局工作人员可以{what_zh}", f"only a bureau officer may {what_en}")


def _money(raw: Any, what_zh: str, what_en: str) -> Decimal:
    try:
        amount = round_fen(Decimal(str(raw)))
    except (InvalidOperation, ValueError) as exc:
        raise WotuError(
            f"{what_zh}「{raw}」不是金额", f"{what_en} '{raw}' is not an amount"
        ) from exc
    if amount <= 0:
        raise WotuError(
            f"{what_zh}须大于 0，收到 {amount}", f"{what_en} must be above 0, got {amount}"
        )
    return amount


# --- posting a task ---------------------------------------------------------------------------


def challenge_post(
    *,
    actor: Any,
    programme: Programme,
    title: str,
    title_en: str,
    requirements: str,
    kpis: Sequence[str],
    budget_ceiling: Any,
    deadline: dt.datetime,
    max_winners: int = 1,
    code: str = "",
    opens_at: dt.datetime | None = None,
) -> ChallengeTask:
    """Post a task open for bids until ``deadline`` (aware; Asia/Shanghai is shown).

    Creates the task's own call of ``programme`` (stages from its pipeline; the programme's form
    must have the text fields ``proposal`` and ``team``) and opens it. Refused unless a bureau
    officer posts it with a title, requirements, at least one KPI, a ceiling above 0 and within
    the programme budget, a future deadline and ``max_winners`` ≥ 1 (more than 1 is a horse
    race). Audit events: ``call.create``, ``call.status`` and ``challenge.post``.
    """
    _officer_require(actor, "发布揭榜任务", "post a challenge task")
    ceiling = _money(budget_ceiling, "榜单金额上限", "the budget ceiling")
    clean_kpis = [k.strip() for k in kpis if k and k.strip()]
    opens_at = opens_at or timezone.now()
    _post_check(
        programme, title, requirements, clean_kpis, ceiling, deadline, opens_at, max_winners
    )
    code = code or f"{programme.code}-t{ChallengeTask.objects.count() + 1}"
    with transaction.atomic():
        call = services.call_create(
            actor=actor, programme=programme, code=code, title=title.strip(),
            title_en=(title_en or title).strip(), opens_at=opens_at, closes_at=deadline,
        )  # fmt: skip
        services.call_open(actor=actor, call=call)
        task = ChallengeTask.objects.create(
            call=call, requirements=requirements.strip(), kpis=clean_kpis,
            budget_ceiling=ceiling, max_winners=max_winners, status=TaskStatus.OPEN,
        )  # fmt: skip
        audit_record(
            actor=actor,
            action="challenge.post",
            subject=task,
            data={"call": code, "ceiling": ceiling, "max_winners": max_winners,
                  "kpis": len(clean_kpis), "deadline": deadline},
        )  # fmt: skip
    return task


def _post_check(
    programme: Programme,
    title: str,
    requirements: str,
    kpis: list[str],
    ceiling: Decimal,
    deadline: dt.datetime,
    opens_at: dt.datetime,
    max_winners: int,
) -> None:
    names = {spec.get("name") for spec in programme.form}
    missing = [name for name in BID_FIELDS if name not in names]
    problems: list[tuple[str, str]] = []
    if missing:
        problems.append((f"计划 {programme.code} 的申报表缺少字段 {', '.join(missing)}",
                         f"programme {programme.code}'s form lacks the field(s) "
                         f"{', '.join(missing)}"))  # fmt: skip
    if not title.strip() or not requirements.strip():
        problems.append(("任务名称和需求不能为空", "the title and requirements are required"))
    if not kpis:
        problems.append(("至少填写一项考核指标（KPI）", "give at least one KPI"))
    if ceiling > programme.budget:
        problems.append((f"榜单金额上限 {ceiling} 元超过计划预算 {programme.budget} 元",
                         f"the ceiling {ceiling} exceeds the programme budget "
                         f"{programme.budget}"))  # fmt: skip
    if timezone.is_naive(deadline) or deadline <= max(opens_at, timezone.now()):
        problems.append(
            ("揭榜截止时间须带时区且晚于现在", "the deadline must be aware and in the future")
        )
    if isinstance(max_winners, bool) or not isinstance(max_winners, int) or max_winners < 1:
        problems.append(
            (
                f"入选数须为不小于 1 的整数，收到 {max_winners!r}",
                f"the number of winners must be at least 1, got {max_winners!r}",
            )
        )
    if problems:
        raise WotuError(
            "任务未发布：" + "；".join(zh for zh, _ in problems),
            "the task was not posted: " + "; ".join(en for _, en in problems),
        )


# --- bids -------------------------------------------------------------------------------------


def challenge_bid_submit(
    *,
    task: ChallengeTask,
    actor: Any,
    title: str,
    field: str,
    proposal: str,
    team: str,
    price: Any,
    proposal_file: UploadedFile[bytes] | None = None,
) -> Application:
    """The applicant's organisation bids on ``task``: a new application to the task's call with
    ``requested`` = ``price`` (≤ the ceiling) and answers ``proposal`` and ``team``, saved and
    submitted at once through :mod:`wotu.programmes.services` (which checks the call window,
    the form and who may apply). One live bid per organisation and task.

    ``proposal_file``, when given, is stored as the bid's ``proposal_file`` attachment after
    the same checks as any application's (type by content: a PDF ≤ 20 MB); the programme's
    form must have that file field (:data:`CHALLENGE_FORM` does)."""
    if not permissions.can_apply(actor):
        raise Refused("只有申报单位的用户可以揭榜", "only applicants' users may bid")
    amount = _money(price, "报价", "the price")
    if amount > task.budget_ceiling:
        raise WotuError(
            f"报价 {amount} 元超过榜单金额上限 {task.budget_ceiling} 元",
            f"the price {amount} CNY exceeds the task's ceiling {task.budget_ceiling} CNY",
        )
    if task.status != TaskStatus.OPEN:
        raise WotuError(
            f"揭榜任务「{task.call.title}」不在揭榜期（{task.get_status_display()}）",
            f"the task '{task.call.title_en}' is not open for bids ({task.status})",
        )
    live = Application.objects.filter(call=task.call, organisation_id=actor.organisation_id)
    existing = live.exclude(status=Status.WITHDRAWN).first()
    if existing is not None:
        raise WotuError(
            f"贵单位已对本任务揭榜（{existing.reference}），每个单位只能提交一份",
            f"your organisation already bid on this task ({existing.reference}); one bid each",
        )
    files = _proposal_files(task, proposal_file)
    line = CHALLENGE_BUDGET_LINES[0]["code"]
    codes = [item["code"] for item in task.call.programme.budget_lines]
    budget = {(line if line in codes else codes[0]): str(amount)} if codes else {}
    with transaction.atomic():
        bid = services.application_draft_save(
            actor=actor, call=task.call, title=title, field=field,
            answers={"proposal": proposal, "team": team}, budget=budget, requested=str(amount),
            files=files,
        )  # fmt: skip
        return services.application_submit(actor=actor, application=bid)


def _proposal_files(
    task: ChallengeTask, upload: UploadedFile[bytes] | None
) -> dict[str, UploadedFile[bytes]]:
    if upload is None:
        return {}
    names = {spec.get("name") for spec in task.call.programme.form if spec.get("type") == "file"}
    if PROPOSAL_FILE not in names:
        raise WotuError(
            f"计划 {task.call.programme.code} 的申报表没有方案文件字段（{PROPOSAL_FILE}），"
            "不能上传文件",
            f"programme {task.call.programme.code}'s form has no proposal file field"
            f" ({PROPOSAL_FILE}): no file can be uploaded",
        )
    return {PROPOSAL_FILE: upload}


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
    """A selected bid is a task's bid, FUNDED with an award (see :func:`challenge_select`);
    read from the database, not from ``bid``'s possibly stale fields."""
    return Application.objects.filter(
        pk=bid.pk, status=Status.FUNDED, award__isnull=False, call__challenge__isnull=False
    ).exists()


def bid_price(*, bid: Application) -> Decimal:
    """What the bid is paid in all: its award (selected) or else its price."""
    award = Award.objects.filter(application=bid).first()
    amount: Decimal = award.amount if award is not None else bid.requested
    return amount


# --- selection --------------------------------------------------------------------------------


def challenge_select(
    *, task: ChallengeTask, actor: Any, application_ids: Sequence[int]
) -> list[Application]:
    """Select up to ``task.max_winners`` bids after review.

    Only bids that passed the last review stage (status NOTICE) or were already funded by a
    committee decision (FUNDED) may be chosen. Chosen NOTICE bids become FUNDED with an award
    of their price; the other NOTICE bids NOT_FUNDED. Refused for anyone but a bureau officer,
    for no bid or more than ``max_winners``, for a bid of another task, for a FUNDED bid left
    out (a decision cannot be undone), while the task's public notice is still running, and
    when the awards would exceed the programme budget. Locks the call; the task becomes
    SELECTED and its call DECIDED (its notice and committee stages closed); one
    ``challenge.select`` audit event.
    """
    _officer_require(actor, "确定揭榜入选方案", "select winning bids")
    ids = sorted({int(i) for i in application_ids})
    if not ids or len(ids) > task.max_winners:
        raise WotuError(
            f"本任务最多选 {task.max_winners} 个方案，至少选 1 个（收到 {len(ids)} 个）",
            f"select between 1 and {task.max_winners} bid(s) for this task (got {len(ids)})",
        )
    with transaction.atomic():
        call = Call.objects.select_for_update().select_related("programme").get(pk=task.call_id)
        locked = ChallengeTask.objects.select_for_update().get(pk=task.pk)
        chosen = _chosen_check(locked, call, ids)
        _budget_check(call, chosen)
        now = timezone.now()
        for bid in call.applications.filter(status=Status.NOTICE).order_by("reference"):
            _select_one(bid, bid.pk in ids, actor, now)
        locked.status = TaskStatus.SELECTED
        locked.save(update_fields=["status"])
        if call.status != CallStatus.DECIDED:
            call.status = CallStatus.DECIDED
            call.save(update_fields=["status"])
        call.stages.filter(kind__in=(StageKind.NOTICE, StageKind.COMMITTEE)).exclude(
            status=StageStatus.CLOSED
        ).update(status=StageStatus.CLOSED, closed_at=now)
        audit_record(
            actor=actor,
            action="challenge.select",
            subject=locked,
            data={"selected": [b.reference for b in chosen], "max_winners": locked.max_winners},
        )
    task.refresh_from_db()
    return list(Application.objects.filter(pk__in=ids).order_by("reference"))


def _chosen_check(task: ChallengeTask, call: Call, ids: list[int]) -> list[Application]:
    if task.status not in (TaskStatus.OPEN, TaskStatus.REVIEW):
        raise WotuError(
            f"任务已{task.get_status_display()}，不能再次选定",
            f"the task is {task.status}; its selection is already made",
        )
    if call.status == CallStatus.NOTICE:
        raise WotuError(
            "本任务的公示尚未结束：请先记录评审委员会决定",
            "the task's public notice is still running: record the committee decision first",
        )
    chosen = list(call.applications.filter(pk__in=ids).order_by("reference"))
    if len(chosen) != len(ids):
        raise WotuError("所选方案不属于本任务", "a selected bid does not belong to this task")
    unfit = [b.reference for b in chosen if b.status not in (Status.NOTICE, Status.FUNDED)]
    if unfit:
        raise WotuError(
            f"方案 {', '.join(unfit)} 未通过最后一轮评审，不能入选",
            f"bid(s) {', '.join(unfit)} did not pass the last review stage and cannot be selected",
        )
    left_out = list(
        call.applications.filter(status=Status.FUNDED)
        .exclude(pk__in=ids)
        .values_list("reference", flat=True)
    )
    if left_out:
        raise WotuError(
            f"方案 {', '.join(left_out)} 已获资助，须一并入选（最多 {task.max_winners} 个）",
            f"bid(s) {', '.join(left_out)} are already funded and must be among the selected "
            f"(at most {task.max_winners})",
        )
    return chosen


def _budget_check(call: Call, chosen: list[Application]) -> None:
    new = sum((b.proposed or b.requested for b in chosen if b.status == Status.NOTICE), Decimal(0))
    already = Award.objects.filter(application__call__programme=call.programme).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0.00")
    if new + already > call.programme.budget:
        raise WotuError(
            f"入选金额 {new} 元（本计划已资助 {already} 元）超过计划预算"
            f" {call.programme.budget} 元",
            f"the selected bids' {new} CNY (plus {already} CNY already awarded) exceed the "
            f"programme budget {call.programme.budget} CNY",
        )


def _select_one(bid: Application, chosen: bool, actor: Any, now: dt.datetime) -> None:
    if not chosen:
        application_transition(
            application=bid, to=Status.NOT_FUNDED, actor=actor,
            feedback="本任务已选定其他方案 / another bid was selected for this task",
        )  # fmt: skip
        return
    amount = bid.proposed or bid.requested
    application_transition(
        application=bid, to=Status.FUNDED, actor=actor, data={"amount": amount, "selected": True}
    )
    Award.objects.create(application=bid, amount=amount, decided_at=now)


# --- milestones -------------------------------------------------------------------------------


def _selected_require(bid: Application) -> None:
    if not bid_is_selected(bid=bid):
        raise WotuError(
            f"方案 {bid.reference} 未入选，不能安排里程碑",
            f"bid {bid.reference} was not selected; it has no milestone plan",
        )


def milestone_plan_set(
    *, application: Application, actor: Any, milestones: Sequence[Mapping[str, Any]]
) -> list[Milestone]:
    """Set a selected bid's milestone plan: ``[{title, due_on (date or ISO), amount}]`` in order.

    A bureau officer only. Each milestone needs a title, a date (not earlier than the one
    before) and an amount above 0; the amounts together must not exceed the bid's price (its
    award). The plan replaces the previous one only while no milestone has been submitted or
    decided. One ``milestone.plan`` audit event.
    """
    _officer_require(actor, "安排里程碑", "set a milestone plan")
    _selected_require(application)
    rows = [_milestone_read(i, m) for i, m in enumerate(milestones, start=1)]
    if not rows:
        raise WotuError("里程碑计划至少包含一项", "a milestone plan needs at least one milestone")
    for before, after in pairwise(rows):
        if after[1] < before[1]:
            raise WotuError(
                f"第 {rows.index(after) + 1} 个里程碑的日期早于前一个",
                f"milestone {rows.index(after) + 1} is due before the one before it",
            )
    price = bid_price(bid=application)
    total = sum((amount for _, _, amount in rows), Decimal("0.00"))
    if total > price:
        raise WotuError(
            f"里程碑付款合计 {total} 元超过方案金额 {price} 元",
            f"the milestones add up to {total} CNY, more than the bid's {price} CNY",
        )
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if locked.milestones.exclude(status=MilestoneStatus.PLANNED).exists():
            raise WotuError(
                f"方案 {locked.reference} 已有里程碑提交验收，计划不能再修改",
                f"bid {locked.reference} already has milestones submitted or decided; "
                "its plan can no longer change",
            )
        locked.milestones.all().delete()
        created = Milestone.objects.bulk_create(
            Milestone(application=locked, order=i, title=t, due_on=d, amount=a)
            for i, (t, d, a) in enumerate(rows, start=1)
        )
        audit_record(
            actor=actor, action="milestone.plan", subject=locked,
            data={"reference": locked.reference, "milestones": len(rows), "total": total},
        )  # fmt: skip
    return created


def _milestone_read(order: int, raw: Mapping[str, Any]) -> tuple[str, dt.date, Decimal]:
    title = str(raw.get("title") or "").strip()
    if not title:
        raise WotuError(f"第 {order} 个里程碑缺少名称", f"milestone {order} needs a title")
    due = raw.get("due_on")
    try:
        due_on = due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due))
    except ValueError as exc:
        raise WotuError(
            f"第 {order} 个里程碑的日期「{due}」无效（YYYY-MM-DD）",
            f"milestone {order}'s date '{due}' is not a YYYY-MM-DD date",
        ) from exc
    amount = _money(raw.get("amount"), f"第 {order} 个里程碑的金额", f"milestone {order}'s amount")
    return title, due_on, amount


def milestone_get_for_user(*, user: Any, pk: int) -> Milestone:
    try:
        milestone = Milestone.objects.select_related("application").get(pk=pk)
    except Milestone.DoesNotExist as exc:
        raise Http404 from exc
    bid_get_for_user(user=user, pk=milestone.application_id)  # 404 outside the user's bids
    return milestone


def milestone_submit(*, milestone: Milestone, actor: Any, report: str) -> Milestone:
    """The bid's applicant submits a planned (or rejected) milestone for acceptance with a
    written report. One ``milestone.submit`` audit event."""
    if not (
        permissions.can_apply(actor)
        and milestone.application.organisation_id == actor.organisation_id
    ):
        raise Refused("只有揭榜单位可以提交里程碑", "only the bidding organisation may submit")
    report = report.strip()
    if len(report) < REPORT_MIN:
        raise WotuError(
            f"请写明完成情况（至少 {REPORT_MIN} 个字）",
            f"describe what was done (at least {REPORT_MIN} characters)",
        )
    return _milestone_move(
        milestone, actor, (MilestoneStatus.PLANNED, MilestoneStatus.REJECTED),
        MilestoneStatus.SUBMITTED, {"report": report}, "milestone.submit",
    )  # fmt: skip


def milestone_decide(
    *, milestone: Milestone, actor: Any, accept: bool, note: str = ""
) -> Milestone:
    """A bureau officer accepts or rejects a submitted milestone (a rejection needs a note; the
    applicant may resubmit). The note is stored on the milestone (``Milestone.note``, replaced
    by each decision) and shown to the applicant. Only an accepted milestone's payment is
    released (see :func:`milestone_payable`). One ``milestone.decide`` audit event with the
    note."""
    _officer_require(actor, "验收里程碑", "decide on milestones")
    note = note.strip()
    if not accept and not note:
        raise WotuError("不予验收须写明理由", "a rejection needs a written reason")
    to = MilestoneStatus.ACCEPTED if accept else MilestoneStatus.REJECTED
    fields = {"decided_by": actor, "decided_at": timezone.now(), "note": note}
    return _milestone_move(
        milestone, actor, (MilestoneStatus.SUBMITTED,), to, fields, "milestone.decide", note
    )


def _milestone_move(
    milestone: Milestone,
    actor: Any,
    old: tuple[MilestoneStatus, ...],
    new: MilestoneStatus,
    changes: dict[str, Any],
    action: str,
    note: str = "",
) -> Milestone:
    with transaction.atomic():
        locked = (
            Milestone.objects.select_for_update().select_related("application").get(pk=milestone.pk)
        )
        if locked.status not in old:
            raise WotuError(
                f"里程碑「{locked.title}」当前为「{locked.get_status_display()}」，不能改为"
                f"「{new.label}」",
                f"milestone '{locked.title}' is {locked.status}; it cannot become {new.value}",
            )
        locked.status = new
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", *changes])
        data: dict[str, Any] = {"reference": locked.application.reference, "order": locked.order,
                                "to": str(new), "amount": locked.amount}  # fmt: skip
        if note:
            data["note"] = note
        audit_record(actor=actor, action=action, subject=locked, data=data)
    milestone.refresh_from_db()
    return milestone


@dataclass(frozen=True)
class Payable:
    """An accepted milestone whose payment may be released (for the ledger)."""

    milestone_id: int
    reference: str
    order: int
    title: str
    amount: Decimal
    accepted_at: dt.datetime | None


def milestone_payable(
    *, application: Application | None = None, task: ChallengeTask | None = None
) -> list[Payable]:
    """Accepted milestones — the only ones whose payment may be released — of one bid, one
    task, or every task, by bid reference and order. Amounts in CNY."""
    milestones = Milestone.objects.filter(status=MilestoneStatus.ACCEPTED)
    if application is not None:
        milestones = milestones.filter(application=application)
    if task is not None:
        milestones = milestones.filter(application__call_id=task.call_id)
    return [
        Payable(m.pk, m.application.reference, m.order, m.title, m.amount, m.decided_at)
        for m in milestones.select_related("application").order_by(
            "application__reference", "order"
        )
    ]


def milestone_payment_check(*, milestone: Milestone) -> Decimal:
    """The amount to pay for ``milestone``; WotuError unless it has been accepted (the ledger
    calls this before releasing a payment)."""
    milestone.refresh_from_db()
    if milestone.status != MilestoneStatus.ACCEPTED:
        raise WotuError(
            f"里程碑「{milestone.title}」尚未验收通过（{milestone.get_status_display()}），不能付款",
            f"milestone '{milestone.title}' is not accepted ({milestone.status}); it cannot be"
            " paid",
        )
    amount: Decimal = milestone.amount
    return amount
