"""What each persona may read: calls, applications and counts, scoped in the selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.programmes.models import CallStatus, Status
from wotu.programmes.selectors import (
    application_get_for_user,
    application_status_counts,
    applications_for_user,
    call_get_for_user,
    calls_open,
    programme_get_for_user,
)
from wotu.programmes.services import application_draft_save, application_submit
from wotu.programmes.tests.factories import call_make
from wotu.programmes.tests.test_services import close, complete_draft, open_call


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def test_applicants_see_open_calls_soonest_closing_first_and_never_closed_ones(
    dave: User,
) -> None:
    later, sooner, closed = open_call(), open_call(), open_call()
    sooner.closes_at = later.closes_at - dt.timedelta(days=1)
    sooner.save()
    close(closed)
    assert closed not in calls_open()
    assert calls_open().first() == sooner


def test_a_co_applicant_reads_the_application_but_does_not_lead_it(
    dave: User, erin: User, jiaodong: Organisation
) -> None:
    from wotu.programmes.selectors import application_is_editable

    draft = complete_draft(dave, open_call(), partners=[jiaodong.pk])
    assert application_get_for_user(user=erin, pk=draft.pk) == draft
    assert not application_is_editable(user=erin, application=draft)
    assert application_is_editable(user=dave, application=draft)


@pytest.mark.parametrize("persona", ["carol", "frank"])
def test_experts_and_banks_read_no_application_here(
    request: pytest.FixtureRequest, dave: User, persona: str
) -> None:
    draft = complete_draft(dave, open_call())
    user = request.getfixturevalue(persona)
    with pytest.raises(Http404):
        application_get_for_user(user=user, pk=draft.pk)
    with pytest.raises(PermissionDenied):
        applications_for_user(user=user)


def test_an_applicant_still_sees_a_closed_call_it_applied_to(dave: User, erin: User) -> None:
    call = open_call()
    application_draft_save(actor=dave, call=call, title="x")
    close(call)
    call.status = CallStatus.REVIEW
    call.save()
    assert call_get_for_user(user=dave, pk=call.pk) == call
    with pytest.raises(Http404):
        call_get_for_user(user=erin, pk=call.pk)


def test_programmes_are_hidden_from_applicants(dave: User, bob: User) -> None:
    programme = call_make().programme
    assert programme_get_for_user(user=bob, pk=programme.pk) == programme
    with pytest.raises(Http404):
        programme_get_for_user(user=dave, pk=programme.pk)


def test_counts_cover_every_status_and_add_up(alice: User, dave: User, erin: User) -> None:
    call = open_call()
    application_submit(actor=dave, application=complete_draft(dave, call))
    application_draft_save(actor=erin, call=call, title="y")
    counts = application_status_counts(user=alice, call=call)
    assert set(counts) == set(Status.values)
    assert (counts["submitted"], counts["draft"], sum(counts.values())) == (1, 1, 2)
