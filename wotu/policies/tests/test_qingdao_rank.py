"""Ranking boundaries of qingdao-wotu-2021 that need many enterprises: places 200/201 of the
R&D growth award and 1,000/1,001 of the cultivation pool, plus the engine's ``rank_by``."""

from __future__ import annotations

from typing import Any

import polars as pl

from wotu.policies.catalog import policy_get
from wotu.policies.engine import Formula, evaluate
from wotu.policies.tests.test_specs import spec_frame

YEAR = 2023


def _run(rows: list[dict[str, Any]]) -> pl.DataFrame:
    _, result = evaluate(policy_get("qingdao-wotu-2021"), spec_frame(rows).lazy(), year=YEAR)
    return result


def _grower(uscc: str, increase: int) -> list[dict[str, Any]]:
    """An above-size industrial firm whose R&D grew by ``increase`` yuan."""
    return [
        {"uscc": uscc, "year": YEAR - 1, "above_designated_size": True, "rd_expense": "0"},
        {"uscc": uscc, "year": YEAR, "above_designated_size": True, "rd_expense": str(increase)},
    ]


def _candidate(uscc: str, rd_expense: int) -> dict[str, Any]:
    """A registered tech SME without a certificate; R&D below every scoring band (score 0)."""
    return {
        "uscc": uscc,
        "year": YEAR,
        "tech_sme_number": f"{YEAR}370212A{uscc[-7:]}",
        "rd_expense": str(rd_expense),
    }


def test_rank_200_is_rewarded_and_rank_201_is_not() -> None:
    # Given 201 qualifying firms, firm i growing by 1,000,000 + (201 − i) × 1,000 (rank i)
    rows = [r for i in range(1, 202) for r in _grower(f"F{i:07d}", 1_000_000 + (201 - i) * 1_000)]

    # When the year is evaluated
    result = _run(rows).select("uscc", "qingdao.rd_growth_rank", "qingdao.rd_growth_top200")

    # Then rank 200 (increase 1,001,000) gets 20 % = 200,200 and rank 201 (1,000,000) nothing
    by_uscc = {row[0]: row[1:] for row in result.iter_rows()}
    assert by_uscc["F0000200"] == (200, 20_020_000)
    assert by_uscc["F0000201"] == (201, 0)
    assert result.filter(pl.col("qingdao.rd_growth_top200") > 0).height == 200


def test_a_tie_across_the_200th_place_goes_to_the_smaller_uscc() -> None:
    # Given 201 firms with the same increase of 1,500,000
    rows = [r for i in range(201) for r in _grower(f"T{i:07d}", 1_500_000)]

    # When the year is evaluated
    result = _run(rows).sort("uscc")

    # Then the 200 smallest USCCs get 300,000 each and the largest gets nothing
    awards = result.get_column("qingdao.rd_growth_top200").to_list()
    assert awards[:200] == [30_000_000] * 200
    assert awards[200] == 0
    assert result.get_column("qingdao.rd_growth_rank").to_list() == list(range(1, 202))


def test_the_pool_takes_the_1000th_candidate_and_not_the_1001st() -> None:
    # Given 1,001 candidates with equal scores; the i-th spent 100,000 − i yuan on R&D
    rows = [_candidate(f"P{i:07d}", 100_000 - i) for i in range(1, 1002)]

    # When the year is evaluated
    result = _run(rows).select("uscc", "qingdao.cultivation_pool_rank", "qingdao.cultivation_pool")

    # Then the ties are broken by R&D expenses: place 1,000 is in the pool, 1,001 is not
    by_uscc = {row[0]: row[1:] for row in result.iter_rows()}
    assert by_uscc["P0001000"] == (1000, True)
    assert by_uscc["P0001001"] == (1001, False)
    assert result.get_column("qingdao.cultivation_pool").sum() == 1000


def test_a_complete_tie_across_the_pool_limit_goes_to_the_smaller_uscc() -> None:
    # Given 1,001 identical candidates (same score, same R&D), listed in reverse order
    rows = [_candidate(f"Q{i:07d}", 10_000) for i in reversed(range(1001))]

    # When the year is evaluated
    result = _run(rows).sort("uscc")

    # Then the largest USCC is the one left out
    pool = result.get_column("qingdao.cultivation_pool").to_list()
    assert pool == [True] * 1000 + [False]


def test_rank_by_breaks_ties_key_by_key_then_by_uscc_within_each_group() -> None:
    # Given firms in two districts; e is excluded by the condition
    frame = pl.DataFrame(
        {
            "uscc": ["d", "c", "b", "a", "e", "f", "g"],
            "district": ["x", "x", "x", "x", "x", "y", "y"],
            "score": [1, 2, 2, 2, 9, 5, 5],
            "rd": [5, 5, 6, 5, 1, 1, 1],
            "ok": [True, True, True, True, False, True, True],
        }
    )

    # When ranked by score then R&D, both descending, within each district
    ranked = frame.with_columns(
        rank=Formula.rank_by(
            [pl.col("score"), pl.col("rd")],
            descending=[True, True],
            where=pl.col("ok"),
            over=["district"],
        )
    )

    # Then b (more R&D) leads the tie at 2, a before c by USCC, d last; e has no rank
    assert dict(ranked.select("uscc", "rank").iter_rows()) == {
        "b": 1,
        "a": 2,
        "c": 3,
        "d": 4,
        "e": None,
        "f": 1,
        "g": 2,
    }
