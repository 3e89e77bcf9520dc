"""Eligibility rules as a table: organisation × rule → pass/fail and the reason an applicant
reads (in Chinese and English)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from wotu.conftest import facts_row, make_uscc
from wotu.core.errors import WotuError
from wotu.organisations.models import EnterpriseYear, Kind, Organisation, Region
from wotu.programmes.eligibility import eligibility_check, rule_ids


@pytest.fixture
def expired(db: None) -> Organisation:
    """A Jimo manufacturer whose high-tech certificate (2019) ran out in 2021; too big to be a
    tech-based SME and never registered as one."""
    org = Organisation.objects.create(
        kind=Kind.ENTERPRISE, region=Region.MAINLAND, name="即墨重工有限公司",
        uscc=make_uscc(9, "370215"), district_code="370215",
    )  # fmt: skip
    facts = facts_row(
        name="即墨重工有限公司", district_code="370215", employees=900, st_staff=20,
        revenue=Decimal("900000000.00"), hitech_cert_year=2019, hitech_first_cert_year=2019,
    )  # fmt: skip
    EnterpriseYear.objects.create(organisation=org, year=2023, **facts)
    return org


@pytest.fixture
def shenzhen(db: None) -> Organisation:
    return Organisation.objects.create(
        kind=Kind.ENTERPRISE, region=Region.MAINLAND, name="深圳某科技有限公司",
        uscc=make_uscc(10, "440305"), district_code="440305", registered_on=dt.date(2016, 1, 1),
    )  # fmt: skip


TABLE = [
    # organisation, rule, passes, words of the English reason
    ("jiaodong", "tech_sme", True, "number 2023370203A0000002"),
    ("haina", "tech_sme", True, "MOST 2017 No. 115"),  # no number in 2023, but qualifies
    ("expired", "tech_sme", False, "does not qualify it (score"),
    ("hkust", "tech_sme", False, "no yearly facts"),
    ("haina", "hitech_valid", True, "valid through 2024 (covers 2023)"),
    ("jiaodong", "hitech_valid", False, "no high-tech enterprise certificate"),
    ("expired", "hitech_valid", False, "valid through 2021, not in 2023"),
    ("haina", "registered_in_city", True, "Laoshan District (370212)"),
    ("shenzhen", "registered_in_city", False, "outside the city (district code 440305)"),
    ("hkust", "registered_in_city", False, "outside the city"),
    ("hkust", "hkmo_university", True, "Hong Kong or Macao university"),
    ("haina", "hkmo_university", False, "not one"),
]


@pytest.mark.parametrize(("persona", "rule", "passes", "reason"), TABLE)
def test_each_rule_gives_a_verdict_with_a_reason(
    request: pytest.FixtureRequest, persona: str, rule: str, passes: bool, reason: str
) -> None:
    organisation = request.getfixturevalue(persona)
    [result] = eligibility_check(organisation=organisation, rules=[rule])
    assert result.passed is passes
    assert reason in result.reason_en
    assert result.reason_zh and not result.reason_zh.isascii()
    assert result.label_zh and result.label_en


def test_every_rule_has_labels_in_both_languages(haina: Organisation) -> None:
    results = eligibility_check(organisation=haina, rules=rule_ids())
    assert [r.rule for r in results] == rule_ids()


def test_an_unknown_rule_is_named_with_the_known_ones(haina: Organisation) -> None:
    with pytest.raises(WotuError, match="known: tech_sme, hitech_valid"):
        eligibility_check(organisation=haina, rules=["cheap_rent"])
