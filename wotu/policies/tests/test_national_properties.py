"""Invariants of the national policies over random facts, and what their explanations cite.

The spec tables (specs/cn-*.yaml) pin hand-computed cases; these properties check what must hold
for every firm: points within their maxima, monotonic where the rule is monotonic, money within
its bounds, and every failed high-tech condition reported.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.policies.catalog import policy_get
from wotu.policies.engine import PolicyError, evaluate
from wotu.policies.explain import explain_rows, explain_text
from wotu.policies.tests.test_specs import spec_frame

YEAR = 2023
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
MILLION = 1_000_000 * 100  # fen
EDGES = [50 * MILLION, 50 * MILLION + 1, 200 * MILLION, 200 * MILLION + 1]


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def half_up(value: Fraction) -> int:
    """Round a non-negative amount in fen half-up to a whole fen."""
    return int(value + Fraction(1, 2))


def assess(policy_id: str, rows: list[dict[str, Any]], year: int = YEAR) -> dict[str, Any]:
    _, result = evaluate(policy_get(policy_id), spec_frame(rows).lazy(), year=year)
    return {row["uscc"]: row for row in result.iter_rows(named=True)}


money = st.one_of(st.integers(0, 300 * MILLION), st.sampled_from(EDGES))


@st.composite
def tech_sme_firm(draw: st.DrawFn, uscc: str) -> dict[str, Any]:
    employees = draw(st.integers(1, 800))
    revenue = draw(money)
    return {
        "uscc": uscc,
        "year": YEAR,
        "employees": employees,
        "st_staff": draw(st.integers(0, employees)),
        "revenue": yuan(revenue),
        "total_costs": draw(st.one_of(st.none(), money.map(yuan))),
        "total_assets": draw(st.one_of(st.none(), money.map(yuan))),
        "rd_expense": yuan(draw(st.integers(0, revenue + MILLION))),
        "ip_class1": draw(st.integers(0, 3)),
        "ip_class2": draw(st.integers(0, 6)),
        "incident": draw(st.booleans()),
        "hitech_cert_year": draw(st.one_of(st.none(), st.integers(2018, YEAR))),
    }


tech_sme_firms = st.lists(st.integers(0, 10**6), min_size=1, max_size=6, unique=True).flatmap(
    lambda ids: st.tuples(*(tech_sme_firm(f"F{i:07d}") for i in ids))
)


@PROPERTY_SETTINGS
@given(firms=tech_sme_firms)
def test_tech_sme_points_never_exceed_their_maxima_and_the_score_is_their_sum(
    firms: tuple[dict[str, Any], ...],
) -> None:
    rows = assess("cn-tech-sme-2017", list(firms))

    for row in rows.values():
        assert 0 <= row["staff_points"] <= 20
        assert 0 <= row["rd_points"] <= 50
        assert 0 <= row["ip_points"] <= 30
        assert row["score"] == row["staff_points"] + row["rd_points"] + row["ip_points"]
        assert row["qualified"] == (row["direct_qualification"] or row["basic_conditions_met"])


@PROPERTY_SETTINGS
@given(firms=tech_sme_firms, extra=st.lists(st.integers(0, 50 * MILLION), min_size=6, max_size=6))
def test_more_rd_never_lowers_the_rd_points_or_the_tech_sme_score(
    firms: tuple[dict[str, Any], ...], extra: list[int]
) -> None:
    more = [
        firm | {"rd_expense": yuan(int(Fraction(firm["rd_expense"]) * 100) + added)}
        for firm, added in zip(firms, extra, strict=False)
    ]

    before, after = assess("cn-tech-sme-2017", list(firms)), assess("cn-tech-sme-2017", more)

    for uscc, row in before.items():
        assert after[uscc]["rd_points"] >= row["rd_points"]
        assert after[uscc]["score"] >= row["score"]
        assert after[uscc]["qualified"] >= row["qualified"]


# ---- high-tech conditions: an independent oracle -------------------------------------------


def mostly(draw: st.DrawFn, usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
    """A value from ``usual`` four times in five, else from ``other`` — so that firms meeting
    every condition are as common as firms failing some."""
    return draw(usual if draw(st.integers(0, 4)) else other)


@st.composite
def hitech_firm(draw: st.DrawFn, uscc: str) -> list[dict[str, Any]]:
    days = mostly(draw, st.integers(0, 3000), st.integers(3000, 3286))
    employees = draw(st.integers(1, 500))
    firm = {
        "uscc": uscc,
        "registered_on": (dt.date(2015, 1, 1) + dt.timedelta(days=days)).isoformat(),
        "employees": employees,
        "st_staff": mostly(draw, st.integers(-(-employees // 10), employees),
                           st.integers(0, employees)),
        "ip_class1": draw(st.integers(0, 1)),
        "ip_class2": mostly(draw, st.integers(1, 2), st.just(0)),
        "in_hitech_field": mostly(draw, st.sampled_from([None, "true"]), st.just("false")),
        "innovation_score": mostly(draw, st.sampled_from([None, 70.5, 71, 90]),
                                   st.sampled_from([60, 70])),
    }  # fmt: skip
    years = sorted({YEAR, *draw(st.sets(st.sampled_from([2020, 2021, 2022])))})
    return [firm | {"year": year, **hitech_money(draw)} for year in years]


def hitech_money(draw: st.DrawFn) -> dict[str, Any]:
    revenue = draw(money)
    rd = mostly(
        draw,
        st.integers(revenue * 5 // 100, revenue // 10 + 1),
        st.one_of(st.integers(0, revenue // 20), st.just(revenue * 5 // 100)),
    )
    domestic = mostly(draw, st.integers(-(-rd * 3 // 5), rd), st.integers(0, rd))
    hitech = mostly(
        draw,
        st.integers(-(-revenue * 3 // 5), revenue),
        st.one_of(st.none(), st.integers(0, revenue)),
    )
    return {
        "revenue": yuan(revenue),
        "rd_expense": yuan(rd),
        "rd_expense_domestic": yuan(domestic),
        "hitech_revenue": None if hitech is None else yuan(hitech),
        "incident": mostly(draw, st.just(False), st.just(True)),
    }  # fmt: skip


def hitech_failures(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(failed ids, not assessed ids) in article order, from the facts and the measures."""
    last = next(r for r in rows if r["year"] == YEAR)
    window = [r for r in rows if YEAR - 2 <= r["year"] <= YEAR]

    def total(column: str) -> Fraction:
        return sum((Fraction(r[column]) for r in window), Fraction(0))

    revenue, rd, domestic = total("revenue"), total("rd_expense"), total("rd_expense_domestic")
    latest = Fraction(last["revenue"])
    required = Fraction(5, 100) if latest <= 50_000_000 else Fraction(4, 100)
    required = Fraction(3, 100) if latest > 200_000_000 else required
    registered = dt.date.fromisoformat(last["registered_on"])
    hitech = last["hitech_revenue"]
    score = last["innovation_score"]
    checks: list[tuple[str, bool | None]] = [
        ("registered_1y", (dt.date(YEAR, 12, 31) - registered).days >= 365),
        ("core_ip", last["ip_class1"] >= 1 or last["ip_class2"] >= 1),
        ("hitech_field", None if last["in_hitech_field"] is None
         else last["in_hitech_field"] == "true"),
        ("st_staff", last["st_staff"] * 10 >= last["employees"]),
        ("rd_intensity", revenue > 0 and rd / revenue >= required),
        ("domestic_rd", rd > 0 and domestic / rd >= Fraction(60, 100)),
        ("hitech_revenue", hitech is not None and latest > 0
         and Fraction(hitech) / latest >= Fraction(60, 100)),
        ("innovation_score", None if score is None else score > 70),
        ("no_incident", not last["incident"]),
    ]  # fmt: skip
    failed = [cid for cid, met in checks if met is False]
    return failed, [cid for cid, met in checks if met is None]


