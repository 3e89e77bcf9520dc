"""The expert's side of a stage: affirm or decline (a decline is re-assigned changing as few
pairs as possible), score with the rubric, change the score until the stage closes, and see
other experts' scores only afterwards. Plus the invariant of every assignment run."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.reviews.models import Assignment, AssignmentStatus, Conflict, ConflictSource, Expert
from wotu.reviews.selectors import (
    assignment_application_for_user,
    assignment_peer_totals_for_user,
    stage_scores_for_user,
)
from wotu.reviews.services import (
    assignment_declare,
    score_submit,
    stage_assign,
    stage_close,
)
from wotu.reviews.tests.test_stages import (
    MARKS,
    affirm_and_score_all,
    expert_make,
    expert_users,
    org_make,
    review_call,
)


@pytest.fixture
def carol_expert(carol: User) -> Expert:
    return expert_make(user=carol, code="E-CAROL")


def carols(stage_pk: int) -> Assignment:
    return Assignment.objects.get(stage_id=stage_pk, expert__code="E-CAROL")


def test_affirming_opens_the_application_and_is_audited(
    alice: User, carol: User, carol_expert: Expert, haina: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=1)
    stage_assign(stage=stage, actor=alice)
    mine = carols(stage.pk)
    from django.http import Http404

    with pytest.raises(Http404):
        assignment_application_for_user(user=carol, assignment=mine)
    assignment_declare(assignment=mine, expert_user=carol, no_conflict=True)
    assert mine.status == AssignmentStatus.ACCEPTED and mine.declared_at is not None
    assert assignment_application_for_user(user=carol, assignment=mine).pk == mine.application_id
    assert AuditEvent.objects.filter(action="assignment.accept").count() == 1


def test_a_declaration_is_made_once(
    alice: User, carol: User, carol_expert: Expert, haina: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=1)
    stage_assign(stage=stage, actor=alice)
    mine = carols(stage.pk)
    assignment_declare(assignment=mine, expert_user=carol, no_conflict=True)
    with pytest.raises(Exception, match="already declared"):
        assignment_declare(assignment=mine, expert_user=carol, no_conflict=False, reason="x")


def test_only_the_assigned_expert_declares_or_scores(
    alice: User, carol: User, carol_expert: Expert, haina: Organisation, dave: User
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=1)
    stage_assign(stage=stage, actor=alice)
    mine = carols(stage.pk)
    (other,) = expert_users(1)
    for user in (alice, dave, other.user):
        with pytest.raises(PermissionDenied):
            assignment_declare(assignment=mine, expert_user=user, no_conflict=True)
        with pytest.raises(PermissionDenied):
            score_submit(assignment=mine, expert_user=user, marks=MARKS)


def test_a_decline_is_recorded_as_a_conflict_and_only_that_place_is_reassigned(
    alice: User, carol: User, carol_expert: Expert, haina: Organisation, jiaodong: Organisation
) -> None:
    # given three applications, panels of 2, carol among five experts
    _, stage, _apps = review_call(applicants=[haina, jiaodong, org_make()], panel=2, max_load=2)
    expert_users(4)
    stage_assign(stage=stage, actor=alice)
    mine = Assignment.objects.filter(stage=stage, expert=carol_expert).first()
    assert mine is not None
    before = set(Assignment.objects.filter(stage=stage).values_list("application", "expert")) - {
        (mine.application_id, mine.expert_id)
    }
    # when carol declines
    outcome = assignment_declare(
        assignment=mine, expert_user=carol, no_conflict=False, reason="曾指导该单位项目"
    )
    # then exactly one new pair was added and no other pair changed
    live = set(
        Assignment.objects.filter(stage=stage)
        .exclude(status=AssignmentStatus.DECLINED)
        .values_list("application", "expert")
    )
    assert before <= live and len(live - before) == 1
    assert outcome.replacement is not None
    assert outcome.replacement.application_id == mine.application_id
    assert outcome.replacement.expert_id != carol_expert.pk
    assert Conflict.objects.filter(
        expert=carol_expert, application=mine.application, source=ConflictSource.EXPERT_DECLARED
    ).exists()
    assert {e.action for e in AuditEvent.objects.all()} >= {
        "assignment.decline",
        "assignment.repair",
    }
    assert outcome.replacement.run.parameters["kind"] == "repair"


def test_scoring_before_affirming_or_after_declining_is_refused(
    alice: User, carol: User, carol_expert: Expert, haina: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=1)
    stage_assign(stage=stage, actor=alice)
    mine = carols(stage.pk)
    with pytest.raises(Exception, match="before scoring"):
        score_submit(assignment=mine, expert_user=carol, marks=MARKS)
    assignment_declare(assignment=mine, expert_user=carol, no_conflict=False, reason="回避")
    with pytest.raises(Exception, match="you declined"):
        score_submit(assignment=mine, expert_user=carol, marks=MARKS)


@pytest.mark.parametrize(
    ("marks", "message"),
    [
        ({"innovation": Decimal(80), "feasibility": Decimal(70)}, "missing"),
        ({**MARKS, "bonus": Decimal(5)}, "not in the rubric"),
        ({**MARKS, "team": Decimal(101)}, "outside"),
        ({**MARKS, "team": "很好"}, "not a valid number"),
    ],
)
def test_marks_are_checked_against_the_rubric(
    alice: User, carol: User, carol_expert: Expert, haina: Organisation,
    marks: dict[str, object], message: str,
) -> None:  # fmt: skip
    _, stage, _ = review_call(applicants=[haina], panel=1)
    stage_assign(stage=stage, actor=alice)
    mine = carols(stage.pk)
    assignment_declare(assignment=mine, expert_user=carol, no_conflict=True)
    with pytest.raises(Exception, match=message):
        score_submit(assignment=mine, expert_user=carol, marks=marks)


def test_a_score_can_be_changed_until_the_stage_closes(
    alice: User, carol: User, carol_expert: Expert, haina: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=1)
    stage_assign(stage=stage, actor=alice)
    mine = carols(stage.pk)
    assignment_declare(assignment=mine, expert_user=carol, no_conflict=True)
    score_submit(assignment=mine, expert_user=carol, marks=MARKS, comment="初评")
    score = score_submit(
        assignment=mine, expert_user=carol, marks={**MARKS, "team": "60"}, comment="复核"
    )
    assert score.total == Decimal("71.00") and score.comment == "复核"
    assert {e.action for e in AuditEvent.objects.filter(action__startswith="score.")} == {
        "score.submit",
        "score.update",
    }
    stage_close(stage=stage, actor=alice)
    with pytest.raises(Exception, match="not scoring"):
        score_submit(assignment=mine, expert_user=carol, marks=MARKS)


def test_other_experts_scores_are_hidden_until_the_stage_closes(
    alice: User, carol: User, carol_expert: Expert, haina: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=2)
    expert_users(1)
    stage_assign(stage=stage, actor=alice)
    affirm_and_score_all(stage)
    mine = carols(stage.pk)
    assert assignment_peer_totals_for_user(user=carol, assignment=mine) == []
    assert list(stage_scores_for_user(user=alice, stage=stage)) == []
    stage_close(stage=stage, actor=alice)
    assert assignment_peer_totals_for_user(user=carol, assignment=mine) == [Decimal("80.00")]
    assert len(stage_scores_for_user(user=alice, stage=stage)) == 2


# -- the invariant of every run ----------------------------------------------------------------


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    n_apps=st.integers(1, 6),
    n_experts=st.integers(2, 8),
    panel=st.integers(1, 3),
    max_load=st.integers(1, 4),
    conflicts=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 7)), max_size=10),
    seed=st.integers(0, 1000),
)
def test_after_assignment_no_conflicted_pair_and_no_load_above_the_maximum(
    alice: User,
    n_apps: int,
    n_experts: int,
    panel: int,
    max_load: int,
    conflicts: list[tuple[int, int]],
    seed: int,
) -> None:
    Assignment.objects.all().delete()
    applicants = [org_make() for _ in range(n_apps)]
    _, stage, apps = review_call(applicants=applicants, panel=panel, max_load=max_load)
    experts = [expert_make() for _ in range(n_experts)]
    for a, e in conflicts:
        if a < n_apps and e < n_experts:
            Conflict.objects.get_or_create(
                application=apps[a], expert=experts[e], source=ConflictSource.DECLARED_RELATION
            )
    try:
        stage_assign(stage=stage, actor=alice, seed=seed)
    except Exception as exc:  # an impossible instance must say so, and write nothing
        assert "无法分配" in str(exc) or "impossible" in str(exc)
        assert not Assignment.objects.filter(stage=stage).exists()
        return
    pairs = list(Assignment.objects.filter(stage=stage).values_list("application", "expert"))
    active = set(
        Conflict.objects.filter(dismissed_at__isnull=True).values_list("application", "expert")
    )
    assert not set(pairs) & active
    assert max(Counter(e for _, e in pairs).values()) <= max_load
    assert Counter(a for a, _ in pairs) == {app.pk: panel for app in apps}
