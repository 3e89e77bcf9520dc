"""The engine's own contracts: parameters, exact arithmetic, ordering, errors, explanations."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wotu.policies.engine import (
    Branches,
    Formula,
    Policy,
    PolicyError,
    evaluate,
    mul_fraction,
    ratio_at_least,
)
from wotu.policies.explain import basis_expr, explain_rows, explain_text
from wotu.policies.parameters import ParameterError, ParameterSet, parameters_load

ALL_POLICIES = ["qingdao-wotu-2021", "cn-tech-sme-2017", "cn-hitech-2016", "cn-rd-super-deduction"]
YAML = """
scheme: toy
parameters:
  award:
    label: {zh: 奖励, en: award}
    unit: CNY
    values:
      - since: 2020-01-01
        value: 1000
        reference: {document: 文件一号, article: 第一条}
      - since: 2023-01-01
        value: 2000
        reference: {document: 文件二号, article: 第二条}
  share:
    label: {zh: 比例, en: share}
    unit: rate
    weighting: months
    values:
      - since: 2020-01-01
        value: 75%
        reference: {document: 文件一号, article: 第三条}
      - since: 2022-10-01
        value: 100%
        reference: {document: 文件三号, article: 第一条}
  budget:
    label: {zh: 预算, en: budget}
    unit: CNY
    values:
      - since: 2020-01-01
        value: 2500
        reference: {document: 文件一号, article: 第四条}
"""


@pytest.fixture
def params(tmp_path: Path) -> ParameterSet:
    path = tmp_path / "toy.yaml"
    path.write_text(YAML, encoding="utf-8")
    return parameters_load(path)


def facts(**columns: list[object]) -> pl.LazyFrame:
    return pl.DataFrame(columns).lazy()


def test_the_value_in_force_is_the_latest_dated_on_or_before_the_instant(
    params: ParameterSet,
) -> None:
    award = params["award"]

    assert award.at(dt.date(2022, 12, 31)).value == 100000  # fen
    assert award.at(dt.date(2023, 1, 1)).value == 200000
    assert award.at(dt.date(2023, 1, 1)).reference.document == "文件二号"
    with pytest.raises(ParameterError, match="no value in force"):
        award.at(dt.date(2019, 12, 31))


def test_a_rate_changed_within_a_year_is_prorated_by_its_weighting(params: ParameterSet) -> None:
    share = params["share"]

    assert share.weighted(2022) == Fraction(9 * 75 + 3 * 100, 1200)
    assert share.day_weighted(2022) == Fraction(273 * 75 + 92 * 100, 365 * 100)
    assert share.weighted(2021) == Fraction(3, 4)


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("    colour: red\n", "unknown key(s) colour"),
        ("    values: []\n", "at least one dated value"),
    ],
)
def test_unknown_keys_and_missing_values_are_load_errors(
    tmp_path: Path, snippet: str, message: str
) -> None:
    text = (
        """
scheme: toy
parameters:
  award:
    label: {zh: 奖励, en: award}
    unit: CNY
