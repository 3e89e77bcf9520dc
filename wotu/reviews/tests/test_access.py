"""Who may open what in the review process: every route, web and API, for every persona.

carol and olga are experts assigned to the same two applications; carol has affirmed "no
conflict" for the second only. An expert gets 404 for anyone else's assignment, and for the
full application (and its files and scoring form) before affirming.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from wotu.conftest import _user
from wotu.core.models import User
from wotu.core.tests.access import SIGN_IN, access_cases, answer_assert, persona_client
from wotu.organisations.models import Organisation
from wotu.programmes.models import Attachment
from wotu.reviews.models import Assignment, Conflict, ConflictSource
from wotu.reviews.services import assignment_declare, stage_assign
from wotu.reviews.tests import test_api as api_tests
from wotu.reviews.tests.test_stages import expert_make, review_call

if hasattr(api_tests, "urlpatterns"):  # the API router is not mounted in wotu/api.py yet
    pytestmark = pytest.mark.urls("wotu.reviews.tests.test_api")

PERSONAS = ["anonymous", "alice", "bob", "carol", "olga", "dave", "erin", "frank", "gina"]


@pytest.fixture
def olga(db: None) -> User:
    return _user("olga", "expert")


@pytest.fixture
def world(
    settings: Any, tmp_path: Path, alice: User, carol: User, olga: User,
    haina: Organisation, jiaodong: Organisation, hkust: Organisation,
) -> dict[str, int]:  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    _, stage, (first, second) = review_call(applicants=[haina, jiaodong], panel=2)
    expert_make(user=carol, code="E-CAROL")
    expert_make(user=olga, code="E-OLGA")
    hk = expert_make(organisation=hkust, region="HK", admitted=False)
    stage_assign(stage=stage, actor=alice)
    pending = Assignment.objects.get(expert__code="E-CAROL", application=first)
    opened = Assignment.objects.get(expert__code="E-CAROL", application=second)
    assignment_declare(assignment=opened, expert_user=carol, no_conflict=True)
    attachment = Attachment(
        application=second, field="plan", original_name="plan.pdf", kind="pdf",
        content_type="application/pdf", size=8, sha256="0" * 64,
    )  # fmt: skip
    attachment.file.save("plan.pdf", ContentFile(b"%PDF-1.4"), save=True)
    conflict = Conflict.objects.create(
        application=first, expert=hk, source=ConflictSource.PAST_PARTNER
    )
    return {"stage": stage.pk, "expert": hk.pk, "pending": pending.pk, "opened": opened.pk,
            "file": attachment.pk, "conflict": conflict.pk}  # fmt: skip


L, A = SIGN_IN, 401  # to the sign-in page; the API's "authenticate"
ROUTES = {
    "pool": "/reviews/experts/",
    "new expert": "/reviews/experts/new/",
    "expert": "/reviews/experts/{expert}/",
    "missing expert": "/reviews/experts/999999/",
    "admit": "/reviews/experts/{expert}/admit/",
    "organisation search": "/reviews/experts/organisations/?organisation_q=University",
    "stages": "/reviews/stages/",
    "stage": "/reviews/stages/{stage}/",
    "missing stage": "/reviews/stages/999999/",
    "assign (GET)": "/reviews/stages/{stage}/assign/",
    "close (GET)": "/reviews/stages/{stage}/close/",
    "conflicts": "/reviews/stages/{stage}/conflicts/",
    "dismiss": "/reviews/conflicts/{conflict}/dismiss/",
    "mine": "/reviews/mine/",
    "declare pending": "/reviews/assignments/{pending}/",
    "application before affirming": "/reviews/assignments/{pending}/application/",
    "score before affirming": "/reviews/assignments/{pending}/score/",
    "application after affirming": "/reviews/assignments/{opened}/application/",
    "file after affirming": "/reviews/assignments/{opened}/files/{file}/",
    "score after affirming": "/reviews/assignments/{opened}/score/",
    "missing assignment": "/reviews/assignments/999999/",
    "api pool": "/api/reviews/experts",
    "api expert": "/api/reviews/experts/{expert}",
    "api stage": "/api/reviews/stages/{stage}",
    "api conflicts": "/api/reviews/stages/{stage}/conflicts",
    "api results": "/api/reviews/stages/{stage}/results",
    "api mine": "/api/reviews/assignments",
    "api application before": "/api/reviews/assignments/{pending}/application",
    "api application after": "/api/reviews/assignments/{opened}/application",
}
# persona:                       anon alice bob carol olga dave erin frank gina
ACCESS: dict[str, list[Any]] = {
    "pool":                         [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "new expert":                   [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "expert":                       [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "missing expert":               [L, 404, 403, 403, 403, 403, 403, 403, 404],
    "admit":                        [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "organisation search":          [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "stages":                       [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "stage":                        [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "missing stage":                [L, 404, 403, 403, 403, 403, 403, 403, 404],
    "assign (GET)":                 [L, 405, 405, 405, 405, 405, 405, 405, 405],
    "close (GET)":                  [L, 405, 405, 405, 405, 405, 405, 405, 405],
    "conflicts":                    [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "dismiss":                      [L, 200, 403, 403, 403, 403, 403, 403, 200],
    "mine":                         [L, 403, 403, 200, 200, 403, 403, 403, 403],
    "declare pending":              [L, 403, 403, 200, 404, 403, 403, 403, 403],
    "application before affirming": [L, 403, 403, 404, 404, 403, 403, 403, 403],
    "score before affirming":       [L, 403, 403, 404, 404, 403, 403, 403, 403],
    "application after affirming":  [L, 403, 403, 200, 404, 403, 403, 403, 403],
    "file after affirming":         [L, 403, 403, 200, 404, 403, 403, 403, 403],
    "score after affirming":        [L, 403, 403, 200, 404, 403, 403, 403, 403],
    "missing assignment":           [L, 403, 403, 404, 404, 403, 403, 403, 403],
    "api pool":                     [A, 200, 403, 403, 403, 403, 403, 403, 200],
    "api expert":                   [A, 200, 403, 403, 403, 403, 403, 403, 200],
    "api stage":                    [A, 200, 403, 403, 403, 403, 403, 403, 200],
    "api conflicts":                [A, 200, 403, 403, 403, 403, 403, 403, 200],
    "api results":                  [A, 200, 403, 403, 403, 403, 403, 403, 200],
    "api mine":                     [A, 403, 403, 200, 200, 403, 403, 403, 403],
    "api application before":       [A, 403, 403, 404, 404, 403, 403, 403, 403],
    "api application after":        [A, 403, 403, 200, 404, 403, 403, 403, 403],
}  # fmt: skip
CASES = access_cases(personas=PERSONAS, table=ACCESS)


@pytest.mark.parametrize(("route", "persona", "expected"), CASES)
def test_every_review_route_answers_every_persona_as_the_role_table_says(
    request: pytest.FixtureRequest, world: dict[str, int], route: str, persona: str, expected: Any
) -> None:
    response = persona_client(request=request, persona=persona).get(ROUTES[route].format(**world))
    answer_assert(response=response, expected=expected)


# -- writes ------------------------------------------------------------------------------------

WRITES = {
    "assign": ("/reviews/stages/{stage}/assign/", {"seed": "0"}),
    "close": ("/reviews/stages/{stage}/close/", {}),
    "detect": ("/reviews/stages/{stage}/conflicts/", {}),
    "dismiss": ("/reviews/conflicts/{conflict}/dismiss/", {"reason": "核实无关"}),
    "admit": ("/reviews/experts/{expert}/admit/", {"conditions": ["identity"]}),
    "declare": ("/reviews/assignments/{pending}/", {"declaration": "none"}),
    "score": ("/reviews/assignments/{opened}/score/",
              {"mark_innovation": "80", "mark_feasibility": "80", "mark_team": "80"}),
}  # fmt: skip
# persona:       anon alice bob carol olga dave erin frank   (400: refused by the service)
WRITE_ACCESS: dict[str, list[Any]] = {
    "assign":  [L, 400, 403, 403, 403, 403, 403, 403],
    "close":   [L, 400, 403, 403, 403, 403, 403, 403],
    "detect":  [L, 302, 403, 403, 403, 403, 403, 403],
    "dismiss": [L, 302, 403, 403, 403, 403, 403, 403],
    "admit":   [L, 400, 403, 403, 403, 403, 403, 403],
    "declare": [L, 403, 403, 302, 404, 403, 403, 403],
    "score":   [L, 403, 403, 302, 404, 403, 403, 403],
}  # fmt: skip
WRITE_CASES = access_cases(personas=PERSONAS[:-1], table=WRITE_ACCESS)


@pytest.mark.parametrize(("write", "persona", "expected"), WRITE_CASES)
def test_every_review_action_is_refused_to_the_wrong_persona(
    request: pytest.FixtureRequest, world: dict[str, int], write: str, persona: str, expected: Any
) -> None:
    url, data = WRITES[write]
    response = persona_client(request=request, persona=persona).post(url.format(**world), data)
    answer_assert(response=response, expected=expected)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 401), ("alice", 403), ("bob", 403), ("carol", 200), ("olga", 404),
     ("dave", 403), ("frank", 403)],
)  # fmt: skip
def test_only_the_assigned_expert_scores_through_the_api(
    request: pytest.FixtureRequest, world: dict[str, int], persona: str, expected: int
) -> None:
    response = persona_client(request=request, persona=persona).post(
        f"/api/reviews/assignments/{world['opened']}/score",
        '{"marks": {"innovation": 80, "feasibility": 80, "team": 80}}',
        content_type="application/json",
    )
    assert response.status_code == expected
