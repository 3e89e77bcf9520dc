"""Invariants of qingdao-wotu-2021 over random firms and loans.

The spec table (specs/qingdao-wotu-2021.yaml) pins hand-computed cases; these properties check
what must hold for every run: no award above its cap, no more winners than places, the pool
award's parts adding up to the fen, a firm's own awards never falling when only its own R&D
rises, and no loan subsidised above the benchmark interest on 10 M for 366 days.

Ranked schemes run with small scenario limits (3 places for the R&D growth award, 2 pool
places) so that random runs of a few firms actually meet the limits.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.policies.catalog import policy_get
from wotu.policies.catalog.qingdao.loans_table import RATE_SCALE
from wotu.policies.catalog.qingdao.wotu_2021 import loan_subsidy_breakdown
from wotu.policies.engine import evaluate
from wotu.policies.parameters import ParameterSet
from wotu.policies.tests.test_specs import spec_frame

YEAR = 2023
PROPERTY_SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
MILLION = 1_000_000 * 100  # fen
TOP_N, POOL_SIZE = 3, 2
USCCS = [f"F{i:03d}" for i in range(8)]


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def scenario(**overrides: Any) -> ParameterSet:
    limits = {"rd_growth.top_n": TOP_N, "cultivation_pool.size": POOL_SIZE} | overrides
    return policy_get("qingdao-wotu-2021").parameters.with_overrides(
        limits, since=dt.date(2021, 1, 1)
    )


def run(rows: list[dict[str, Any]], parameters: ParameterSet) -> dict[str, dict[str, Any]]:
    _, result = evaluate(
        policy_get("qingdao-wotu-2021"), spec_frame(rows).lazy(), year=YEAR, parameters=parameters
    )
    return {row["uscc"]: row for row in result.iter_rows(named=True)}


money = st.one_of(
    st.integers(0, 30 * MILLION),
    st.sampled_from([0, MILLION, MILLION - 1, 15 * MILLION, 3 * MILLION]),
)


@st.composite
def firm(draw: st.DrawFn, uscc: str) -> list[dict[str, Any]]:
    """A firm's rows for last year (maybe missing) and this year."""
    certificate = draw(st.sampled_from([None, YEAR - 3, YEAR - 2, YEAR]))
    first = None if certificate is None else draw(st.sampled_from([certificate, YEAR - 5]))
    rd = draw(money)
    this_year = {
        "uscc": uscc,
        "year": YEAR,
        "revenue": yuan(draw(money)),
        "total_costs": yuan(draw(money)),
        "rd_expense": yuan(rd),
        "rd_deductible": yuan(draw(st.integers(0, rd))),
        "above_designated_size": draw(st.booleans()),
        "sector": draw(st.sampled_from(["industrial", "service", "other"])),
        "ip_class1": draw(st.integers(0, 2)),
        "ip_class2": draw(st.integers(0, 6)),
        "hitech_cert_year": certificate,
        "hitech_first_cert_year": first,
        "tech_sme_number": draw(st.sampled_from(["", f"{YEAR}370212A0000001"])),
        "in_listing_pool": draw(st.booleans()),
    }
    if not draw(st.booleans()):
        return [this_year]
    last_rd = draw(money)
    last_year = {
        "uscc": uscc,
        "year": YEAR - 1,
        "revenue": yuan(draw(money)),
        "rd_expense": yuan(last_rd),
        "rd_deductible": yuan(draw(st.integers(0, last_rd))),
        "in_listing_pool": draw(st.booleans()),
    }
    return [last_year, this_year]


@st.composite
def firms(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, len(USCCS)))
    return [row for uscc in USCCS[:count] for row in draw(firm(uscc))]


CAPS = {
    "qingdao.hitech_first_cert": 450_000 * 100,
    "qingdao.hitech_recert": 100_000 * 100,
    "qingdao.listing_pool_rd_growth": 3_000_000 * 100,
    "qingdao.listing_pool_project": 200_000 * 100,
    "qingdao.rd_growth_top200": 500_000 * 100,
    "qingdao.cultivation_pool_growth": 100_000 * 100,
}


@PROPERTY_SETTINGS
@given(rows=firms())
def test_no_award_exceeds_its_cap_and_no_ranking_exceeds_its_places(
    rows: list[dict[str, Any]],
) -> None:
    result = run(rows, scenario())

    for name, cap in CAPS.items():
        assert all(0 <= row[name] <= cap for row in result.values()), name
    winners = sum(row["qingdao.rd_growth_top200"] > 0 for row in result.values())
    assert winners <= TOP_N
    assert sum(row["qingdao.cultivation_pool"] for row in result.values()) <= POOL_SIZE
    for row in result.values():
        assert (
            row["qingdao.total"]
            == sum(row[name] for name in CAPS) + row["qingdao.loan_interest_subsidy"]
        )