hitech_firms = st.lists(st.integers(0, 10**6), min_size=1, max_size=5, unique=True).flatmap(
    lambda ids: st.tuples(*(hitech_firm(f"H{i:07d}") for i in ids))
)


@PROPERTY_SETTINGS
@given(firms=hitech_firms)
def test_a_firm_failing_a_hitech_condition_has_its_id_in_failed_conditions_and_is_not_met(
    firms: tuple[list[dict[str, Any]], ...],
) -> None:
    rows = assess("cn-hitech-2016", [row for firm in firms for row in firm])

    for firm in firms:
        failed, not_assessed = hitech_failures(firm)
        row = rows[firm[0]["uscc"]]
        assert row["failed_conditions"] == ";".join(failed)
        assert row["hitech.not_assessed"] == ";".join(not_assessed)
        assert row["conditions_met"] is (not failed)


# ---- super-deduction -------------------------------------------------------------------------


@st.composite
def deduction_firm(draw: st.DrawFn, uscc: str, year: int) -> dict[str, Any]:
    return {
        "uscc": uscc,
        "year": year,
        "rd_expense": yuan(draw(st.integers(0, 10**12))),
        "manufacturing": draw(st.booleans()),
        "tech_sme_number": draw(st.sampled_from(["", f"{year}440111A0032458"])),
        "ic_or_mother_machine": draw(st.sampled_from([None, "true", "false"])),
        "industry": draw(st.sampled_from([None, "制造业", "房地产业", "K", "I65"])),
        "hitech_cert_year": draw(st.one_of(st.none(), st.integers(year - 4, year))),
    }


