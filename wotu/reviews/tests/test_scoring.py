"""Rubric scoring, z-score normalisation, ranking, pass rules and the funding line."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wotu.core.errors import WotuError
from wotu.reviews.scoring import (
    ApplicationResult,
    Criterion,
    ExpertScore,
    Ranked,
    Rubric,
    ScoreSheet,
    funding_line,
    normalise_zscore,
    pass_rule_validate,
    rank_applications,
    results_compile,
    rubric_validate,
    score_total,
    stage_pass,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 4, 1, 9, 0, tzinfo=SHANGHAI)
D = Decimal


def criterion(code: str, weight: str, low: str = "0", high: str = "100") -> Criterion:
    return Criterion(code, f"{code}（中文）", code.title(), D(weight), D(low), D(high))


# The professional-review rubric of a Quanzhou-style call: innovation weighs most.
RUBRIC = Rubric(
    "qz-professional",
    (
        criterion("innovation", "0.30"),
        criterion("feasibility", "0.25"),
        criterion("team", "0.20"),
        criterion("benefit", "0.25"),
    ),
)


def marks(innovation: str, feasibility: str, team: str, benefit: str) -> dict[str, Decimal]:
    return {
        "innovation": D(innovation),
        "feasibility": D(feasibility),
        "team": D(team),
        "benefit": D(benefit),
    }


def result(app: int, score: str, key: str = "0", minutes: int = 0) -> ApplicationResult:
    return ApplicationResult(app, D(score), D(key), T0 + timedelta(minutes=minutes))


def ranking(*scores: str) -> list[Ranked]:
    return rank_applications(results=[result(i, s) for i, s in enumerate(scores, start=1)])


# --- rubric and totals --------------------------------------------------------------------


def test_an_experts_total_is_the_weighted_sum_of_the_marks() -> None:
    total = score_total(rubric=RUBRIC, marks=marks("90", "80", "70", "60"))
    assert total == D("76")  # 27 + 20 + 14 + 15


def test_a_missing_mark_is_refused_naming_the_criterion() -> None:
    given_marks = marks("90", "80", "70", "60")
    del given_marks["team"]
    with pytest.raises(WotuError) as refused:
        score_total(rubric=RUBRIC, marks=given_marks)
    assert "team（team（中文））" in refused.value.zh
    assert "missing for team (Team)" in refused.value.en


def test_a_mark_for_a_criterion_not_in_the_rubric_is_refused() -> None:
    with pytest.raises(WotuError, match="not in the rubric: budget"):
        score_total(rubric=RUBRIC, marks={**marks("90", "80", "70", "60"), "budget": D(5)})


@pytest.mark.parametrize("bad", [D("100.5"), D("-1"), D("NaN"), 90.0, True])
def test_a_mark_outside_its_range_or_not_a_decimal_is_refused(bad: object) -> None:
    given_marks: dict[str, object] = {**marks("90", "80", "70", "60"), "innovation": bad}
    with pytest.raises(WotuError) as refused:
        score_total(rubric=RUBRIC, marks=given_marks)  # type: ignore[arg-type]
    assert "innovation" in refused.value.zh
    assert "innovation (Innovation)" in refused.value.en


def test_an_out_of_range_refusal_shows_the_value_and_the_range() -> None:
    with pytest.raises(WotuError) as refused:
        score_total(rubric=RUBRIC, marks=marks("100.5", "80", "70", "60"))
    assert "100.5 超出范围 [0, 100]" in refused.value.zh
    assert "the mark 100.5 is outside [0, 100]" in refused.value.en


@pytest.mark.parametrize(
    ("criteria", "en"),
    [
        ((), "has no criteria"),
        ((criterion("a", "0.5"), criterion("b", "0.4")), "weights sum to 0.9"),
        ((criterion("a", "30"), criterion("b", "70")), "sum to exactly 1"),
        ((criterion("a", "0.5"), criterion("a", "0.5")), "lists code a twice"),
        ((criterion("a", "1"), criterion("b", "0")), "it must be above 0"),
        ((criterion("a", "1", "10", "10"),), "needs min 10 below max 10"),
        ((criterion(" ", "1"),), "without a code"),
    ],
)
def test_a_malformed_rubric_is_refused(criteria: tuple[Criterion, ...], en: str) -> None:
    with pytest.raises(WotuError) as refused:
        rubric_validate(rubric=Rubric("r1", criteria))
    assert en in refused.value.en
    assert refused.value.zh.startswith("评分表 r1")


def test_the_key_criterion_is_the_heaviest_and_the_first_listed_among_equals() -> None:
    assert RUBRIC.key_criterion.code == "innovation"
    even = Rubric("even", (criterion("x", "0.5"), criterion("y", "0.5")))
    assert even.key_criterion.code == "x"


mark_values = st.decimals(min_value=0, max_value=100, places=1)


@given(values=st.lists(mark_values, min_size=4, max_size=4))
def test_a_total_always_lies_between_the_weighted_minimum_and_maximum(
    values: list[Decimal],
) -> None:
    lopsided = Rubric(
        "lopsided",
        (
            criterion("a", "0.55", "0", "10"),
            criterion("b", "0.15", "-5", "5"),
            criterion("c", "0.20", "0", "100"),
            criterion("d", "0.10", "50", "60"),
        ),
    )
    given_marks = {
        c.code: c.min + (c.max - c.min) * v / 100
        for c, v in zip(lopsided.criteria, values, strict=True)
    }
    low, high = lopsided.total_range
    assert low <= score_total(rubric=lopsided, marks=given_marks) <= high


# --- normalisation ------------------------------------------------------------------------


def test_a_harsh_and_a_lenient_expert_agree_after_normalisation() -> None:
    # Given expert 1 marks three applications 60/70/80 and expert 2 marks the same three 80/90/100
    raw = [
        ExpertScore(1, 101, D(60)),
        ExpertScore(1, 102, D(70)),
        ExpertScore(1, 103, D(80)),
        ExpertScore(2, 101, D(80)),
        ExpertScore(2, 102, D(90)),
        ExpertScore(2, 103, D(100)),
    ]
    # When normalised
    out = normalise_zscore(scores=raw)
    # Then both give the same numbers, on the panel's scale (mean 80, sd 12.91)
    assert [n.normalised for n in out] == [D("64.19"), D("80.00"), D("95.81")] * 2
    assert [n.raw for n in out] == [s.total for s in raw]
    assert [(n.expert_id, n.application_id) for n in out] == [
        (s.expert_id, s.application_id) for s in raw
    ]


def test_an_expert_with_one_score_or_no_spread_counts_as_the_panel_average() -> None:
    raw = [
        ExpertScore(1, 101, D(60)),
        ExpertScore(1, 102, D(90)),
        ExpertScore(2, 101, D(75)),  # a single score
        ExpertScore(3, 101, D(70)),  # the same score twice
        ExpertScore(3, 102, D(70)),
    ]
    out = normalise_zscore(scores=raw)
    assert [n.z for n in out[2:]] == [0, 0, 0]
    assert {n.normalised for n in out[2:]} == {D("73.00")}  # the mean of the five raw totals


def test_normalising_nothing_gives_nothing() -> None:
    assert normalise_zscore(scores=[]) == []


def test_two_scores_from_one_expert_for_one_application_are_refused() -> None:
    with pytest.raises(WotuError, match="expert 1 has two scores for application 101"):
        normalise_zscore(scores=[ExpertScore(1, 101, D(60)), ExpertScore(1, 101, D(70))])


panels = st.lists(
    st.tuples(st.integers(1, 4), st.decimals(min_value=0, max_value=100, places=2)),
    min_size=1,
    max_size=25,
)


@given(panel=panels, shifted=st.integers(1, 4), shift=st.decimals(-30, 30, places=2))
def test_normalisation_ignores_a_constant_added_to_one_experts_scores(
    panel: list[tuple[int, Decimal]], shifted: int, shift: Decimal
) -> None:
    raw = [ExpertScore(e, i, total) for i, (e, total) in enumerate(panel)]
    moved = [
        ExpertScore(s.expert_id, s.application_id, s.total + shift * (s.expert_id == shifted))
        for s in raw
    ]
    before, after = normalise_zscore(scores=raw), normalise_zscore(scores=moved)
    # Each expert's standardised scores do not move ...
    for b, a in zip(before, after, strict=True):
        assert abs(b.z - a.z) < D("1e-30")
    # ... so the normalised totals keep their order (only the panel's scale moves).
    for x in range(len(after)):
        for y in range(len(after)):
            if before[x].z < before[y].z - D("1e-30"):
                assert after[x].normalised <= after[y].normalised


# --- results and ranking ------------------------------------------------------------------


def test_results_average_the_experts_and_keep_the_key_criterion() -> None:
    sheets = [
        ScoreSheet(1, 101, marks("90", "80", "70", "60")),  # 76
        ScoreSheet(2, 101, marks("81", "80", "70", "61")),  # 73.55
        ScoreSheet(1, 102, marks("50", "50", "50", "50")),
    ]
    got = results_compile(rubric=RUBRIC, sheets=sheets, submitted_at={101: T0, 102: T0})
    assert got == [
        ApplicationResult(101, D("74.78"), D("85.50"), T0),  # 74.775 rounds half-up
        ApplicationResult(102, D("50.00"), D("50.00"), T0),
    ]


def test_normalised_results_put_a_harsh_experts_best_level_with_a_lenient_experts_best() -> None:
    # Given a harsh expert who marked applications 101 and 102, a lenient one 103 and 104
    sheets = [
        ScoreSheet(1, 101, marks("60", "60", "60", "60")),
        ScoreSheet(1, 102, marks("70", "70", "70", "70")),
        ScoreSheet(2, 103, marks("80", "80", "80", "80")),
        ScoreSheet(2, 104, marks("90", "90", "90", "90")),
    ]
    submitted = dict.fromkeys((101, 102, 103, 104), T0)
    # When the results are compiled raw and normalised
    plain = results_compile(rubric=RUBRIC, sheets=sheets, submitted_at=submitted)
    fair = results_compile(rubric=RUBRIC, sheets=sheets, submitted_at=submitted, normalise=True)
    # Then raw, the lenient expert's applications lead; normalised, each expert's best ties
    assert [r.score for r in plain] == [D("60.00"), D("70.00"), D("80.00"), D("90.00")]
    assert [r.score for r in fair] == [D("63.82"), D("86.18"), D("63.82"), D("86.18")]
    assert [r.key_score for r in fair] == [D("60.00"), D("70.00"), D("80.00"), D("90.00")]


def test_a_bad_sheet_is_refused_naming_the_expert_and_the_application() -> None:
    sheets = [ScoreSheet(7, 101, marks("101", "80", "70", "60"))]
    with pytest.raises(WotuError) as refused:
        results_compile(rubric=RUBRIC, sheets=sheets, submitted_at={101: T0})
    assert refused.value.en.startswith("expert 7, application 101: criterion innovation")
    assert refused.value.zh.startswith("专家 7 对申请 101 的评分")


def test_a_result_without_a_submission_time_is_refused() -> None:
    sheets = [ScoreSheet(7, 101, marks("90", "80", "70", "60"))]
    with pytest.raises(WotuError, match="application 101 has no submission time"):
        results_compile(rubric=RUBRIC, sheets=sheets, submitted_at={})


@pytest.mark.parametrize(
    ("results", "order", "why"),
    [
        ([result(1, "70"), result(2, "80")], [2, 1], "higher score first"),
        ([result(1, "80", "70"), result(2, "80", "90")], [2, 1], "then the key criterion"),
        ([result(1, "80", "90", 5), result(2, "80", "90", 1)], [2, 1], "then earlier submission"),
        ([result(2, "80", "90"), result(1, "80", "90")], [1, 2], "then the smaller id"),
    ],
)
def test_ties_are_broken_by_the_documented_rule(
    results: list[ApplicationResult], order: list[int], why: str
) -> None:
    ranked = rank_applications(results=results)
    assert [r.application_id for r in ranked] == order, why
    assert [r.rank for r in ranked] == [1, 2]


def test_ranking_refuses_an_application_listed_twice() -> None:
    with pytest.raises(WotuError, match="appears twice"):
        rank_applications(results=[result(1, "80"), result(1, "70")])


def test_ranking_refuses_a_naive_submission_time() -> None:
    naive = ApplicationResult(1, D(80), D(80), datetime(2025, 4, 1, 9))
    with pytest.raises(WotuError, match="no time zone"):
        rank_applications(results=[naive])


results_lists = st.lists(
    st.tuples(
        st.sampled_from(["60", "70", "70.5", "80"]),
        st.sampled_from(["50", "90"]),
        st.integers(0, 3),
    ),
    max_size=30,
)


@given(rows=results_lists)
def test_ranks_are_one_to_n_in_descending_score(rows: list[tuple[str, str, int]]) -> None:
    given_results = [result(i, s, k, m) for i, (s, k, m) in enumerate(rows)]
    ranked = rank_applications(results=given_results)
    assert sorted(r.rank for r in ranked) == list(range(1, len(rows) + 1))
    assert [r.rank for r in ranked] == list(range(1, len(rows) + 1))
    assert all(a.score >= b.score for a, b in itertools.pairwise(ranked))
    assert {r.application_id for r in ranked} == set(range(len(rows)))


# --- pass rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "passed"),
    [
        ({"top_n": 2}, [1, 2]),
        ({"top_n": 10}, [1, 2, 3, 4, 5]),
        ({"top_share": 0.5}, [1, 2]),  # floor(2.5): a share is a cap
        ({"top_share": "0.6"}, [1, 2, 3]),
        ({"top_share": 1}, [1, 2, 3, 4, 5]),
        ({"min_score": 70}, [1, 2, 3]),
        ({"min_score": "70.01"}, [1, 2]),
        ({"min_score": 60, "top_n": 2}, [1, 2]),
        ({"min_score": 75, "top_n": 4}, [1, 2]),
        ({"min_score": 95}, []),
    ],
)
def test_a_stage_passes_those_meeting_every_condition_of_its_rule(
    rule: dict[str, object], passed: list[int]
) -> None:
    ranked = ranking("90", "80", "70", "65", "50")
    assert [r.application_id for r in stage_pass(ranked=ranked, rule=rule)] == passed


@pytest.mark.parametrize(
    ("rule", "en"),
    [
        ({}, "(none given)"),
        ({"top": 3}, "invalid pass rule key(s) top"),
        ({"top_n": 0}, "top_n must be a whole number of at least 1"),
        ({"top_n": 2.0}, "top_n must be a whole number"),
        ({"top_n": True}, "top_n must be a whole number"),
        ({"top_share": 0}, "top_share must be above 0 and at most 1"),
        ({"top_share": 1.5}, "top_share must be above 0 and at most 1"),
        ({"top_share": "half"}, "top_share must be a number"),
        ({"min_score": None}, "pass rule min_score must have a value"),
        ({"min_score": [60]}, "min_score must be a number"),
    ],
)
def test_a_bad_pass_rule_is_refused(rule: dict[str, object], en: str) -> None:
    with pytest.raises(WotuError) as refused:
        pass_rule_validate(rule=rule)
    assert en in refused.value.en


def test_a_float_share_is_read_as_written() -> None:
    # 0.29 × 100 is 28.999… in binary floats; read as text it is exactly 29
    ranked = ranking(*[str(100 - i) for i in range(100)])
    assert len(stage_pass(ranked=ranked, rule={"top_share": 0.29})) == 29


# --- funding line -------------------------------------------------------------------------

REQUESTS = {1: D("50.00"), 2: D("40.00"), 3: D("30.00"), 4: D("5.00")}


@pytest.mark.parametrize(
    ("partial", "awarded", "outcomes"),
    [
        ("none", ["50.00", "40.00", "0.00", "0.00"], ["funded", "funded", "unfunded", "unfunded"]),
        ("skip", ["50.00", "40.00", "0.00", "5.00"], ["funded", "funded", "unfunded", "funded"]),
        (
            "partial",
            ["50.00", "40.00", "10.00", "0.00"],
            ["funded", "funded", "partial", "unfunded"],
        ),
    ],
)
def test_the_funding_line_follows_its_partial_rule(
    partial: str, awarded: list[str], outcomes: list[str]
) -> None:
    # Given a budget of 100 yuan and requests of 50, 40, 30 and 5 in rank order
    ranked = ranking("90", "80", "70", "60")
    # When the line is drawn (a partial award needs at least 1/3 of the request)
    line = funding_line(
        ranked=ranked, requested=REQUESTS, budget=D("100.00"), partial=partial, min_share=D("0.3")
    )
    # Then the awards follow the rule and never pass the budget
    assert [str(f.awarded) for f in line.rows] == awarded
    assert [f.outcome for f in line.rows] == outcomes
    assert line.awarded == sum(D(a) for a in awarded)
    assert line.awarded + line.remaining == line.budget


def test_a_partial_award_below_the_minimum_share_draws_the_line_instead() -> None:
    ranked = ranking("90", "80", "70", "60")
    line = funding_line(ranked=ranked, requested=REQUESTS, budget=D("100.00"), partial="partial")
    assert [f.outcome for f in line.rows] == ["funded", "funded", "unfunded", "unfunded"]
    assert line.remaining == D("10.00")


@pytest.mark.parametrize(
    ("kwargs", "en"),
    [
        ({"partial": "some"}, "unknown partial-funding rule 'some'"),
        ({"budget": D("100.001")}, "the budget Decimal('100.001') is invalid"),
        ({"budget": 100.0}, "the budget 100.0 is invalid"),
        ({"budget": D("-1")}, "at least 0"),
        ({"requested": {**REQUESTS, 2: D("0")}}, "application 2's request"),
        ({"requested": {1: D("1.00")}}, "application 2 (rank 2) has no requested amount"),
        ({"min_share": D("0")}, "min_share must be above 0"),
    ],
)
def test_a_bad_funding_request_is_refused(kwargs: dict[str, object], en: str) -> None:
    arguments: dict[str, object] = {
        "ranked": ranking("90", "80", "70", "60"),
        "requested": REQUESTS,
        "budget": D("100.00"),
        **kwargs,
    }
    with pytest.raises(WotuError) as refused:
        funding_line(**arguments)  # type: ignore[arg-type]
    assert en in refused.value.en


def test_a_ranking_out_of_order_is_refused_by_the_funding_line() -> None:
    ranked = list(reversed(ranking("90", "80")))
    with pytest.raises(WotuError, match="increasing rank order"):
        funding_line(ranked=ranked, requested=REQUESTS, budget=D("100.00"))


fen_amounts = st.integers(min_value=1, max_value=10**8).map(lambda f: D(f).scaleb(-2))


@given(
    asks=st.lists(fen_amounts, max_size=20),
    budget=st.integers(min_value=0, max_value=10**9).map(lambda f: D(f).scaleb(-2)),
    partial=st.sampled_from(["none", "skip", "partial"]),
    min_share=st.sampled_from([D("0.01"), D("0.5"), D("1")]),
)
def test_funding_never_exceeds_the_budget(
    asks: list[Decimal], budget: Decimal, partial: str, min_share: Decimal
) -> None:
    ranked = ranking(*["50"] * len(asks))
    requested = {r.application_id: ask for r, ask in zip(ranked, asks, strict=True)}
    line = funding_line(
        ranked=ranked, requested=requested, budget=budget, partial=partial, min_share=min_share
    )
    assert sum((f.awarded for f in line.rows), D(0)) == line.awarded <= budget
    assert line.remaining == budget - line.awarded >= 0
    assert all(f.awarded <= f.requested for f in line.rows)
    assert all(f.awarded == f.requested for f in line.rows if f.outcome == "funded")


@given(
    asks=st.lists(fen_amounts, max_size=20),
    budget=st.integers(min_value=0, max_value=10**9).map(lambda f: D(f).scaleb(-2)),
)
def test_without_partial_funding_the_funded_are_a_prefix_of_the_ranking(
    asks: list[Decimal], budget: Decimal
) -> None:
    ranked = ranking(*["50"] * len(asks))
    requested = {r.application_id: ask for r, ask in zip(ranked, asks, strict=True)}
    line = funding_line(ranked=ranked, requested=requested, budget=budget, partial="none")
    outcomes = [f.outcome for f in line.rows]
    funded = outcomes.count("funded")
    assert outcomes == ["funded"] * funded + ["unfunded"] * (len(outcomes) - funded)
    if funded < len(outcomes):  # the first left out really did not fit
        assert line.rows[funded].requested > line.remaining
