"""Every finance route × every persona: who gets the page (200, or 302 after a POST the service
answered), who is refused for their role (403), who is told nothing exists (404), and the
anonymous visitor, who is sent to sign in — except on the public open data pages.

Personas: alice (bureau officer), bob (finance officer, prepared the batch), fiona (a second
finance officer), carol (expert), dave (applicant of Haina, which was paid), erin (applicant
of Jiaodong), frank (bank officer), and the anonymous visitor."""

# The world fixtures come from test_reports; pytest passes them in by parameter name.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.core.tests.access import access_cases, answer_assert, persona_client, route_answer
from wotu.ledger.tests.test_reports import World, committed, fiona, paid  # noqa: F401 - fixtures

PERSONAS = ("alice", "bob", "fiona", "carol", "dave", "erin", "frank", "anonymous")


@pytest.fixture
def world(paid: World, alice: User, carol: User, dave: User, erin: User, frank: User) -> World:
    return paid


def _url(world: World, route: str) -> tuple[str, str]:
    """(method, url) of a route in the world."""
    assert world.batch is not None
    batch, haina = world.batch.pk, world.haina.payee_id
    urls: dict[str, tuple[str, str, list[Any]]] = {
        "dashboard": ("get", "ledger:dashboard", []),
        "batches": ("get", "ledger:batches", []),
        "batch_prepare": ("get", "ledger:batch_prepare", []),
        "batch": ("get", "ledger:batch", [batch]),
        "batch_submit": ("post", "ledger:batch_submit", [batch]),
        "batch_approve": ("post", "ledger:batch_approve", [batch]),
        "batch_export": ("post", "ledger:batch_export", [batch]),
        "batch_cancel": ("post", "ledger:batch_cancel", [batch]),
        "batch_file": ("get", "ledger:batch_file", [batch]),
        "batch_return": ("get", "ledger:batch_return", [batch]),
        "fx": ("get", "ledger:fx", []),
        "commitments": ("get", "ledger:commitments", []),
        "commitment": ("get", "ledger:commitment", [world.haina.pk]),
        "commitment_cancel": ("post", "ledger:commitment_cancel", [world.haina.pk]),
        "statements": ("get", "ledger:statements", []),
        "statement": ("get", "ledger:statement", [haina]),
        "open_data": ("get", "ledger:open_data", []),
        "open_data_json": ("get", "ledger:open_data_json", []),
        "open_data_xlsx": ("get", "ledger:open_data_xlsx", []),
    }
    method, name, args = urls[route]
    return method, reverse(name, args=args)


# route: expected for alice, bob, fiona, carol, dave, erin, frank, anonymous. "login" = sent to
# sign in; "own" = an applicant sent on to its own organisation's statement. A 302 after a POST
# is the finance officer's answer from the service (here: the batch is already settled). bob
# prepared the batch, so he is refused its approval (403) like a role that may not approve.
TABLE: dict[str, tuple[Any, ...]] = {
    "dashboard": (200, 200, 200, 403, 403, 403, 403, "login"),
    "batches": (200, 200, 200, 403, 403, 403, 403, "login"),
    "batch_prepare": (403, 200, 200, 403, 403, 403, 403, "login"),
    "batch": (200, 200, 200, 404, 404, 404, 404, "login"),
    "batch_submit": (403, 302, 302, 404, 404, 404, 404, "login"),
    "batch_approve": (403, 403, 302, 404, 404, 404, 404, "login"),
    "batch_export": (403, 302, 302, 404, 404, 404, 404, "login"),
    "batch_cancel": (403, 302, 302, 404, 404, 404, 404, "login"),
    "batch_file": (403, 200, 200, 404, 404, 404, 404, "login"),
    "batch_return": (403, 200, 200, 404, 404, 404, 404, "login"),
    "fx": (200, 200, 200, 403, 403, 403, 403, "login"),
    "commitments": (200, 200, 200, 403, 200, 200, 403, "login"),
    "commitment": (200, 200, 200, 404, 200, 404, 404, "login"),
    # an applicant sees its own commitment but may not cancel it
    "commitment_cancel": (403, 302, 302, 404, 403, 404, 404, "login"),
    "statements": (200, 200, 200, 403, "own", "own", 403, "login"),
    "statement": (200, 200, 200, 404, 200, 404, 404, "login"),
    "open_data": (200, 200, 200, 200, 200, 200, 200, 200),
    "open_data_json": (200, 200, 200, 200, 200, 200, 200, 200),
    "open_data_xlsx": (200, 200, 200, 200, 200, 200, 200, 200),
}
CASES = access_cases(personas=PERSONAS, table=TABLE)


@pytest.mark.parametrize(("route", "persona", "expected"), CASES)
def test_each_route_answers_each_persona_as_its_role_allows(
    request: pytest.FixtureRequest, world: World, route: str, persona: str, expected: Any
) -> None:
    method, url = _url(world, route)
    response = route_answer(client=persona_client(request=request, persona=persona),
                            method=method, url=url)  # fmt: skip
    if expected == "own":
        own = User.objects.get(username=persona).organisation_id
        assert response.status_code == 302
        assert response["Location"] == reverse("ledger:statement", args=[own])
    else:
        answer_assert(response=response, expected=expected)


def test_the_table_covers_every_ledger_route() -> None:
    from wotu.ledger.urls import urlpatterns

    assert {pattern.name for pattern in urlpatterns} == set(TABLE)


def test_an_applicant_sees_only_its_own_commitments_in_the_list(
    world: World, client: Client
) -> None:
    client.login(username="erin", password=PASSWORD)
    page = client.get(reverse("ledger:commitments")).content.decode()
    assert "胶东生物科技有限公司" in page
    assert "海纳机器人有限公司" not in page and "香港科技大学" not in page


def test_the_preparer_is_refused_approval_and_no_approval_is_recorded(
    committed: World, client: Client, bob: User
) -> None:
    from wotu.ledger import payments
    from wotu.ledger.models import Tranche, TrancheStatus

    batch = payments.batch_prepare(
        tranches=list(Tranche.objects.filter(status=TrancheStatus.PAYABLE)), actor=bob, key="k1"
    )
    payments.batch_submit(batch=batch, actor=bob)
    client.login(username="bob", password=PASSWORD)
    response = client.post(reverse("ledger:batch_approve", args=[batch.pk]), {"key": "k2"})
    assert response.status_code == 403
    assert batch.approvals.count() == 0