@PROPERTY_SETTINGS
@given(rows=firms(), raise_by=st.integers(0, 5 * MILLION), target=st.sampled_from(USCCS))
def test_raising_a_firms_own_rd_never_lowers_its_own_growth_awards(
    rows: list[dict[str, Any]], raise_by: int, target: str
) -> None:
    # Given the same run twice, the second with one firm's R&D (all of it super-deductible)
    # raised by the same amount, everyone else unchanged
    this_year = [r for r in rows if r["year"] == YEAR]
    uscc = next((r["uscc"] for r in this_year if r["uscc"] == target), this_year[0]["uscc"])
    before_rows = [_deductible_is_all(r) for r in rows]
    after_rows = [
        _raised(r, raise_by) if r["uscc"] == uscc and r["year"] == YEAR else r for r in before_rows
    ]

    before = run(before_rows, scenario())[uscc]
    after = run(after_rows, scenario())[uscc]

    # Then its rank can only improve, so none of its R&D-driven awards falls
    for name in (
        "qingdao.rd_growth_top200",
        "qingdao.listing_pool_rd_growth",
        "qingdao.cultivation_pool_growth",
    ):
        assert after[name] >= before[name], name


def _deductible_is_all(row: dict[str, Any]) -> dict[str, Any]:
    return row | {"rd_deductible": row["rd_expense"]}


def _raised(row: dict[str, Any], fen: int) -> dict[str, Any]:
    amount = yuan(int(Decimal(row["rd_expense"]) * 100) + fen)
    return row | {"rd_expense": amount, "rd_deductible": amount}


@PROPERTY_SETTINGS
@given(
    award=st.integers(0, 1_000_000 * 100),
    basis_points=st.integers(0, 10_000),
)
def test_the_city_and_district_parts_add_up_to_the_pool_award_exactly(
    award: int, basis_points: int
) -> None:
    share = Fraction(basis_points, 10_000)
    rows = [
        {"uscc": "A", "year": YEAR - 1, "revenue": "1", "rd_expense": "1"},
        {"uscc": "A", "year": YEAR, "revenue": "2", "rd_expense": "2",
         "tech_sme_number": f"{YEAR}370212A0000001"},
    ]  # fmt: skip
    parameters = scenario(
        **{
            "cultivation_pool.award": yuan(award),
            "cultivation_pool.city_share": f"{basis_points // 100}.{basis_points % 100:02d}%",
        }
    )

    row = run(rows, parameters)["A"]

    assert row["qingdao.cultivation_pool_growth"] == award
    city, district = (
        row["qingdao.cultivation_pool_growth_city"],
        row["qingdao.cultivation_pool_growth_district"],
    )
    assert city + district == award
    assert abs(Fraction(city) - share * award) <= Fraction(1, 2)


BENCHMARK = policy_get("qingdao-wotu-2021").parameters["loan_subsidy.benchmark_rate"]


@st.composite
def loan(draw: st.DrawFn, number: int) -> dict[str, Any]:
    start = draw(st.dates(dt.date(2015, 10, 24), dt.date(2024, 12, 31)))
    rate = Fraction(draw(st.integers(0, 10 * RATE_SCALE // 100)), RATE_SCALE)
    return {
        "loan_id": f"L{number}",
        "uscc": "91370212MA3C000114",
        "bank": "崂山银行",
        "principal": yuan(draw(st.integers(0, 20 * MILLION))),
        "annual_rate": f"{float(rate * 100):.6f}%",
        "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=draw(st.integers(0, 3 * 366)))).isoformat(),
        "linkage": draw(st.sampled_from(["invest", "insure", ""])),
    }


@PROPERTY_SETTINGS
@given(
    loans=st.integers(1, 6).flatmap(lambda n: st.tuples(*(loan(i) for i in range(n)))),
    year=st.integers(2021, 2024),
)
def test_no_loan_is_subsidised_above_the_benchmark_interest_on_ten_million_for_366_days(
    loans: tuple[dict[str, Any], ...], year: int
) -> None:
    frame = pl.DataFrame(list(loans), schema={name: pl.String for name in loans[0]})

    breakdown = loan_subsidy_breakdown(frame, year)

    for row in breakdown.iter_rows(named=True):
        benchmark = Fraction(BENCHMARK.at(row["start_date"]).value)
        ceiling = benchmark * 10 * MILLION * 366 / 360
        assert 0 <= row["subsidy_fen"] <= ceiling + Fraction(1, 2)
        assert row["days_in_year"] <= 366
        if not row["qualifies"]:
            assert row["subsidy_fen"] == 0
