"""A scored stage end to end through the services: assignment (with the cross-stage rule and
the library's diagnosis when it is impossible), closing with results, ranks, the pass rule and
the funding line. The builders at the top are shared by the other review tests."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Kind, Organisation, Region
from wotu.programmes.models import Application, Call, CallStatus, Stage, StageStatus, Status
from wotu.programmes.tests.factories import (
    SHANGHAI,
    application_make,
    call_make,
    first_scored_stage,
    programme_make,
)
from wotu.reviews.models import (
    Assignment,
    AssignmentRun,
    AssignmentStatus,
    Conflict,
    ConflictSource,
    Expert,
    StageResult,
)
from wotu.reviews.services import (
    StageInfeasible,
    assignment_declare,
    score_submit,
    stage_assign,
    stage_close,
)

_serial = count(1)
MARKS = {"innovation": Decimal(80), "feasibility": Decimal(70), "team": Decimal(90)}


# -- builders (factories for volume; personas come from wotu/conftest.py) -------------------------


def org_make(name: str = "", *, region: str = Region.MAINLAND) -> Organisation:
    n = next(_serial)
    return Organisation.objects.create(
        kind=Kind.UNIVERSITY, region=region, name=name or f"大学 {n}", name_en=f"University {n}",
        local_id=f"UNI-{n:05d}",
    )  # fmt: skip


def expert_make(
    *,
    organisation: Organisation | None = None,
    fields: tuple[str, ...] = ("electronics",),
    region: str = "CN",
    user: User | None = None,
    admitted: bool = True,
    **extra: Any,
) -> Expert:
    n = next(_serial)
    return Expert.objects.create(
        code=extra.pop("code", f"E{n:04d}"),
        name=extra.pop("name", f"专家{n}"),
        organisation=organisation or org_make(region=region),
        region=region,
        fields=list(fields),
        user=user,
        admitted_at=dt.datetime(2026, 1, 5, tzinfo=SHANGHAI)
        if region != "CN" and admitted
        else None,
        **extra,
    )


def review_call(
    *,
    applicants: list[Organisation],
    panel: int = 2,
    max_load: int = 10,
    budget: Decimal = Decimal("14100000.00"),
    pipeline: list[dict[str, Any]] | None = None,
) -> tuple[Call, Stage, list[Application]]:
    """A call in review: one application per applicant, IN_REVIEW at the professional stage."""
    programme = programme_make(budget=budget, **({"pipeline": pipeline} if pipeline else {}))
    call = call_make(programme=programme, status=CallStatus.REVIEW)
    stage = first_scored_stage(call)
    stage.panel_size, stage.max_load = panel, max_load
    stage.save()
    apps = [
        application_make(
            call=call,
            organisation=org,
            status=Status.IN_REVIEW,
            stage=stage,
            submitted_at=dt.datetime(2026, 3, 10, 9, i, tzinfo=SHANGHAI),
        )
        for i, org in enumerate(applicants)
    ]
    return call, stage, apps


def affirm_and_score_all(stage: Stage, marks_for: Any = None) -> None:
    """Every live assignment affirmed and scored (``marks_for(assignment)`` gives the marks)."""
    for a in Assignment.objects.filter(stage=stage, status=AssignmentStatus.PENDING):
        user = a.expert.user
        assert user is not None
        assignment_declare(assignment=a, expert_user=user, no_conflict=True)
        score_submit(assignment=a, expert_user=user, marks=(marks_for or (lambda _: MARKS))(a))


def expert_users(
    n: int, *, region: str = "CN", fields: tuple[str, ...] = ("electronics",)
) -> list[Expert]:
    from wotu.conftest import _user

    return [
        expert_make(user=_user(f"expert{next(_serial)}", "expert"), region=region, fields=fields)
        for _ in range(n)
    ]


# -- assignment -------------------------------------------------------------------------------


def test_assignment_gives_every_application_its_panel_and_records_a_reproducible_run(
    alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    # given two applications and four experts
    _, stage, apps = review_call(applicants=[haina, jiaodong], panel=2, max_load=1)
    expert_users(4)
    # when
    run = stage_assign(stage=stage, actor=alice, seed=7)
    # then
    per_app = Counter(Assignment.objects.filter(stage=stage).values_list("application", flat=True))
    assert per_app == {apps[0].pk: 2, apps[1].pk: 2}
    assert stage.status == StageStatus.SCORING
    assert run.seed == 7 and run.pairs == 4 and len(run.input_hash) == 64
    assert run.solver in ("min-cost flow", "CP-SAT") and run.solver_version.startswith("ortools ")
    assert run.parameters["per_application"] == 2 and run.objective == 4.0
    assert AuditEvent.objects.filter(action="stage.assign").count() == 1


def test_the_same_input_hashes_the_same(
    alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    from wotu.reviews.services_stages import _build, instance_hash

    _, stage, apps = review_call(applicants=[haina, jiaodong])
    expert_users(3)
    assert instance_hash(_build(stage, apps).instance) == instance_hash(
        _build(stage, apps).instance
    )


def test_an_impossible_assignment_names_the_applications_and_the_constraint(
    alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina, jiaodong], panel=3)
    expert_users(2)
    with pytest.raises(StageInfeasible) as caught:
        stage_assign(stage=stage, actor=alice)
    assert "needs 3 experts" in caught.value.en and "需要 3 名专家" in caught.value.zh
    assert caught.value.problems
    assert not AssignmentRun.objects.exists()
    stage.refresh_from_db()
    assert stage.status == StageStatus.PENDING


def test_cross_border_applications_get_their_hkmo_experts(
    alice: User, haina: Organisation, hkust: Organisation
) -> None:
    _, stage, apps = review_call(applicants=[haina, hkust], panel=2)
    stage.min_hkmo = 1
    stage.save()
    expert_users(3)
    hk = expert_users(1, region="HK")[0]
    stage_assign(stage=stage, actor=alice)
    assert Assignment.objects.filter(stage=stage, application=apps[1], expert=hk).exists()


def test_an_hkmo_expert_not_yet_admitted_is_not_assigned(
    alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina, jiaodong], panel=2)
    expert_users(2)
    waiting = expert_make(region="HK", admitted=False)
    stage_assign(stage=stage, actor=alice)
    assert not Assignment.objects.filter(expert=waiting).exists()


def test_experts_of_the_professional_stage_do_not_inspect_the_same_site(
    alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    # given the professional stage assigned and a site stage excluding its experts
    call, stage, _apps = review_call(applicants=[haina, jiaodong], panel=2)
    expert_users(4)
    stage_assign(stage=stage, actor=alice)
    site = call.stages.get(kind="site")
    site.panel_size = 2
    site.save()
    Application.objects.update(stage=site)
    # when
    stage_assign(stage=site, actor=alice)
    # then no expert sits on both stages for one application
    first = set(Assignment.objects.filter(stage=stage).values_list("application", "expert"))
    second = set(Assignment.objects.filter(stage=site).values_list("application", "expert"))
    assert first and second and not first & second


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": StageStatus.SCORING}, "already has experts"),
        ({"status": StageStatus.CLOSED}, "is closed"),
        ({"panel_size": 0}, "needs a panel size"),
        ({"min_hkmo": 5}, "exceeds the panel size"),
    ],
)
def test_a_stage_that_cannot_be_assigned_says_why(
    alice: User, haina: Organisation, change: dict[str, Any], message: str
) -> None:
    _, stage, _ = review_call(applicants=[haina])
    Stage.objects.filter(pk=stage.pk).update(**change)
    stage.refresh_from_db()
    with pytest.raises(Exception, match=message):
        stage_assign(stage=stage, actor=alice)


def test_a_stage_without_applications_is_not_assigned(alice: User) -> None:
    _, stage, _ = review_call(applicants=[])
    with pytest.raises(Exception, match="no applications under review"):
        stage_assign(stage=stage, actor=alice)


def test_a_notice_stage_takes_no_experts(alice: User, haina: Organisation) -> None:
    call, _, _ = review_call(applicants=[haina])
    with pytest.raises(Exception, match="is not scored"):
        stage_assign(stage=call.stages.get(kind="notice"), actor=alice)


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_bureau_officers_assign_and_close(
    request: pytest.FixtureRequest, haina: Organisation, persona: str
) -> None:
    _, stage, _ = review_call(applicants=[haina])
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        stage_assign(stage=stage, actor=user)
    with pytest.raises(PermissionDenied):
        stage_close(stage=stage, actor=user)


# -- closing ---------------------------------------------------------------------------------


def _marks(total: int) -> dict[str, Decimal]:
    return {"innovation": Decimal(total), "feasibility": Decimal(total), "team": Decimal(total)}


def test_closing_refuses_while_scores_are_missing_and_says_how_many(
    alice: User, haina: Organisation, jiaodong: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina, jiaodong], panel=2)
    expert_users(2)
    stage_assign(stage=stage, actor=alice)
    with pytest.raises(Exception, match=r"still has 4 unscored assignment") as caught:
        stage_close(stage=stage, actor=alice)
    assert "还有 4 份评分未提交" in str(caught.value)


def test_closing_ranks_passes_the_top_half_to_the_next_stage_and_tells_the_rest_why(
    alice: User, haina: Organisation, jiaodong: Organisation, hkust: Organisation
) -> None:
    # given four applications scored 90, 80, 70, 60 (top_share 0.5 passes two)
    fourth = org_make()
    call, stage, apps = review_call(applicants=[haina, jiaodong, hkust, fourth], panel=2)
    stage.normalise = False
    stage.save()
    expert_users(3)
    stage_assign(stage=stage, actor=alice)
    totals = {apps[0].pk: 90, apps[1].pk: 80, apps[2].pk: 70, apps[3].pk: 60}
    affirm_and_score_all(stage, lambda a: _marks(totals[a.application_id]))
    # when
    closed = stage_close(stage=stage, actor=alice)
    # then
    assert (closed.passed, closed.failed) == (2, 2)
    results = {r.application_id: r for r in StageResult.objects.filter(stage=stage)}
    assert [results[a.pk].rank for a in apps] == [1, 2, 3, 4]
    assert results[apps[0].pk].mean == Decimal("90.00") and results[apps[0].pk].passed
    defence = call.stages.get(kind="defence")
    for app in apps:
        app.refresh_from_db()
    assert [a.status for a in apps] == [Status.IN_REVIEW] * 2 + [Status.NOT_PASSED] * 2
    assert apps[0].stage == defence
    assert "rank 3 of 4" in apps[2].feedback and "第 3 名" in apps[2].feedback
    assert stage.status == StageStatus.CLOSED and defence.status == StageStatus.PENDING
    for app in apps:  # never an expert's name or number in the feedback
        assert not any(
            e.name in app.feedback or e.code in app.feedback for e in Expert.objects.all()
        )


def test_closing_the_last_scored_stage_draws_the_funding_line_under_the_budget(
    alice: User, haina: Organisation, jiaodong: Organisation, hkust: Organisation
) -> None:
    # given a one-stage pipeline, a budget for two requests of 200,000, everyone passing
    pipeline: list[dict[str, Any]] = [
        {"kind": "professional", "panel_size": 2, "max_load": 10,
         "rubric": first_rubric(), "pass_rule": {"min_score": 0}},
        {"kind": "notice"},
        {"kind": "committee"},
    ]  # fmt: skip
    call, stage, apps = review_call(
        applicants=[haina, jiaodong, hkust], pipeline=pipeline, budget=Decimal("400000.00")
    )
    expert_users(3)
    stage_assign(stage=stage, actor=alice)
    totals = {apps[0].pk: 90, apps[1].pk: 80, apps[2].pk: 70}
    affirm_and_score_all(stage, lambda a: _marks(totals[a.application_id]))
    # when
    closed = stage_close(stage=stage, actor=alice)
    # then the top two are proposed on the notice, the third is below the line
    for app in apps:
        app.refresh_from_db()
    assert [a.status for a in apps] == [Status.NOTICE, Status.NOTICE, Status.NOT_PASSED]
    assert apps[0].proposed == Decimal("200000.00") and apps[2].proposed is None
    assert apps[0].stage == call.stages.get(kind="notice")
    assert "below the funding line" in apps[2].feedback
    assert closed.awarded == Decimal("400000.00") and closed.remaining == Decimal("0.00")


def first_rubric() -> list[dict[str, Any]]:
    from wotu.programmes.tests.factories import RUBRIC

    return RUBRIC


def test_a_stage_closes_only_once_and_only_while_scoring(alice: User, haina: Organisation) -> None:
    _, stage, _ = review_call(applicants=[haina])
    with pytest.raises(Exception, match="is not scoring"):
        stage_close(stage=stage, actor=alice)


def test_an_application_every_expert_declined_blocks_closing_until_it_has_a_score(
    alice: User, haina: Organisation
) -> None:
    _, stage, _apps = review_call(applicants=[haina], panel=1)
    (only,) = expert_users(1)
    stage_assign(stage=stage, actor=alice)
    a = Assignment.objects.get(stage=stage)
    assert only.user is not None
    outcome = assignment_declare(
        assignment=a, expert_user=only.user, no_conflict=False, reason="前同事"
    )
    assert outcome.replacement is None and outcome.problems
    with pytest.raises(Exception, match="have no score at all"):
        stage_close(stage=stage, actor=alice)
    assert Conflict.objects.filter(source=ConflictSource.EXPERT_DECLARED).count() == 1
