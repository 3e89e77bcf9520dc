"""A programme's funding rule (where the budget runs out) as an officer sets and reads it, and
the requested total read like any amount (thousands separators, full-width digits)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from wotu.core.models import AuditEvent, User
from wotu.programmes.models import Programme
from wotu.programmes.pipeline import funding_problems, funding_rule
from wotu.programmes.services import Invalid, application_draft_save, programme_update
from wotu.programmes.services import programme_create as create
from wotu.programmes.tests.factories import programme_make
from wotu.programmes.tests.test_services import (
    BUDGET,
    complete_draft,
    fields_of,
    open_call,
    programme_values,
)

# -- the rule ------------------------------------------------------------------------------------

VALID = [
    ({"partial": "none"}, ("none", Decimal("0.5"))),
    ({"partial": "skip"}, ("skip", Decimal("0.5"))),
    ({"partial": "partial"}, ("partial", Decimal("0.5"))),
    ({"partial": "partial", "min_share": "0.6"}, ("partial", Decimal("0.6"))),
    ({"partial": "partial", "min_share": "1"}, ("partial", Decimal("1"))),
    ({}, ("none", Decimal("0.5"))),
]
INVALID = [
    ("none", "funding"),  # not an object
    ({"partial": "all"}, "funding.partial"),
    ({"partial": "none", "extra": 1}, "funding"),
    ({"partial": "partial", "min_share": "0"}, "funding.min_share"),
    ({"partial": "partial", "min_share": "1.5"}, "funding.min_share"),
    ({"partial": "partial", "min_share": "half"}, "funding.min_share"),
    ({"partial": "partial", "min_share": 0.5}, "funding.min_share"),  # a string, not a number
    ({"partial": "skip", "min_share": "0.5"}, "funding.min_share"),  # only for partial
]


@pytest.mark.parametrize(("funding", "expected"), VALID)
def test_a_valid_funding_rule_reads_as_its_rule_and_minimum_share(
    funding: dict[str, Any], expected: tuple[str, Decimal]
) -> None:
    assert funding_problems(funding) == []
    assert funding_rule(funding=funding) == expected


@pytest.mark.parametrize(("funding", "field"), INVALID)
def test_an_invalid_funding_rule_is_refused_naming_the_part_that_is_wrong(
    funding: Any, field: str
) -> None:
    problems = funding_problems(funding)
    assert [p.field for p in problems] == [field]
    assert not problems[0].message_zh.isascii() and problems[0].message_en.isascii()


def test_a_new_programme_stops_funding_where_the_budget_runs_out_by_default(
    alice: User,
) -> None:
    programme = create(actor=alice, **programme_values())
    programme.refresh_from_db()
    assert programme.funding == {"partial": "none"}


def test_an_officer_sets_partial_funding_and_the_event_records_it(alice: User) -> None:
    rule = {"partial": "partial", "min_share": "0.6"}
    programme = create(actor=alice, **programme_values(funding=rule))
    programme.refresh_from_db()
    assert programme.funding == rule
    event = AuditEvent.objects.get(action="programme.create")
    assert event.data["funding"] == rule


def test_a_programme_with_an_unknown_funding_rule_is_not_saved(alice: User) -> None:
    with pytest.raises(Invalid) as exc:
        create(actor=alice, **programme_values(funding={"partial": "lottery"}))
    assert fields_of(exc) == {"funding.partial"}
    assert not Programme.objects.filter(code="qz-talent-2026").exists()


def test_updating_a_programme_checks_the_funding_rule_too(alice: User) -> None:
    programme = programme_make()
    with pytest.raises(Invalid) as exc:
        programme_update(
            actor=alice, programme=programme, funding={"partial": "partial", "min_share": "2"}
        )
    assert fields_of(exc) == {"funding.min_share"}
    programme_update(actor=alice, programme=programme, funding={"partial": "skip"})
    programme.refresh_from_db()
    assert programme.funding == {"partial": "skip"}


# -- the programme form and page -----------------------------------------------------------------


def _form_data(**extra: str) -> dict[str, Any]:
    return {
        "code": "gz-joint-2026", "title": "穗港澳联合资助", "title_en": "GZ-HK-MO joint",
        "year": "2026", "budget": "60000000", "kinds": ["university"], "regions": ["CN", "HK"],
        "pipeline": '[{"kind": "professional", "panel_size": 1, "max_load": 5, "pass_rule":'
        ' {"top_n": 3}, "rubric": [{"code": "q", "label_zh": "质量", "label_en": "Quality",'
        ' "weight": "1", "min": 0, "max": 100}]}, {"kind": "notice"}, {"kind": "committee"}]',
        **extra,
    }  # fmt: skip


def test_the_programme_form_saves_partial_funding_with_its_minimum_share(
    client: Client, alice: User
) -> None:
    client.force_login(alice)
    data = _form_data(funding_partial="partial", funding_min_share="0.4")
    response = client.post("/programmes/new/", data)
    assert response.status_code == 302
    programme = Programme.objects.get(code="gz-joint-2026")
    assert programme.funding == {"partial": "partial", "min_share": "0.4"}


def test_the_programme_form_shows_a_bad_minimum_share_next_to_its_field(
    client: Client, alice: User
) -> None:
    client.force_login(alice)
    response = client.post(
        "/programmes/new/", _form_data(funding_partial="partial", funding_min_share="1.2")
    )
    assert response.status_code == 200
    assert "funding_min_share" in response.context["form"].errors
    assert not Programme.objects.filter(code="gz-joint-2026").exists()


@pytest.mark.parametrize(
    ("funding", "words"),
    [
        ({"partial": "none"}, "no partial funding"),
        ({"partial": "skip"}, "is passed over"),
        ({"partial": "partial", "min_share": "0.6"}, "at least 60% of its request"),
    ],
)
def test_the_programme_page_explains_the_tie_rule_and_its_funding_rule(
    client: Client, alice: User, funding: dict[str, str], words: str
) -> None:
    programme = programme_make(funding=funding)
    client.force_login(alice)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/programmes/{programme.pk}/").content.decode()
    assert "the earlier submission" in page  # the tie rule
    assert words in page


# -- the requested total read like any amount ----------------------------------------------------


@pytest.mark.parametrize(
    "requested", ["200,000.00", "２００，０００.００", "２００000.00", " 200000 "]
)
def test_a_requested_total_with_separators_or_full_width_digits_is_saved_as_an_amount(
    dave: User, requested: str
) -> None:
    call = open_call()
    application = complete_draft(dave, call, requested=requested)
    application.refresh_from_db()
    assert application.requested == Decimal("200000.00")
    assert application.budget == BUDGET


@pytest.mark.parametrize("requested", ["abc", "1.2.3", "-5", "12.345"])
def test_a_requested_total_that_is_not_an_amount_is_a_field_error_not_a_crash(
    dave: User, requested: str
) -> None:
    call = open_call()
    with pytest.raises(Invalid) as exc:
        application_draft_save(
            actor=dave, call=call, title="项目", budget=BUDGET, requested=requested
        )
    assert "budget.total" in fields_of(exc)
