"""The committee decision: only after the notice window and every objection are closed; it
fixes the funded list and amounts as awards, within the programme budget."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Application, Award, CallStatus, Status
from wotu.reviews.decision import decision_record, funded_list
from wotu.reviews.models import Decision, Notice
from wotu.reviews.notice import (
    Refused,
    notice_publish,
    objection_file,
    objection_receipt,
    objection_resolve,
)
from wotu.reviews.tests.test_notice import AFTER, INSIDE, PUBLISHED, call_on_notice_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def notice(haina: Organisation, jiaodong: Organisation, alice: User) -> Notice:
    call, _ = call_on_notice_stage([haina, jiaodong], amounts=("300000.00", "200000.00",
                                                               "100000.00"))  # fmt: skip
    return notice_publish(call=call, actor=alice, published_at=PUBLISHED)


def apps(notice: Notice) -> list[Application]:
    return list(notice.call.applications.filter(status=Status.NOTICE).order_by("reference"))


def object_to(notice: Notice, application: Application | None, contact: str = "13812345678"):
    return objection_file(
        notice=notice, name="李明", contact=contact, application=application,
        text="申报单位的财务数据与年报不符，请核实。", now=INSIDE,
    )  # fmt: skip


def test_the_decision_funds_every_project_on_notice_at_its_proposed_amount(
    notice: Notice, alice: User
) -> None:
    decision = decision_record(
        call=notice.call, actor=alice, minutes="2026 年第 3 次党组会", now=AFTER
    )
    call = notice.call
    call.refresh_from_db()
    assert call.status == CallStatus.DECIDED and decision.recorded_by == alice
    assert [a.amount for a in Award.objects.order_by("application__reference")] == [
        Decimal("300000.00"),
        Decimal("200000.00"),
        Decimal("100000.00"),
    ]
    statuses = set(call.applications.values_list("status", flat=True))
    assert statuses == {Status.FUNDED, Status.NOT_PASSED}
    assert sum(r.amount for r in funded_list(call=call)) == Decimal("600000.00")
    event = AuditEvent.objects.get(action="decision.record")
    assert event.data["funded"] == 3 and event.data["total"] == "600000.00"
    assert AuditEvent.objects.filter(action="application.status").count() == 3
    assert audit_verify() is None


def test_the_decision_cannot_be_recorded_inside_the_window(notice: Notice, alice: User) -> None:
    with pytest.raises(WotuError) as refused:
        decision_record(call=notice.call, actor=alice, minutes="纪要", now=INSIDE)
    assert "2026-06-05 23:59" in refused.value.zh and "until" in refused.value.en
    assert not Decision.objects.exists() and not Award.objects.exists()


def test_the_decision_waits_for_every_objection_and_names_the_open_ones(
    notice: Notice, alice: User
) -> None:
    first = object_to(notice, apps(notice)[0])
    second = object_to(notice, None, contact="li@example.cn")
    objection_resolve(objection=first, actor=alice, outcome="dismissed", resolution="不成立。")
    with pytest.raises(WotuError) as refused:
        decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER)
    assert objection_receipt(objection=second) in refused.value.en
    assert objection_receipt(objection=first) not in refused.value.en
    assert not Decision.objects.exists()


def test_an_upheld_objection_keeps_its_project_from_funding(notice: Notice, alice: User) -> None:
    target = apps(notice)[1]
    objection = object_to(notice, target)
    objection_resolve(objection=objection, actor=alice, outcome="upheld", resolution="情况属实。")
    decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER)
    target.refresh_from_db()
    assert target.status == Status.NOT_FUNDED and not Award.objects.filter(application=target)
    assert "upheld" in target.feedback
    assert Award.objects.count() == 2


def test_amounts_may_be_lowered_but_never_raised(notice: Notice, alice: User) -> None:
    first, second, _ = apps(notice)
    with pytest.raises(WotuError, match="at most the proposed"):
        decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER,
                        amounts={second.reference: "200000.01"})  # fmt: skip
    with pytest.raises(WotuError, match="names no application"):
        decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER,
                        amounts={"NOPE-1": "1"})  # fmt: skip
    decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER,
                    amounts={first.reference: "250000.004"})  # fmt: skip
    assert Award.objects.get(application=first).amount == Decimal("250000.00")


def test_the_funded_total_never_exceeds_the_programme_budget(notice: Notice, alice: User) -> None:
    programme = notice.call.programme
    programme.budget = Decimal("599999.99")
    programme.save()
    with pytest.raises(WotuError) as refused:
        decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER)
    assert "600000.00" in refused.value.zh and "599999.99" in refused.value.en
    assert not Award.objects.exists()
    notice.call.refresh_from_db()
    assert notice.call.status == CallStatus.NOTICE


def test_a_decision_needs_minutes_and_is_recorded_once(notice: Notice, alice: User) -> None:
    with pytest.raises(WotuError, match="minutes"):
        decision_record(call=notice.call, actor=alice, minutes="  ", now=AFTER)
    decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER)
    with pytest.raises(WotuError, match="already decided"):
        decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER)


def test_no_decision_without_a_notice(alice: User, haina: Organisation) -> None:
    call, _ = call_on_notice_stage([haina])
    with pytest.raises(WotuError, match="not on public notice"):
        decision_record(call=call, actor=alice, minutes="纪要", now=AFTER)


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_a_bureau_officer_records_the_decision(
    request: pytest.FixtureRequest, notice: Notice, persona: str
) -> None:
    with pytest.raises(Refused):
        decision_record(call=notice.call, actor=request.getfixturevalue(persona), minutes="纪要",
                        now=AFTER)  # fmt: skip


def test_no_objection_is_accepted_once_the_call_is_decided(notice: Notice, alice: User) -> None:
    decision_record(call=notice.call, actor=alice, minutes="纪要", now=AFTER)
    with pytest.raises(WotuError, match="decided"):
        object_to(notice, None)


AMOUNTS = st.lists(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900000"), places=2),
    min_size=1, max_size=6,
)  # fmt: skip


@given(amounts=AMOUNTS, budget=st.decimals(min_value=1, max_value=3_000_000, places=2))
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
def test_awards_never_exceed_the_budget_and_match_the_funded_list(
    amounts: list[Decimal], budget: Decimal, alice: User, haina: Organisation
) -> None:
    call, _ = call_on_notice_stage([haina], amounts=tuple(str(a) for a in amounts))
    call.programme.budget = budget
    call.programme.save()
    notice_publish(call=call, actor=alice, published_at=PUBLISHED)
    try:
        decision_record(call=call, actor=alice, minutes="纪要", now=AFTER)
    except WotuError:
        assert sum(amounts) > budget
        assert not Award.objects.filter(application__call=call).exists()
    else:
        awarded = [a.amount for a in Award.objects.filter(application__call=call)]
        assert sum(awarded) == sum(amounts) <= budget