@PROPERTY_SETTINGS
@given(data=st.data(), year=st.integers(2018, 2030))
def test_the_extra_deduction_is_never_negative_nor_above_the_highest_rate(
    data: st.DataObject, year: int
) -> None:
    ids = data.draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=6, unique=True))
    firms = [data.draw(deduction_firm(f"D{i:07d}", year)) for i in ids]
    parameters = policy_get("cn-rd-super-deduction").parameters
    highest = max(
        Fraction(dated.value)
        for name in parameters.names()
        if name.startswith("rate.")
        for dated in parameters[name].values
    )

    rows = assess("cn-rd-super-deduction", firms, year)

    for firm in firms:
        row = rows[firm["uscc"]]
        base = Fraction(firm["rd_expense"]) * 100
        extra = row["extra_deduction"]
        assert 0 <= extra <= half_up(base * highest)
        # the amount is the shown rate applied exactly (the rate column is only for display)
        assert extra == half_up(base * Fraction(row["rate"]).limit_denominator(10**6))
        assert 0 <= row["tax_saved"] <= half_up(extra * Fraction(25, 100))


# ---- explanations ----------------------------------------------------------------------------


def tech_sme_explanation(firm: dict[str, Any]) -> dict[str, Any]:
    policy = policy_get("cn-tech-sme-2017")
    plan, result = evaluate(policy, spec_frame([firm]).lazy(), year=YEAR)
    return explain_rows(plan, result, uscc=firm["uscc"])


def nodes(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every rule node of an explanation by name (the first, fully explained occurrence)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any]) -> None:
        if node.get("see_above"):
            return
        found.setdefault(node["rule"], node)
        for child in node["rules"]:
            walk(child)

    for output in tree["outputs"]:
        walk(output)
    return found


