"""Challenge tasks (揭榜挂帅): the bureau posts a task, teams bid, up to N bids are selected, and
each selected bid is paid milestone by milestone, only once a milestone is accepted.

A task owns its own :class:`~wotu.programmes.models.Call` (with the programme's review
pipeline), so a bid is an :class:`~wotu.programmes.models.Application` to that call: its
``requested`` amount is the price (at most the task's budget ceiling) and its ``answers`` hold
``proposal`` and ``team``. Bids are saved and submitted through
:mod:`wotu.programmes.services` and reviewed like any application. A selected bid is FUNDED with
an :class:`~wotu.programmes.models.Award` of its price; the other bids still on notice become
NOT_FUNDED.

This module posts tasks, takes bids and selects them; reading tasks and bids lives in
:mod:`wotu.programmes.challenge_selectors` and milestones in :mod:`wotu.programmes.milestones`,
both importable from here too.

| who             | task list | post, select, plan, accept | bids, milestones     | bid, submit |
|-----------------|-----------|----------------------------|----------------------|-------------|
| bureau officer  | yes       | yes                        | all                  | no          |
| finance officer | yes       | no                         | all (read: they pay) | no          |
| applicant       | yes       | no                         | its own              | yes         |
| others, public  | yes       | no                         | no                   | no          |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from wotu.core import permissions
from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.programmes import services
from wotu.programmes.challenge_selectors import bid_get_for_user as bid_get_for_user
from wotu.programmes.challenge_selectors import bid_is_selected as bid_is_selected
from wotu.programmes.challenge_selectors import bid_list_for_user as bid_list_for_user
from wotu.programmes.challenge_selectors import bid_price as bid_price
from wotu.programmes.challenge_selectors import bids_mine as bids_mine
from wotu.programmes.challenge_selectors import challenge_get_for_user as challenge_get_for_user
from wotu.programmes.challenge_selectors import challenge_get_public as challenge_get_public
from wotu.programmes.challenge_selectors import challenge_list_for_user as challenge_list_for_user
from wotu.programmes.challenge_selectors import challenge_list_public as challenge_list_public
from wotu.programmes.errors import amount_positive, officer_require
from wotu.programmes.milestones import REPORT_MIN as REPORT_MIN
from wotu.programmes.milestones import Payable as Payable
from wotu.programmes.milestones import milestone_decide as milestone_decide
from wotu.programmes.milestones import milestone_get_for_user as milestone_get_for_user
from wotu.programmes.milestones import milestone_payable as milestone_payable
from wotu.programmes.milestones import milestone_payment_check as milestone_payment_check
from wotu.programmes.milestones import milestone_plan_set as milestone_plan_set
from wotu.programmes.milestones import milestone_submit as milestone_submit
from wotu.programmes.models import (
    Application,
    Award,
    Call,
    CallStatus,
    ChallengeTask,
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
    officer_require(actor=actor, what_zh="发布揭榜任务", what_en="post a challenge task")
    ceiling = amount_positive(
        raw=budget_ceiling, what_zh="榜单金额上限", what_en="the budget ceiling"
    )
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
    amount = amount_positive(raw=price, what_zh="报价", what_en="the price")
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
    officer_require(actor=actor, what_zh="确定揭榜入选方案", what_en="select winning bids")
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
