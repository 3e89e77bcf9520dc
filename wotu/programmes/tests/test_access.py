"""Every programme route × every persona: who gets the page (200/redirect after a POST), who is
refused for their role (403), who is told nothing exists (404), and the anonymous visitor, who is
sent to sign in. An expert sees no application here (the reviews app opens assigned ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.core.tests.access import access_cases, answer_assert, persona_client, route_answer
from wotu.programmes.models import Application, Call, CallStatus
from wotu.programmes.services import application_draft_save, application_submit
from wotu.programmes.tests.factories import call_make, first_scored_stage
from wotu.programmes.tests.test_services import complete_draft, open_call

PERSONAS = ("alice", "bob", "carol", "dave", "erin", "frank", "anonymous")


@dataclass
class World:
    call: Call
    draft_call: Call
    submitted: Application
    draft: Application


@pytest.fixture
def world(dave: User, erin: User, alice: User, bob: User, carol: User, frank: User) -> World:
    call = open_call()
    submitted = application_submit(actor=dave, application=complete_draft(dave, call))
    draft = application_draft_save(actor=dave, call=call, title="第二个项目")
    draft_call = call_make(programme=call.programme, status=CallStatus.DRAFT)
    return World(call=call, draft_call=draft_call, submitted=submitted, draft=draft)


def _url(world: World, route: str) -> tuple[str, str]:
    """(method, url) of a route in the world."""
    programme = world.call.programme_id
    urls: dict[str, tuple[str, str, list[Any]]] = {
        "list": ("get", "programmes:list", []),
        "programme_create": ("get", "programmes:programme_create", []),
        "programme": ("get", "programmes:programme", [programme]),
        "call_create": ("get", "programmes:call_create", [programme]),
        "call": ("get", "programmes:call", [world.call.pk]),
        "draft_call": ("get", "programmes:call", [world.draft_call.pk]),
        "call_open": ("post", "programmes:call_open", [world.draft_call.pk]),
        "call_close": ("post", "programmes:call_close", [world.call.pk]),
        "check": ("get", "programmes:check", [world.submitted.pk]),
        "open": ("get", "programmes:open", []),
        "mine": ("get", "programmes:mine", []),
        "apply": ("get", "programmes:apply", [world.call.pk]),
        "application": ("get", "programmes:application", [world.submitted.pk]),
        "edit": ("get", "programmes:edit", [world.draft.pk]),
        "withdraw": ("get", "programmes:withdraw", [world.draft.pk]),
        "file": ("get", "programmes:file", [world.submitted.pk, "plan"]),
    }
    method, name, args = urls[route]
    return method, reverse(name, args=args)


# route: expected status for alice, bob, carol, dave, erin, frank, anonymous ("login" = sent to
# sign in). 302 after a POST is the officer's success (back to the call page).
TABLE: dict[str, tuple[Any, ...]] = {
    "list": (200, 200, 403, 403, 403, 403, "login"),
    "programme_create": (200, 403, 403, 403, 403, 403, "login"),
    "programme": (200, 200, 404, 404, 404, 404, "login"),
    "call_create": (200, 403, 404, 404, 404, 404, "login"),
    "call": (200, 200, 200, 200, 200, 200, "login"),
    "draft_call": (200, 200, 404, 404, 404, 404, "login"),
    "call_open": (302, 403, 404, 404, 404, 404, "login"),
    "call_close": (302, 403, 403, 403, 403, 403, "login"),
    "check": (200, 403, 404, 403, 404, 404, "login"),
    "open": (200, 200, 200, 200, 200, 200, "login"),
    "mine": (403, 403, 403, 200, 200, 403, "login"),
    "apply": (403, 403, 403, 200, 200, 403, "login"),
    "application": (200, 200, 404, 200, 404, 404, "login"),
    "edit": (403, 403, 404, 200, 404, 404, "login"),
    "withdraw": (403, 403, 404, 200, 404, 404, "login"),
    "file": (200, 200, 404, 200, 404, 404, "login"),
}
CASES = access_cases(personas=PERSONAS, table=TABLE)


@pytest.mark.parametrize(("route", "persona", "expected"), CASES)
def test_each_route_answers_each_persona_as_its_role_allows(
    request: pytest.FixtureRequest, world: World, route: str, persona: str, expected: Any
) -> None:
    method, url = _url(world, route)
    response = route_answer(client=persona_client(request=request, persona=persona),
                            method=method, url=url)  # fmt: skip
    answer_assert(response=response, expected=expected)


def test_the_table_covers_every_programme_route() -> None:
    from wotu.programmes.urls import urlpatterns

    names = {pattern.name for pattern in urlpatterns}
    covered = {route for route in TABLE if route != "draft_call"} | {"call"}
    assert names == covered


def test_an_applicant_reads_stage_feedback_but_never_who_reviewed_it(
    world: World, client: Client, dave: User, jiaodong: Any
) -> None:
    from decimal import Decimal

    from wotu.reviews.models import Expert, StageResult

    Expert.objects.create(
        user=User.objects.get(username="carol"), code="E001", name="陈专家", organisation=jiaodong
    )
    StageResult.objects.create(
        stage=first_scored_stage(world.call), application=world.submitted, mean=Decimal("81.5"),
        rank=3, passed=True, feedback="创新性突出，建议细化产业化路径",
    )  # fmt: skip
    client.login(username="dave", password=PASSWORD)
    detail = client.get(_url(world, "application")[1]).content.decode()
    assert "创新性突出" in detail
    for route in ("application", "mine"):
        page = client.get(_url(world, route)[1]).content.decode()
        assert "陈专家" not in page and "carol" not in page and "E001" not in page
