"""The expert form's organisation field: a search box instead of a list of the whole registry.
An officer types a name, USCC or registration number; up to 20 matches are suggested; the form
posts the chosen organisation's id, which the server checks."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from wotu.core.models import User
from wotu.organisations.models import Kind, Organisation
from wotu.reviews.models import Expert
from wotu.reviews.selectors import SUGGESTIONS, organisation_suggest_for_user
from wotu.reviews.tests.test_stages import expert_make

pytestmark = pytest.mark.django_db
NEW = {"code": "E200", "name": "李工", "region": "CN", "fields_": ["machinery"], "active": "on"}


@pytest.fixture
def registry() -> list[Organisation]:
    """Thirty universities whose names share 海洋, so a search finds more than 20."""
    return Organisation.objects.bulk_create(
        Organisation(kind=Kind.UNIVERSITY, name=f"海洋大学{i:02d}", name_en=f"Ocean U {i:02d}",
                     local_id=f"OU-{i:03d}")
        for i in range(30)
    )  # fmt: skip


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def suggested(response: object) -> list[int]:
    html = response.content.decode()  # type: ignore[attr-defined]
    return [int(pk) for pk in re.findall(r'data-testid="org-suggestion" data-pk="(\d+)"', html)]


def test_the_form_offers_a_search_box_not_a_list_of_every_organisation(
    alice: User, registry: list[Organisation]
) -> None:
    page = signed_in(alice).get("/reviews/experts/new/").content.decode()
    assert '<select name="organisation"' not in page
    assert 'name="organisation_q"' in page and 'type="hidden" name="organisation"' in page
    assert registry[0].name not in page


def test_typing_suggests_at_most_twenty_matches(alice: User, registry: list[Organisation]) -> None:
    response = signed_in(alice).get("/reviews/experts/organisations/?organisation_q=海洋")
    found = suggested(response)
    assert len(found) == SUGGESTIONS == 20
    assert set(found) <= {o.pk for o in registry}


@pytest.mark.parametrize("typed", ["haina_uscc", "HK-UNI-0001", "hkust_name", "Hong Kong Univ"])
def test_a_uscc_registration_number_or_name_finds_the_organisation_first(
    alice: User, haina: Organisation, hkust: Organisation, typed: str
) -> None:
    text = {"haina_uscc": haina.uscc, "hkust_name": hkust.name}.get(typed, typed)
    assert text is not None
    wanted = haina if typed == "haina_uscc" else hkust
    assert organisation_suggest_for_user(user=alice, q=text)[0] == wanted


def test_typing_nothing_suggests_nothing(alice: User, registry: list[Organisation]) -> None:
    assert organisation_suggest_for_user(user=alice, q="   ") == []


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_officers_may_search_the_registry_from_the_expert_form(
    request: pytest.FixtureRequest, persona: str, registry: list[Organisation]
) -> None:
    user = request.getfixturevalue(persona)
    response = signed_in(user).get("/reviews/experts/organisations/?organisation_q=海洋")
    assert response.status_code == 403
    picked = signed_in(user).get(f"/reviews/experts/organisations/?pick={registry[0].pk}")
    assert picked.status_code == 403


def test_picking_a_suggestion_puts_its_id_in_the_hidden_field(
    alice: User, haina: Organisation
) -> None:
    html = signed_in(alice).get(f"/reviews/experts/organisations/?pick={haina.pk}")
    text = html.content.decode()
    assert f'name="organisation" id="id_organisation-value" value="{haina.pk}"' in text
    assert haina.name in text
    missing = signed_in(alice).get("/reviews/experts/organisations/?pick=999999")
    assert missing.status_code == 404


def test_the_form_posts_the_chosen_id_and_the_expert_belongs_to_it(
    alice: User, haina: Organisation
) -> None:
    response = signed_in(alice).post(
        "/reviews/experts/new/", {**NEW, "organisation": haina.pk, "organisation_q": haina.name}
    )
    assert response.status_code == 302
    assert Expert.objects.get(code="E200").organisation == haina


@pytest.mark.parametrize("posted", ["999999", "abc", ""])
def test_an_organisation_id_that_does_not_exist_is_refused_on_the_server(
    alice: User, posted: str
) -> None:
    response = signed_in(alice).post("/reviews/experts/new/", {**NEW, "organisation": posted})
    assert response.status_code == 400
    assert "organisation" in response.context["form"].errors
    assert not Expert.objects.filter(code="E200").exists()


def test_without_javascript_an_exact_uscc_typed_is_enough(alice: User, haina: Organisation) -> None:
    assert haina.uscc is not None
    response = signed_in(alice).post(
        "/reviews/experts/new/", {**NEW, "organisation": "", "organisation_q": haina.uscc.lower()}
    )
    assert response.status_code == 302
    assert Expert.objects.get(code="E200").organisation == haina


def test_typed_text_that_names_several_organisations_must_be_picked_from_the_suggestions(
    alice: User, registry: list[Organisation]
) -> None:
    response = signed_in(alice).post(
        "/reviews/experts/new/", {**NEW, "organisation": "", "organisation_q": "海洋"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="海洋"' in page  # what was typed stays in the box


def test_editing_an_expert_shows_the_current_organisation_in_the_box(
    alice: User, hkust: Organisation
) -> None:
    expert = expert_make(organisation=hkust, region="HK")
    page = signed_in(alice).get(f"/reviews/experts/{expert.pk}/").content.decode()
    assert f'name="organisation" id="id_organisation-value" value="{hkust.pk}"' in page
    assert f'value="{hkust.name}"' in page
