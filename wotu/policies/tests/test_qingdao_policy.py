"""qingdao-wotu-2021 as a whole: its years, how awards combine, labels and references, and the
parameters the seed leaves open."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from wotu.policies.catalog import policy_get
from wotu.policies.catalog.qingdao.wotu_2021 import AWARDS, build
from wotu.policies.engine import Formula, PolicyError, evaluate, plan_build
from wotu.policies.tests.test_specs import spec_frame


def run(rows: list[dict[str, Any]], year: int, **kwargs: Any) -> pl.DataFrame:
    policy = kwargs.pop("policy", policy_get("qingdao-wotu-2021"))
    _, result = evaluate(policy, spec_frame(rows).lazy(), year=year, **kwargs)
    return result


@pytest.mark.parametrize("year", [2020, 2025])
def test_a_year_outside_2021_to_2024_is_refused(year: int) -> None:
    with pytest.raises(PolicyError) as raised:
        run([{"uscc": "A", "year": year}], year)

    assert "2021—2024" in raised.value.zh and "2021–2024" in raised.value.en


def test_the_plans_years_are_declared_for_callers_to_check() -> None:
    assert policy_get("qingdao-wotu-2021").years == (2021, 2024)


def test_a_defect_paying_both_certification_awards_stops_the_run() -> None:
    # Given a (deliberately wrong) re-certification formula that pays everyone from 2023
    policy = build()

    @policy.rule("qingdao.hitech_recert", zh="错误公式", en="faulty formula", unit="CNY",
                 reference=policy.rules["qingdao.hitech_recert"].reference,
                 since=dt.date(2023, 1, 1))  # fmt: skip
    def faulty(f: Formula) -> Any:
        return f.param("hitech_recert.award")

    # When a first-certified firm is evaluated, then the exclusive combination names it
    first = {"uscc": "A", "year": 2023, "hitech_cert_year": 2023, "hitech_first_cert_year": 2023}
    with pytest.raises(PolicyError, match=r"qingdao\.hitech_certification.*: A"):
        run([first], 2023, policy=policy)


def test_the_total_adds_every_award_of_a_firm() -> None:
    # Given a firm first certified this year, new in the listing pool with R&D growth, ranked
    # for R&D growth
    rows = [
        {"uscc": "A", "year": 2022, "above_designated_size": True, "rd_expense": "1000000"},
        {"uscc": "A", "year": 2023, "above_designated_size": True, "rd_expense": "3000000",
         "hitech_cert_year": 2023, "hitech_first_cert_year": 2023, "in_listing_pool": True},
    ]  # fmt: skip

    row = run(rows, 2023).row(0, named=True)

    # Then 150,000 + 10 % × 3,000,000 (first certification) + 20 % × 2,000,000 (listing pool)
    # + 200,000 (project) + 20 % × 2,000,000 (top 200) = 1,450,000
    assert [row[name] for name in AWARDS] == [45_000_000, 0, 40_000_000, 20_000_000,
                                              40_000_000, 0, 0]  # fmt: skip
    assert row["qingdao.total"] == 145_000_000


def test_the_odd_fen_of_the_pool_award_goes_to_the_city() -> None:
    policy = policy_get("qingdao-wotu-2021")
    scenario = policy.parameters.with_overrides(
        {"cultivation_pool.award": "100000.01"}, since=dt.date(2021, 1, 1)
    )
    rows = [
        {"uscc": "A", "year": 2021, "revenue": "9000000", "rd_expense": "1"},
        {"uscc": "A", "year": 2022, "tech_sme_number": "2022370212A0000001", "rd_expense": "2"},
    ]

    row = run(rows, 2022, parameters=scenario).row(0, named=True)

    assert row["qingdao.cultivation_pool_growth"] == 10_000_001
    assert row["qingdao.cultivation_pool_growth_city"] == 5_000_001
    assert row["qingdao.cultivation_pool_growth_district"] == 5_000_000


def test_growth_can_be_redefined_by_a_scenario() -> None:
    # Given a firm whose revenue grew but R&D did not, and "with growth" = revenue only
    policy = policy_get("qingdao-wotu-2021")
    scenario = policy.parameters.with_overrides(
        {"cultivation_pool.growth_measures": ["revenue"]}, since=dt.date(2021, 1, 1)
    )
    rows = [
        {"uscc": "A", "year": 2021, "revenue": "9000000", "rd_expense": "5"},
        {"uscc": "A", "year": 2022, "tech_sme_number": "2022370212A0000001", "rd_expense": "5"},
    ]

    row = run(rows, 2022, parameters=scenario).row(0, named=True)

    assert row["qingdao.cultivation_pool_growth"] == 10_000_000


def test_an_unknown_growth_measure_is_refused_when_the_plan_is_built() -> None:
    policy = policy_get("qingdao-wotu-2021")
    scenario = policy.parameters.with_overrides(
        {"cultivation_pool.growth_measures": ["profit"]}, since=dt.date(2021, 1, 1)
    )

    with pytest.raises(PolicyError, match="profit"):
        plan_build(policy, year=2022, available=spec_frame([{"uscc": "A", "year": 2022}]).columns,
                   parameters=scenario)  # fmt: skip


def test_every_rule_and_branch_is_labelled_in_chinese_and_english() -> None:
    policy = policy_get("qingdao-wotu-2021")
    columns = [*spec_frame([{"uscc": "A", "year": 2022}]).columns, "loans", "loans_supplied"]

    plan = plan_build(policy, year=2022, available=columns)

    for name, item in plan.rules.items():
        assert item.rule.zh and item.rule.en, name
        assert item.rule.reference.document, name
        for branch in item.branches.items:
            assert branch.zh and branch.en, name


def test_every_parameter_value_cites_a_document() -> None:
    parameters = policy_get("qingdao-wotu-2021").parameters

    for name in parameters.names():
        for dated in parameters[name].values:
            assert dated.reference.document, name


@pytest.mark.parametrize(
    "name",
    [
        "cultivation_pool.size",
        "cultivation_pool.growth_measures",
        "cultivation_pool.growth_min_rate",
        "cultivation_pool.award",
        "cultivation_pool.city_share",
        "cultivation_pool.ip_class1_points",
        "cultivation_pool.ip_class2_points",
        "cultivation_pool.rd_revenue_points",
        "cultivation_pool.rd_costs_points",
        "listing_pool.project_award",
    ],
)
def test_each_point_the_seed_leaves_open_has_a_note_with_the_default(name: str) -> None:
    note = policy_get("qingdao-wotu-2021").parameters[name].note

    assert "种子文件" in note and "seed" in note and "default" in note


def test_the_benchmark_follows_the_lpr_table_from_the_pboc_rate() -> None:
    benchmark = policy_get("qingdao-wotu-2021").parameters["loan_subsidy.benchmark_rate"]

    assert benchmark.at(dt.date(2019, 8, 19)).value * 100 == pytest.approx(4.35)
    assert benchmark.at(dt.date(2019, 8, 20)).reference.document == "中国人民银行公告〔2019〕第15号"
    assert [str(v.since) for v in benchmark.values][-3:] == [
        "2024-07-22",
        "2024-10-21",
        "2025-05-20",
    ]