def test_the_tech_sme_explanation_cites_only_the_band_that_applied_for_each_indicator() -> None:
    # given a firm at 27 % staff, 5.5 % R&D/revenue, 6.1 % R&D/costs and three Class II IP
    firm = {"uscc": "A", "year": YEAR, "st_staff": 27, "rd_expense": "550000", "ip_class2": 3}

    # when its assessment is explained
    tree = tech_sme_explanation(firm)
    by_rule = nodes(tree)

    # then each indicator names exactly the band it fell in, and the IP points cite only the
    # parameter of that band
    staff = by_rule["staff_points"]["branch"]
    assert staff["en"] == "S&T staff / employees in [25%, 30%): 16 points"
    assert staff["zh"] == "科技人员占职工总数比例在 25%（含）至 30% 之间：16 分"
    option_1 = by_rule["tech_sme.rd_points_revenue"]["branch"]
    assert option_1["en"] == "R&D / sales revenue in [5%, 6%): 40 points"
    option_2 = by_rule["tech_sme.rd_points_costs"]["branch"]
    assert option_2["en"] == "R&D / total costs and expenses below 10%: 0 points"
    ip = by_rule["ip_points"]
    assert ip["branch"]["en"] == "no Class I, 3 Class II IP (band C)"
    assert [p["name"] for p in ip["parameters"]] == ["tech_sme.ip_points.class2_3"]
    text = explain_text(tree)
    for other in ("[20%, 25%)", "≥ 30%:", "[4%, 5%)", "band B", "band D", "band E"):
        assert other not in text


def test_the_rd_points_explanation_says_which_option_won() -> None:
    # given one firm whose R&D is large against costs and one where both options tie
    costs_win = {"uscc": "A", "year": YEAR, "revenue": "100000000", "total_costs": "2000000",
                 "rd_expense": "600000"}  # fmt: skip
    tie = {"uscc": "B", "year": YEAR, "total_costs": "2000000", "rd_expense": "400000"}

    # when their R&D points are explained
    won = nodes(tech_sme_explanation(costs_win))["rd_points"]
    tied = nodes(tech_sme_explanation(tie))["rd_points"]

    # then the explanation names the option that counted, with both options' bands beneath
    assert won["value"] == 50
    assert (
        won["branch"]["en"] == "option 2 (R&D / total costs and expenses) scores higher and counts"
    )
    assert won["branch"]["zh"].startswith("方式二")
    assert {child["rule"] for child in won["rules"]} == {
        "tech_sme.rd_points_revenue",
        "tech_sme.rd_points_costs",
    }
    assert tied["branch"]["en"] == "both options score the same; option 1 counts"


def test_the_hitech_explanation_says_an_absent_innovation_score_is_not_assessed() -> None:
    # given a firm meeting every condition, with no innovation score given
    firm = {"uscc": "A", "year": YEAR, "rd_expense": "500000", "hitech_revenue": "6000000",
            "ip_class2": 1}  # fmt: skip
    plan, result = evaluate(policy_get("cn-hitech-2016"), spec_frame([firm]).lazy(), year=YEAR)

    # when it is explained
    text = explain_text(explain_rows(plan, result, uscc="A"))

    # then the verdict holds and says the score was not assessed
    assert "no innovation score given (innovation_score): not assessed" in text
    assert "every assessed condition holds" in text


def test_an_unreadable_optional_column_is_reported_with_the_enterprise_and_value() -> None:
    # given a facts file whose innovation score is not a number
    firm = {"uscc": "A", "year": YEAR, "innovation_score": "高"}

    # when the high-tech conditions are assessed, then the error names the cell
    with pytest.raises(PolicyError, match=r"innovation_score.*A 2023: '高'"):
        evaluate(policy_get("cn-hitech-2016"), spec_frame([firm]).lazy(), year=YEAR)


def test_a_typed_optional_column_from_parquet_is_used_as_it_is() -> None:
    # given facts read with a real boolean column (as from Parquet)
    facts = spec_frame([{"uscc": "A", "year": YEAR, "rd_expense": "1000000"}]).with_columns(
        pl.lit(True).alias("ic_or_mother_machine")
    )

    # when the super-deduction is assessed, then the flag applies
    _, result = evaluate(policy_get("cn-rd-super-deduction"), facts.lazy(), year=YEAR)
    assert result.row(0, named=True)["extra_deduction"] == 120_000_000
