"""Challenge tasks (揭榜挂帅): posting, bidding, selecting up to N bids after review, and paying
selected bids milestone by milestone, only once accepted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.programmes.challenges import (
    CHALLENGE_BUDGET_LINES,
    CHALLENGE_FORM,
    bid_list_for_user,
    challenge_bid_submit,
    challenge_list_public,
    challenge_post,
    challenge_select,
    milestone_decide,
    milestone_payable,
    milestone_payment_check,
    milestone_plan_set,
    milestone_submit,
)
from wotu.programmes.models import (
    Application,
    Award,
    CallStatus,
    ChallengeTask,
    MilestoneStatus,
    Programme,
    Status,
    TaskStatus,
)
from wotu.programmes.services import Refused
from wotu.programmes.tests.factories import PIPELINE, programme_make

pytestmark = pytest.mark.django_db


def challenge_programme(**overrides: Any) -> Programme:
    values: dict[str, Any] = {"form": CHALLENGE_FORM, "budget_lines": CHALLENGE_BUDGET_LINES,
                              "max_award": None, "budget": Decimal("10000000.00"),
                              "pipeline": PIPELINE}  # fmt: skip
    values.update(overrides)
    return programme_make(**values)


def post(alice: User, **overrides: Any) -> ChallengeTask:
    values: dict[str, Any] = {
        "actor": alice, "programme": challenge_programme(), "title": "海洋牧场智能巡检机器人",
        "title_en": "Marine ranch inspection robot", "requirements": "水下 50 米连续作业 8 小时。",
        "kpis": ["续航 ≥ 8 小时", "识别准确率 ≥ 95%"], "budget_ceiling": "3000000",
        "deadline": timezone.now() + dt.timedelta(days=30), "max_winners": 2,
    }  # fmt: skip
    values.update(overrides)
    return challenge_post(**values)


def bid(task: ChallengeTask, user: User, price: str = "2500000") -> Application:
    return challenge_bid_submit(
        task=task, actor=user, title=f"{user.username} 的方案", field="machinery",
        proposal="双体无人船搭载水下机器人，分层巡检。", team="首席科学家 1 名，工程师 12 名。",
        price=price,
    )  # fmt: skip


def reviewed(*bids: Application) -> None:
    """The review pipeline ran: these bids passed the last scored stage."""
    for b in bids:
        Application.objects.filter(pk=b.pk).update(status=Status.NOTICE, proposed=b.requested)


@pytest.fixture
def task(alice: User) -> ChallengeTask:
    return post(alice)


# --- posting ---------------------------------------------------------------------------------


def test_an_officer_posts_a_task_with_its_own_open_call(task: ChallengeTask) -> None:
    assert task.status == TaskStatus.OPEN and task.call.status == CallStatus.OPEN
    assert task.call.stages.count() == len(PIPELINE)
    assert task.kpis == ["续航 ≥ 8 小时", "识别准确率 ≥ 95%"]
    assert list(challenge_list_public()) == [task]
    assert AuditEvent.objects.filter(action="challenge.post").count() == 1


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [({"kpis": [" "]}, "KPI"), ({"requirements": ""}, "requirements"),
     ({"budget_ceiling": "0"}, "above 0"), ({"budget_ceiling": "10000000.01"}, "budget"),
     ({"max_winners": 0}, "winners"), ({"deadline": timezone.now() - dt.timedelta(1)}, "future")],
)  # fmt: skip
def test_a_task_needs_kpis_requirements_a_ceiling_and_a_future_deadline(
    alice: User, overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(WotuError, match=problem):
        post(alice, **overrides)
    assert not ChallengeTask.objects.exists()


def test_a_task_needs_a_programme_whose_form_asks_for_proposal_and_team(alice: User) -> None:
    with pytest.raises(WotuError, match="proposal, team"):
        post(alice, programme=programme_make())


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_a_bureau_officer_posts_a_task(request: pytest.FixtureRequest, persona: str) -> None:
    with pytest.raises(Refused):
        post(request.getfixturevalue(persona))


# --- bidding ---------------------------------------------------------------------------------


def test_a_team_bids_with_proposal_team_and_price(task: ChallengeTask, dave: User) -> None:
    b = bid(task, dave)
    assert b.status == Status.SUBMITTED and b.requested == Decimal("2500000.00")
    assert b.answers["proposal"].startswith("双体") and b.answers["team"]
    assert list(bid_list_for_user(user=dave, task=task)) == [b]


def test_a_price_above_the_ceiling_is_refused(task: ChallengeTask, dave: User) -> None:
    with pytest.raises(WotuError, match="ceiling"):
        bid(task, dave, price="3000000.01")
    assert not Application.objects.exists()


def test_one_bid_per_organisation(task: ChallengeTask, dave: User) -> None:
    bid(task, dave)
    with pytest.raises(WotuError, match="one bid each"):
        bid(task, dave, price="1000")


def test_applicants_see_only_their_own_bids(task: ChallengeTask, dave: User, erin: User,
                                            bob: User, carol: User) -> None:  # fmt: skip
    mine, theirs = bid(task, dave), bid(task, erin)
    assert list(bid_list_for_user(user=erin, task=task)) == [theirs]
    assert set(bid_list_for_user(user=bob, task=task)) == {mine, theirs}
    with pytest.raises(Refused):
        bid_list_for_user(user=carol, task=task)


# --- selecting -------------------------------------------------------------------------------


def test_selected_bids_are_funded_at_their_price_and_the_rest_are_not(
    task: ChallengeTask, alice: User, dave: User, erin: User, haina: Organisation
) -> None:
    a, b = bid(task, dave, "2500000"), bid(task, erin, "1800000")
    reviewed(a, b)
    challenge_select(task=task, actor=alice, application_ids=[b.pk])
    a.refresh_from_db()
    b.refresh_from_db()
    assert b.status == Status.FUNDED and Award.objects.get(application=b).amount == Decimal(
        "1800000"
    )
    assert a.status == Status.NOT_FUNDED and not Award.objects.filter(application=a).exists()
    task.refresh_from_db()
    assert task.status == TaskStatus.SELECTED and task.call.status == CallStatus.DECIDED
    assert audit_verify() is None


def test_a_horse_race_selects_at_most_max_winners(
    alice: User, dave: User, erin: User, hkust: Organisation
) -> None:
    task = post(alice, max_winners=1)
    a, b = bid(task, dave), bid(task, erin)
    reviewed(a, b)
    with pytest.raises(WotuError, match="between 1 and 1"):
        challenge_select(task=task, actor=alice, application_ids=[a.pk, b.pk])
    with pytest.raises(WotuError, match="between 1 and 1"):
        challenge_select(task=task, actor=alice, application_ids=[])
    assert not Award.objects.exists()


def test_only_bids_that_passed_review_may_be_selected(
    task: ChallengeTask, alice: User, dave: User, erin: User
) -> None:
    a, b = bid(task, dave), bid(task, erin)
    reviewed(a)
    with pytest.raises(WotuError) as refused:
        challenge_select(task=task, actor=alice, application_ids=[a.pk, b.pk])
    assert b.reference in refused.value.en and a.reference not in refused.value.en


def test_a_bid_of_another_task_cannot_be_selected(
    task: ChallengeTask, alice: User, dave: User
) -> None:
    other = post(alice, title="另一任务")
    stranger = bid(other, dave)
    reviewed(stranger)
    with pytest.raises(WotuError, match="does not belong"):
        challenge_select(task=task, actor=alice, application_ids=[stranger.pk])


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_a_bureau_officer_selects(
    request: pytest.FixtureRequest, task: ChallengeTask, dave: User, persona: str
) -> None:
    b = bid(task, dave)
    reviewed(b)
    with pytest.raises(Refused):
        challenge_select(task=task, actor=request.getfixturevalue(persona), application_ids=[b.pk])


# --- milestones ------------------------------------------------------------------------------


@pytest.fixture
def winner(task: ChallengeTask, alice: User, dave: User) -> Application:
    b = bid(task, dave, "1000000")
    reviewed(b)
    challenge_select(task=task, actor=alice, application_ids=[b.pk])
    b.refresh_from_db()
    return b


PLAN = [
    {"title": "样机", "due_on": "2027-03-31", "amount": "300000"},
    {"title": "海试", "due_on": "2027-09-30", "amount": "500000"},
    {"title": "验收", "due_on": "2027-12-31", "amount": "200000"},
]


def test_a_plan_adds_up_to_no_more_than_the_price(winner: Application, alice: User) -> None:
    created = milestone_plan_set(application=winner, actor=alice, milestones=PLAN)
    assert [m.amount for m in created] == [Decimal(300000), Decimal(500000), Decimal(200000)]
    over = [*PLAN[:2], {**PLAN[2], "amount": "200000.01"}]
    with pytest.raises(WotuError, match="more than the bid"):
        milestone_plan_set(application=winner, actor=alice, milestones=over)
    assert winner.milestones.count() == 3


@pytest.mark.parametrize(
    ("plan", "problem"),
    [([], "at least one"), ([{**PLAN[0], "title": ""}], "title"),
     ([{**PLAN[0], "due_on": "31/03/2027"}], "YYYY-MM-DD"),
     ([{**PLAN[0], "amount": "-1"}], "above 0"),
     ([PLAN[1], PLAN[0]], "due before")],
)  # fmt: skip
def test_a_plan_needs_titles_dates_in_order_and_positive_amounts(
    winner: Application, alice: User, plan: list[dict[str, str]], problem: str
) -> None:
    with pytest.raises(WotuError, match=problem):
        milestone_plan_set(application=winner, actor=alice, milestones=plan)


def test_a_bid_that_was_not_selected_gets_no_plan(task: ChallengeTask, alice: User,
                                                  erin: User) -> None:  # fmt: skip
    loser = bid(task, erin)
    with pytest.raises(WotuError, match="not selected"):
        milestone_plan_set(application=loser, actor=alice, milestones=PLAN)


def test_only_accepted_milestones_are_payable(winner: Application, alice: User, dave: User,
                                              erin: User) -> None:  # fmt: skip
    first, second, _ = milestone_plan_set(application=winner, actor=alice, milestones=PLAN)
    with pytest.raises(WotuError, match="not accepted"):
        milestone_payment_check(milestone=first)
    with pytest.raises(Refused):
        milestone_submit(milestone=first, actor=erin, report="我们完成了样机的全部测试。")
    with pytest.raises(WotuError, match="cannot become accepted"):
        milestone_decide(milestone=first, actor=alice, accept=True)
    milestone_submit(milestone=first, actor=dave, report="样机完成，附测试报告与视频。")
    milestone_submit(milestone=second, actor=dave, report="海试完成，附第三方检测报告。")
    milestone_decide(milestone=first, actor=alice, accept=True)
    with pytest.raises(WotuError, match="reason"):
        milestone_decide(milestone=second, actor=alice, accept=False)
    milestone_decide(milestone=second, actor=alice, accept=False, note="检测报告缺少签章。")
    assert [p.amount for p in milestone_payable(application=winner)] == [Decimal("300000.00")]
    assert milestone_payment_check(milestone=first) == Decimal("300000.00")
    with pytest.raises(WotuError, match="not accepted"):
        milestone_payment_check(milestone=second)
    # the team corrects and resubmits the rejected one
    milestone_submit(milestone=second, actor=dave, report="补充签章后的第三方检测报告。")
    assert second.status == MilestoneStatus.SUBMITTED
    with pytest.raises(WotuError, match="can no longer change"):
        milestone_plan_set(application=winner, actor=alice, milestones=PLAN)
    event = AuditEvent.objects.filter(action="milestone.decide").last()
    assert event is not None and event.data["note"] == "检测报告缺少签章。"


@given(amounts=st.lists(st.integers(min_value=1, max_value=600_000), min_size=1, max_size=5))
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
def test_a_plan_is_saved_exactly_when_it_fits_the_price(
    amounts: list[int], winner: Application, alice: User
) -> None:
    plan = [{"title": f"M{i}", "due_on": f"2027-0{i + 1}-01", "amount": str(a)}
            for i, a in enumerate(amounts)]  # fmt: skip
    try:
        milestone_plan_set(application=winner, actor=alice, milestones=plan)
    except WotuError:
        assert sum(amounts) > 1_000_000
    else:
        assert sum(m.amount for m in winner.milestones.all()) == sum(amounts) <= 1_000_000
