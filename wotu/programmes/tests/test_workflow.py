"""An application's status changes only through application_transition, one audit event each."""

from __future__ import annotations

import pytest

from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Application, Status
from wotu.programmes.tests.factories import application_make, call_make, first_scored_stage
from wotu.programmes.workflow import IllegalTransition, application_transition

pytestmark = pytest.mark.django_db

S = Status
LEGAL = [
    (S.DRAFT, S.SUBMITTED), (S.RETURNED, S.SUBMITTED), (S.SUBMITTED, S.RETURNED),
    (S.SUBMITTED, S.REJECTED), (S.SUBMITTED, S.IN_REVIEW), (S.IN_REVIEW, S.NOT_PASSED),
    (S.IN_REVIEW, S.NOTICE), (S.NOTICE, S.FUNDED), (S.NOTICE, S.NOT_FUNDED),
    (S.DRAFT, S.WITHDRAWN), (S.SUBMITTED, S.WITHDRAWN), (S.RETURNED, S.WITHDRAWN),
    (S.IN_REVIEW, S.WITHDRAWN), (S.NOTICE, S.WITHDRAWN),
]  # fmt: skip


def _application(haina: Organisation, status: Status) -> Application:
    return application_make(call=call_make(), organisation=haina, status=status)


@pytest.mark.parametrize(("old", "new"), LEGAL)
def test_every_legal_move_is_made_and_audited(
    old: Status, new: Status, haina: Organisation, alice: User
) -> None:
    application = _application(haina, old)
    stage = first_scored_stage(application.call) if new == S.IN_REVIEW else None
    application_transition(application=application, to=new, actor=alice, stage=stage)
    assert application.status == new
    event = AuditEvent.objects.get(action="application.status")
    assert event.data["from"] == old and event.data["to"] == new
    assert event.actor_label == "alice"
    assert audit_verify() is None


ILLEGAL = [
    (old, new)
    for old in Status
    for new in Status
    if (old, new) not in LEGAL and not (old == new == S.IN_REVIEW)
]


@pytest.mark.parametrize(("old", "new"), ILLEGAL)
def test_every_other_move_is_refused_and_leaves_no_trace(
    old: Status, new: Status, haina: Organisation, alice: User
) -> None:
    application = _application(haina, old)
    with pytest.raises(IllegalTransition) as refused:
        application_transition(application=application, to=new, actor=alice)
    assert application.reference in refused.value.en
    application.refresh_from_db()
    assert application.status == old
    assert not AuditEvent.objects.exists()


def test_review_needs_a_stage_and_advancing_needs_a_new_one(
    haina: Organisation, alice: User
) -> None:
    application = _application(haina, S.SUBMITTED)
    with pytest.raises(WotuError):
        application_transition(application=application, to=S.IN_REVIEW, actor=alice)
    stage = first_scored_stage(application.call)
    application_transition(application=application, to=S.IN_REVIEW, actor=alice, stage=stage)
    with pytest.raises(IllegalTransition):
        application_transition(application=application, to=S.IN_REVIEW, actor=alice, stage=stage)
    defence = application.call.stages.get(order=2)
    application_transition(application=application, to=S.IN_REVIEW, actor=alice, stage=defence)
    assert application.stage == defence
    assert AuditEvent.objects.count() == 2


def test_submitting_stamps_the_time(haina: Organisation, dave: User) -> None:
    application = _application(haina, S.DRAFT)
    application_transition(application=application, to=S.SUBMITTED, actor=dave)
    assert application.submitted_at is not None