"""
        + snippet
        + (
            ""
            if "values" in snippet
            else "    values: [{since: 2020-01-01, value: 1, reference: {document: x}}]\n"
        )
    )
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parameters_load(path)


def test_a_value_without_a_legal_reference_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "parameters:\n  a:\n    label: {zh: 甲, en: a}\n    unit: count\n"
        "    values: [{since: 2020-01-01, value: 1}]\n",
        encoding="utf-8",
    )

    with pytest.raises(ParameterError, match="legal reference"):
        parameters_load(path)


def test_overrides_change_the_version_hash_and_the_value_from_their_date(
    params: ParameterSet,
) -> None:
    scenario = params.with_overrides({"award": "5000"}, since=dt.date(2023, 1, 1))

    assert scenario["award"].at(dt.date(2023, 6, 1)).value == 500000
    assert scenario["award"].at(dt.date(2022, 6, 1)).value == 100000
    assert scenario.version_hash() != params.version_hash()
    with pytest.raises(ParameterError, match="unknown parameter"):
        params.with_overrides({"nope": "1"}, since=dt.date(2023, 1, 1))


@pytest.mark.parametrize(
    ("fen", "rate", "expected"),
    [
        (12345, Fraction(1, 10), 1235),
        (12344, Fraction(1, 10), 1234),
        (-12345, Fraction(1, 10), -1235),
        (5, Fraction(1, 2), 3),
        (10**15, Fraction(3, 10), 3 * 10**14),
        (None, Fraction(1, 10), None),
    ],
)
def test_rates_round_half_up_to_the_fen_exactly(
    fen: int | None, rate: Fraction, expected: int | None
) -> None:
    frame = pl.DataFrame({"x": [fen]}, schema={"x": pl.Int64})

    assert frame.select(mul_fraction(pl.col("x"), rate)).item() == expected


@given(
    num=st.integers(min_value=0, max_value=10**14),
    den=st.integers(min_value=0, max_value=10**14),
    rate=st.fractions(min_value=0, max_value=1, max_denominator=10_000),
)
def test_ratio_comparison_is_exact(num: int, den: int, rate: Fraction) -> None:
    frame = pl.DataFrame({"n": [num], "d": [den]})

    result = frame.select(ratio_at_least(pl.col("n"), pl.col("d"), rate)).item()

    assert result == (den > 0 and Fraction(num, den) >= rate)


def toy_policy(params: ParameterSet) -> Policy:
    policy = Policy(id="toy", zh="玩具", en="toy", kind="evaluate", parameters=params,
                    outputs=("toy.award", "toy.capped"))  # fmt: skip
    ref = params["award"].values[0].reference

    @policy.rule("toy.award", zh="奖励", en="award", unit="CNY", reference=ref)
    def award(f: Formula) -> Branches:
        return f.branches(
            f.when(f.input("rd") > f.prev("rd"), f.param("award"), zh="研发增长", en="R&D grew"),
            f.when(f.input("rd") > 0, f.rate(f.input("rd"), "share", weighted=True),
                   zh="有研发", en="has R&D"),
            f.otherwise(0, zh="无研发", en="no R&D"),
        )  # fmt: skip

    @policy.rule("toy.capped", zh="预算内", en="within budget", unit="CNY", reference=ref)
    def capped(f: Formula) -> pl.Expr:
        return f.budget_cap(f.rule("toy.award"), "budget")

    return policy


def test_rules_run_in_dependency_order_with_history_and_budget_cap(params: ParameterSet) -> None:
    frame = facts(uscc=["A", "A", "B", "C"], year=[2022, 2023, 2023, 2023], rd=[100, 200, 1000, 0])

    plan, result = evaluate(toy_policy(params), frame, year=2023)

    rows = {r["uscc"]: r for r in result.iter_rows(named=True)}
    assert rows["A"]["toy.award"] == 200000  # grew: the 2023 award
    assert rows["B"]["toy.award"] == 1000  # no previous year: 100 % of 1000 fen in 2023
    assert rows["C"]["toy.award"] == 0
    assert sum(r["toy.capped"] for r in rows.values()) <= 250000
    assert plan.order.index(["toy.capped"]) > plan.order.index(["toy.award"])


def test_an_unknown_name_is_reported_when_the_plan_is_built(params: ParameterSet) -> None:
    policy = Policy(id="bad", zh="坏", en="bad", kind="evaluate", parameters=params)
    ref = params["award"].values[0].reference

    @policy.rule("bad.rule", zh="坏", en="bad", unit="CNY", reference=ref)
    def bad(f: Formula) -> pl.Expr:
        return f.input("no_such_column") * 2

    with pytest.raises(PolicyError, match="unknown name no_such_column"):
        evaluate(policy, facts(uscc=["A"], year=[2023]), year=2023)


def test_a_cycle_between_rules_is_reported(params: ParameterSet) -> None:
    policy = Policy(id="loop", zh="环", en="loop", kind="evaluate", parameters=params)
    ref = params["award"].values[0].reference

    @policy.rule("a", zh="甲", en="a", unit="CNY", reference=ref)
    def a(f: Formula) -> pl.Expr:
        return f.rule("b") + 1

    @policy.rule("b", zh="乙", en="b", unit="CNY", reference=ref)
    def b(f: Formula) -> pl.Expr:
        return f.rule("a") + 1

    with pytest.raises(PolicyError, match="cycle"):
        evaluate(policy, facts(uscc=["A"], year=[2023]), year=2023)


def test_the_formula_in_force_is_chosen_by_date_and_old_versions_are_kept(
    params: ParameterSet,
) -> None:
    policy = Policy(id="v", zh="版", en="v", kind="evaluate", parameters=params, outputs=("v",))
    ref = params["award"].values[0].reference

    @policy.rule("v", zh="版", en="v", unit="count", reference=ref)
    def old(f: Formula) -> pl.Expr:
        return pl.lit(1)

    @policy.rule("v", zh="版", en="v", unit="count", reference=ref, since=dt.date(2023, 1, 1))
    def new(f: Formula) -> pl.Expr:
        return pl.lit(2)

    frame = facts(uscc=["A", "A"], year=[2022, 2023])
    assert evaluate(policy, frame, year=2022)[1]["v"].to_list() == [1]
    assert evaluate(policy, frame, year=2023)[1]["v"].to_list() == [2]
    assert len(policy.rules["v"].versions) == 2


def test_ties_in_a_ranking_go_to_the_smaller_uscc(params: ParameterSet) -> None:
    policy = Policy(id="r", zh="排", en="r", kind="evaluate", parameters=params, outputs=("r",))
    ref = params["award"].values[0].reference

    @policy.rule("r", zh="排名", en="rank", unit="count", reference=ref)
    def rank(f: Formula) -> pl.Expr:
        return f.rank_desc(f.input("x"), where=f.input("x") > 0)

    frame = facts(uscc=["C", "A", "B", "D"], year=[2023] * 4, x=[5, 5, 7, 0])
    result = evaluate(policy, frame, year=2023)[1]

    assert dict(zip(result["uscc"], result["r"], strict=True)) == {
        "A": 2,
        "B": 1,
        "C": 3,
        "D": None,
    }


def test_an_explanation_cites_only_the_branch_taken(params: ParameterSet) -> None:
    frame = facts(uscc=["A", "A", "B"], year=[2022, 2023, 2023], rd=[100, 200, 1000])
    plan, result = evaluate(toy_policy(params), frame, year=2023)

    grew = explain_rows(plan, result, uscc="A", outputs=["toy.award"])["outputs"][0]
    has_rd = explain_rows(plan, result, uscc="B", outputs=["toy.award"])["outputs"][0]

    assert grew["branch"]["en"] == "R&D grew"
    assert [p["name"] for p in grew["parameters"]] == ["award"]
    assert grew["parameters"][0]["reference"]["document"] == "文件二号"
    assert has_rd["branch"]["en"] == "has R&D"
    assert [p["name"] for p in has_rd["parameters"]] == ["share@weighted"]
    text = explain_text(explain_rows(plan, result, uscc="B", outputs=["toy.award"]))
    assert "parameter award" not in text
    assert "parameter share@weighted = 100%" in text


def test_the_basis_column_explains_every_row_at_once(params: ParameterSet) -> None:
    frame = facts(uscc=["A", "A", "B", "C"], year=[2022, 2023, 2023, 2023], rd=[100, 200, 1000, 0])
    plan, result = evaluate(toy_policy(params), frame, year=2023)

    basis = result.select(basis_expr(plan, ["toy.award"])).to_series().to_list()

    assert basis[0] == (
        "toy.award=2000.00 ← 研发增长 / R&D grew; rd=200; rd@prev=100;"
        " award=¥2,000.00 [文件二号 第二条]"
    )
    assert "10.00" in basis[1] and "has R&D" in basis[1]
    assert basis[2].startswith("toy.award=0.00 ← 无研发 / no R&D")


@pytest.mark.parametrize(
    "policy_id",
    ALL_POLICIES,
)
def test_the_branch_by_branch_basis_is_the_same_text_as_the_expression(policy_id: str) -> None:
    from wotu.organisations.facts import EXPORT_COLUMNS
    from wotu.organisations.synth import city_generate
    from wotu.policies.catalog import policy_get
    from wotu.policies.explain import basis_series
    from wotu.policies.tests.test_specs import spec_frame

    names = [name for name, _ in EXPORT_COLUMNS]
    rows = city_generate(enterprises=150, first_year=2021, last_year=2023, seed=11)
    frame = spec_frame([dict(zip(names, row, strict=True)) for row in rows])
    plan, result = evaluate(policy_get(policy_id), frame.lazy(), year=2023)

    expected = result.select(basis_expr(plan).alias("basis")).to_series()

    assert basis_series(plan, result).to_list() == expected.to_list()


def test_several_policies_evaluated_together_give_what_each_gives_alone() -> None:
    from wotu.organisations.facts import EXPORT_COLUMNS
    from wotu.organisations.synth import city_generate
    from wotu.policies.catalog import policy_get
    from wotu.policies.engine import evaluate_many
    from wotu.policies.tests.test_specs import spec_frame

    names = [name for name, _ in EXPORT_COLUMNS]
    rows = city_generate(enterprises=200, first_year=2020, last_year=2023, seed=12)
    frame = spec_frame([dict(zip(names, row, strict=True)) for row in rows]).lazy()
    policies = [policy_get(policy_id) for policy_id in ALL_POLICIES]

    together = evaluate_many(policies, frame, year=2023)

    for policy, (plan, result) in zip(policies, together, strict=True):
        alone = evaluate(policy, frame, year=2023)[1]
        assert plan.policy is policy
        assert result.select(alone.columns).equals(alone)


def test_an_output_used_by_a_later_output_is_explained_once(params: ParameterSet) -> None:
    frame = facts(uscc=["A", "A"], year=[2022, 2023], rd=[100, 200])
    plan, result = evaluate(toy_policy(params), frame, year=2023)

    tree = explain_rows(plan, result, uscc="A")

    capped = tree["outputs"][1]
    assert capped["rule"] == "toy.capped"
    assert capped["rules"] == [{"rule": "toy.award", "see_above": True}]


@pytest.fixture(scope="module")
def history_policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("toy") / "toy.yaml"
    path.write_text(YAML, encoding="utf-8")
    params = parameters_load(path)
    policy = Policy(id="h", zh="历史", en="history", kind="assess", parameters=params,
                    outputs=("prev", "sum3", "count3", "before", "has_prev"))  # fmt: skip
    ref = params["award"].values[0].reference
    formulas = {
        "prev": lambda f: f.prev("rd"),
        "sum3": lambda f: f.sum_years("rd", 3),
        "count3": lambda f: f.count_years(3),
        "before": lambda f: f.any_before("flag"),
        "has_prev": lambda f: f.has_prev(),
    }
    for name, formula in formulas.items():
        policy.rule(name, zh=name, en=name, unit="count", reference=ref)(formula)
    return policy


FIRM_YEARS = st.dictionaries(
    st.tuples(st.sampled_from("ABCD"), st.integers(2017, 2025)),
    st.tuples(st.none() | st.integers(-(10**12), 10**12), st.none() | st.booleans()),
    max_size=30,
)


@given(rows=FIRM_YEARS)
def test_history_values_are_what_the_enterprise_s_own_earlier_rows_say(
    history_policy: Policy, rows: dict[tuple[str, int], tuple[int | None, bool | None]]
) -> None:
    year = 2022
    frame = pl.DataFrame(
        [(uscc, at, rd, flag) for (uscc, at), (rd, flag) in rows.items()],
        schema={"uscc": pl.String, "year": pl.Int64, "rd": pl.Int64, "flag": pl.Boolean},
        orient="row",
    )

    result = evaluate(history_policy, frame.lazy(), year=year)[1]

    firms = sorted({uscc for uscc, at in rows if at == year})
    assert result["uscc"].to_list() == firms
    for row in result.iter_rows(named=True):
        own = {at: values for (uscc, at), values in rows.items() if uscc == row["uscc"]}
        window = [own[at][0] for at in own if year - 2 <= at <= year]
        assert row["prev"] == (own[year - 1][0] if year - 1 in own else None)
        assert row["has_prev"] == (year - 1 in own)
        assert row["sum3"] == sum(rd for rd in window if rd is not None)
        assert row["count3"] == len(window)
        assert row["before"] == any(own[at][1] is True for at in own if at < year)
