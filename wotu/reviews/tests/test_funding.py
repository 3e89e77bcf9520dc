"""Closing the last scored stage draws the funding line by the programme's funding rule: stop
where the budget runs out, skip a request that does not fit, or fund the first one that does
not fit in part."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Application, Status
from wotu.reviews.services import stage_assign, stage_close
from wotu.reviews.tests.test_stages import (
    _marks,
    affirm_and_score_all,
    expert_users,
    first_rubric,
    review_call,
)

ONE_STAGE: list[dict[str, Any]] = [
    {"kind": "professional", "panel_size": 2, "max_load": 10,
     "rubric": first_rubric(), "pass_rule": {"min_score": 0}},
    {"kind": "notice"},
    {"kind": "committee"},
]  # fmt: skip

K = Decimal(1000)
# budget 500,000; requests in rank order; funding rule → (status, proposed) per rank
CASES = [
    pytest.param(
        [200, 200, 200], {"partial": "none"},
        [("notice", 200), ("notice", 200), ("not_passed", None)], id="none stops at the line",
    ),
    pytest.param(
        [200, 200, 200], {"partial": "partial"},
        [("notice", 200), ("notice", 200), ("notice", 100)], id="partial gives what is left",
    ),
    pytest.param(
        [200, 200, 200], {"partial": "partial", "min_share": "0.6"},
        [("notice", 200), ("notice", 200), ("not_passed", None)],
        id="partial refuses less than the minimum share",
    ),
    pytest.param(
        [200, 350, 100], {"partial": "skip"},
        [("notice", 200), ("not_passed", None), ("notice", 100)],
        id="skip passes over a request that does not fit",
    ),
    pytest.param(
        [200, 350, 100], {"partial": "none"},
        [("notice", 200), ("not_passed", None), ("not_passed", None)],
        id="none leaves everything below the line unfunded",
    ),
]  # fmt: skip


def _closed_with(
    alice: User, applicants: list[Organisation], requests: list[int], funding: dict[str, str]
) -> list[Application]:
    call, stage, apps = review_call(
        applicants=applicants, pipeline=ONE_STAGE, budget=Decimal("500000.00")
    )
    call.programme.funding = funding
    call.programme.save(update_fields=["funding"])
    for app, amount in zip(apps, requests, strict=True):
        app.requested = amount * K
        app.save(update_fields=["requested"])
    expert_users(3)
    stage_assign(stage=stage, actor=alice)
    totals = {app.pk: 90 - 10 * i for i, app in enumerate(apps)}  # rank = list order
    affirm_and_score_all(stage, lambda a: _marks(totals[a.application_id]))
    stage_close(stage=stage, actor=alice)
    for app in apps:
        app.refresh_from_db()
    return apps


@pytest.mark.parametrize(("requests", "funding", "expected"), CASES)
def test_the_funding_line_follows_the_programme_funding_rule(
    alice: User,
    haina: Organisation,
    jiaodong: Organisation,
    hkust: Organisation,
    requests: list[int],
    funding: dict[str, str],
    expected: list[tuple[str, int | None]],
) -> None:
    apps = _closed_with(alice, [haina, jiaodong, hkust], requests, funding)
    assert [(a.status, a.proposed) for a in apps] == [
        (Status(s), None if p is None else p * K) for s, p in expected
    ]
    assert sum((a.proposed or 0 for a in apps), Decimal(0)) <= Decimal("500000.00")


def test_a_partly_funded_application_is_told_it_is_proposed_below_its_request(
    alice: User, haina: Organisation, jiaodong: Organisation, hkust: Organisation
) -> None:
    apps = _closed_with(alice, [haina, jiaodong, hkust], [200, 200, 200], {"partial": "partial"})
    third = apps[2]
    assert third.proposed == Decimal("100000.00") < third.requested
    assert "partial funding" in third.feedback and "部分资助" in third.feedback
    assert "100000.00" in third.feedback and "200000.00" in third.feedback


def test_an_application_skipped_by_the_line_is_told_its_request_does_not_fit(
    alice: User, haina: Organisation, jiaodong: Organisation, hkust: Organisation
) -> None:
    apps = _closed_with(alice, [haina, jiaodong, hkust], [200, 350, 100], {"partial": "skip"})
    assert "below the funding line" in apps[1].feedback
    assert "350000.00" in apps[1].feedback and "资助线以下" in apps[1].feedback
