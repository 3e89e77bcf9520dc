"""The one place an application's status changes.

::

    draft ──submit──▶ submitted ──formal check──▶ in_review (stage 1) ──▶ … ──▶ notice
      ▲                 │   │                         │                         │
      └──── returned ◀──┘   └──▶ rejected             └──▶ not_passed           ├──▶ funded
                                                                                └──▶ not_funded
    any of draft, submitted, returned, in_review, notice ──▶ withdrawn

Every change writes one audit event (``application.status``) in the same transaction.
Callers (services) check *who* may make the move; this module checks that the move exists.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.programmes.models import OPEN_STATUSES, Application, Stage, Status

STATUS_ZH = {
    Status.DRAFT: "草稿",
    Status.SUBMITTED: "已提交",
    Status.RETURNED: "退回修改",
    Status.REJECTED: "形式审查未通过",
    Status.IN_REVIEW: "评审中",
    Status.NOT_PASSED: "评审未通过",
    Status.NOTICE: "公示中",
    Status.FUNDED: "立项资助",
    Status.NOT_FUNDED: "不予资助",
    Status.WITHDRAWN: "已撤回",
}


class IllegalTransition(WotuError):
    def __init__(self, old: Status, new: Status, reference: str) -> None:
        super().__init__(
            f"申请 {reference} 不能从「{STATUS_ZH[old]}」变为「{STATUS_ZH[new]}」",
            f"application {reference} cannot move from {old.label} to {new.label}",
        )


def _allowed(old: Status, new: Status) -> bool:
    match (old, new):
        case (Status.DRAFT | Status.RETURNED, Status.SUBMITTED):
            return True
        case (Status.SUBMITTED, Status.RETURNED | Status.REJECTED | Status.IN_REVIEW):
            return True
        case (Status.IN_REVIEW, Status.IN_REVIEW | Status.NOT_PASSED | Status.NOTICE):
            return True
        case (Status.NOTICE, Status.FUNDED | Status.NOT_FUNDED):
            return True
        case (_, Status.WITHDRAWN):
            return old in OPEN_STATUSES
        case _:
            return False


def application_transition(
    *,
    application: Application,
    to: Status,
    actor: Any,
    stage: Stage | None = None,
    feedback: str | None = None,
    data: dict[str, Any] | None = None,
) -> Application:
    """Move ``application`` to ``to`` (and to ``stage`` when it enters or advances in review).

    Locks the row, re-reads its status, refuses an illegal move with :class:`IllegalTransition`,
    saves, and appends the audit event — all in one transaction.
    """
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        old = Status(locked.status)
        if not _allowed(old, to):
            raise IllegalTransition(old, to, locked.reference)
        if to == Status.IN_REVIEW and stage is None:
            raise WotuError("进入评审须指定评审阶段", "entering review needs a review stage")
        if old == Status.IN_REVIEW and to == Status.IN_REVIEW and stage == locked.stage:
            raise IllegalTransition(old, to, locked.reference)
        fields = ["status", "updated_at"]
        locked.status = to
        if to == Status.SUBMITTED:
            locked.submitted_at = timezone.now()
            fields.append("submitted_at")
        if stage is not None or to in (Status.IN_REVIEW, Status.NOTICE):
            locked.stage = stage
            fields.append("stage")
        if feedback is not None:
            locked.feedback = feedback
            fields.append("feedback")
        locked.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="application.status",
            subject=locked,
            data={
                "reference": locked.reference,
                "from": str(old),
                "to": str(to),
                "stage": stage.pk if stage is not None else None,
                **(data or {}),
            },
        )
    application.refresh_from_db()
    return application
