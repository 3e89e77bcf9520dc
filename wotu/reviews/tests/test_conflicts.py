"""Conflicts of interest: found automatically (same organisation, co-applicant, recent partner,
declared relation), dismissed only by an officer with a written reason, and never assigned."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Application, CallStatus, Status
from wotu.programmes.tests.factories import application_make, call_make, programme_make
from wotu.reviews.models import Assignment, Conflict, ConflictSource, ExpertRelation
from wotu.reviews.services import conflict_dismiss, conflicts_detect, stage_assign
from wotu.reviews.tests.test_stages import expert_make, expert_users, org_make, review_call


def sources(app: Application) -> set[tuple[str, str]]:
    return {(c.expert.code, c.source) for c in Conflict.objects.filter(application=app)}


def past_application(*, year: int, lead: Organisation, partner: Organisation) -> Application:
    call = call_make(programme=programme_make(year=year), status=CallStatus.DECIDED)
    app = application_make(call=call, organisation=lead, status=Status.FUNDED)
    app.partners.add(partner)
    return app


def test_an_expert_of_the_lead_or_a_co_applicant_is_in_conflict(
    haina: Organisation, jiaodong: Organisation
) -> None:
    _, stage, (app,) = review_call(applicants=[haina])
    app.partners.add(jiaodong)
    expert_make(code="H", organisation=haina)
    expert_make(code="J", organisation=jiaodong)
    expert_make(code="FREE")
    found = conflicts_detect(stage=stage)
    assert sources(app) == {("H", "same_org"), ("J", "co_applicant")}
    assert {c.expert.code for c in found} == {"H", "J"}


def test_a_partner_of_the_lead_in_recent_years_is_in_conflict_but_not_an_old_one(
    haina: Organisation,
) -> None:
    # given the call's programme year is 2026 and the look-back 3 years
    recent, old = org_make("近年合作单位"), org_make("早年合作单位")
    past_application(year=2024, lead=haina, partner=recent)
    past_application(year=2021, lead=old, partner=haina)
    _, stage, (app,) = review_call(applicants=[haina])
    expert_make(code="R", organisation=recent)
    expert_make(code="O", organisation=old)
    # when
    conflicts_detect(stage=stage)
    # then
    assert sources(app) == {("R", "past_partner")}
    assert "海纳" in Conflict.objects.get().detail


def test_the_look_back_follows_the_calls_setting(haina: Organisation) -> None:
    partner = org_make()
    past_application(year=2021, lead=partner, partner=haina)
    call, _stage, (app,) = review_call(applicants=[haina])
    call.conflict_years = 5
    call.save()
    expert_make(code="P", organisation=partner)
    conflicts_detect(call=call)
    assert sources(app) == {("P", "past_partner")}


def test_a_declared_relation_counts_until_its_end_year(haina: Organisation) -> None:
    _, stage, (app,) = review_call(applicants=[haina])
    current, ended = expert_make(code="NOW"), expert_make(code="WAS")
    ExpertRelation.objects.create(expert=current, organisation=haina, relation="顾问")
    ExpertRelation.objects.create(
        expert=ended, organisation=haina, relation="前雇员", until_year=2024
    )
    conflicts_detect(stage=stage)
    assert sources(app) == {("NOW", "relation")}
    assert Conflict.objects.get().detail.endswith("顾问")


def test_detection_twice_writes_nothing_new_and_a_dismissal_stands(
    alice: User, haina: Organisation
) -> None:
    _, stage, (app,) = review_call(applicants=[haina])
    partner = org_make()
    app.partners.add(partner)
    expert_make(organisation=partner)
    (conflict,) = conflicts_detect(stage=stage, actor=alice)
    conflict_dismiss(conflict=conflict, actor=alice, reason="合作已终止")
    assert conflicts_detect(stage=stage, actor=alice) == []
    assert Conflict.objects.count() == 1
    assert AuditEvent.objects.filter(action="conflicts.detect").count() == 1


def test_a_dismissal_is_audited_with_the_officers_reason(alice: User, haina: Organisation) -> None:
    _, stage, (app,) = review_call(applicants=[haina])
    partner = org_make()
    app.partners.add(partner)
    expert_make(organisation=partner)
    (conflict,) = conflicts_detect(stage=stage)
    conflict_dismiss(conflict=conflict, actor=alice, reason="  仅为挂名合作  ")
    assert conflict.dismissed_by == alice and conflict.dismissed_reason == "仅为挂名合作"
    event = AuditEvent.objects.get(action="conflict.dismiss")
    assert event.data["reason"] == "仅为挂名合作" and event.actor == alice


@pytest.mark.parametrize(
    ("source", "reason", "message"),
    [
        (ConflictSource.EXPERT_DECLARED, "理由", "declared by the expert"),
        (ConflictSource.SAME_ORGANISATION, "理由", "always excludes them"),
        (ConflictSource.PAST_PARTNER, "   ", "needs a written reason"),
    ],
)
def test_dismissals_that_are_not_allowed_say_why(
    alice: User, haina: Organisation, source: str, reason: str, message: str
) -> None:
    _, _, (app,) = review_call(applicants=[haina])
    conflict = Conflict.objects.create(application=app, expert=expert_make(), source=source)
    with pytest.raises(Exception, match=message):
        conflict_dismiss(conflict=conflict, actor=alice, reason=reason)
    conflict.refresh_from_db()
    assert conflict.active


def test_a_conflict_is_dismissed_once(alice: User, haina: Organisation) -> None:
    _, _, (app,) = review_call(applicants=[haina])
    conflict = Conflict.objects.create(
        application=app, expert=expert_make(), source=ConflictSource.DECLARED_RELATION
    )
    conflict_dismiss(conflict=conflict, actor=alice, reason="已核实")
    with pytest.raises(Exception, match="already been dismissed"):
        conflict_dismiss(conflict=conflict, actor=alice, reason="再次")


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_bureau_officers_dismiss(
    request: pytest.FixtureRequest, haina: Organisation, persona: str
) -> None:
    _, _, (app,) = review_call(applicants=[haina])
    conflict = Conflict.objects.create(
        application=app, expert=expert_make(), source=ConflictSource.PAST_PARTNER
    )
    with pytest.raises(PermissionDenied):
        conflict_dismiss(conflict=conflict, actor=request.getfixturevalue(persona), reason="x")


def test_an_active_conflict_is_never_assigned_and_a_dismissed_one_may_be(
    alice: User, haina: Organisation
) -> None:
    # given one application, two free experts and one in conflict (panel 3)
    _, stage, (app,) = review_call(applicants=[haina], panel=3)
    partner = org_make()
    app.partners.add(partner)
    conflicted = expert_make(organisation=partner)
    expert_users(2)
    # then the stage cannot be assigned while the conflict stands
    with pytest.raises(Exception, match="needs 3 experts"):
        stage_assign(stage=stage, actor=alice)
    # when the officer dismisses it, the expert may sit on the panel
    conflict_dismiss(
        conflict=Conflict.objects.get(expert=conflicted), actor=alice, reason="核实无关"
    )
    stage_assign(stage=stage, actor=alice)
    assert Assignment.objects.filter(expert=conflicted, application=app).exists()
