"""The notice and committee stages follow the call: the notice stage is in progress once the
notice is published, and both close with the committee decision. The call page shows every
stage with its state as a pipeline progress bar."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Call, StageKind, StageStatus
from wotu.programmes.selectors import call_pipeline
from wotu.reviews.decision import decision_record
from wotu.reviews.notice import notice_publish
from wotu.reviews.tests.test_notice import AFTER, PUBLISHED, call_on_notice_stage

pytestmark = pytest.mark.django_db


def _statuses(call: Call) -> dict[str, str]:
    return dict(call.stages.values_list("kind", "status"))


@pytest.fixture
def call(haina: Organisation, jiaodong: Organisation) -> Call:
    """A call whose scored stages are all closed, two projects proposed for funding."""
    call, _ = call_on_notice_stage([haina, jiaodong])
    call.stages.filter(kind__in=("professional", "defence", "site")).update(
        status=StageStatus.CLOSED, closed_at=PUBLISHED
    )
    return call


def test_publishing_the_notice_puts_the_notice_stage_in_progress(call: Call, alice: User) -> None:
    assert _statuses(call)["notice"] == StageStatus.PENDING
    notice_publish(call=call, actor=alice, published_at=PUBLISHED)
    statuses = _statuses(call)
    assert statuses["notice"] == StageStatus.SCORING
    assert statuses["committee"] == StageStatus.PENDING


def test_the_decision_closes_the_notice_and_committee_stages_at_its_time(
    call: Call, alice: User
) -> None:
    notice_publish(call=call, actor=alice, published_at=PUBLISHED)
    decision_record(call=call, actor=alice, minutes="2026 年第 3 次党组会", now=AFTER)
    for kind in (StageKind.NOTICE, StageKind.COMMITTEE):
        stage = call.stages.get(kind=kind)
        assert stage.status == StageStatus.CLOSED and stage.closed_at == AFTER


def test_the_pipeline_names_every_stage_with_its_state(call: Call, alice: User) -> None:
    notice_publish(call=call, actor=alice, published_at=PUBLISHED)
    with translation.override("en"):
        steps = call_pipeline(call=call)
    assert [s.kind for s in steps] == ["professional", "defence", "site", "notice", "committee"]
    assert [s.state for s in steps] == ["done", "done", "done", "active", "todo"]
    assert str(steps[3].state_label) == "In progress"


def test_the_call_page_shows_the_pipeline_as_a_progress_bar(
    call: Call, alice: User, client: Client
) -> None:
    notice_publish(call=call, actor=alice, published_at=PUBLISHED)
    client.force_login(alice)
    page = client.get(f"/programmes/calls/{call.pk}/").content.decode()
    bar = page[page.index('data-testid="pipeline"') :]
    states = re.findall(r'data-stage="(\w+)" data-state="(\w+)"', bar)
    assert states == [
        ("professional", "closed"), ("defence", "closed"), ("site", "closed"),
        ("notice", "scoring"), ("committee", "pending"),
    ]  # fmt: skip
    assert 'aria-current="step"' in bar
