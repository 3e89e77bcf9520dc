"""The loans table of Qingdao's interest subsidy: bad rows named by row and column, the
per-loan breakdown, scenarios, and explanations of runs that read loans."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from wotu.policies.catalog import policy_get
from wotu.policies.catalog.qingdao.wotu_2021 import build, loan_subsidy_breakdown
from wotu.policies.engine import PolicyError, evaluate
from wotu.policies.explain import basis_expr, explain_rows, explain_text
from wotu.policies.inputs import FactsInputError
from wotu.policies.tests.test_specs import spec_frame

HAINA = "91370212MA3C000114"
JIAODONG = "91370212MA3C0002XU"


def loan(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "loan_id": "L1",
        "uscc": HAINA,
        "bank": "崂山银行",
        "principal": "5000000",
        "annual_rate": "4.5%",
        "start_date": "2022-01-01",
        "end_date": "2023-01-01",
        "linkage": "invest",
    }
    return row | overrides


def loans_frame(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={name: pl.String for name in rows[0]})


def run(loans: pl.DataFrame | None, *, year: int = 2022, **kwargs: Any) -> Any:
    facts = spec_frame([{"uscc": HAINA, "year": year}, {"uscc": JIAODONG, "year": year}])
    tables = {} if loans is None else {"loans": loans.lazy()}
    return evaluate(
        kwargs.pop("policy", policy_get("qingdao-wotu-2021")),
        facts.lazy(),
        year=year,
        tables=tables,
        **kwargs,
    )


def problems(loans: pl.DataFrame) -> list[tuple[int, str]]:
    with pytest.raises(FactsInputError) as raised:
        run(loans)
    return [(error.row, error.column) for error in raised.value.errors]


def test_an_end_date_before_the_start_date_is_reported_on_its_row() -> None:
    bad = loans_frame(loan(), loan(loan_id="L2", start_date="2022-05-01", end_date="2022-04-30"))

    with pytest.raises(FactsInputError) as raised:
        run(bad)

    (error,) = raised.value.errors
    assert (error.row, error.column, error.value) == (3, "end_date", "2022-04-30")
    assert "到期日早于起始日" in error.zh and "before start_date 2022-05-01" in error.en
    assert "row 3, column end_date" in str(raised.value)


def test_a_negative_principal_is_refused() -> None:
    assert problems(loans_frame(loan(principal="-100"))) == [(2, "principal")]


def test_a_malformed_uscc_is_refused_with_the_reason() -> None:
    with pytest.raises(FactsInputError) as raised:
        run(loans_frame(loan(uscc="91370212MA3C000115")))

    (error,) = raised.value.errors
    assert error.column == "uscc" and "check character" in error.en


def test_a_rate_that_is_not_a_number_is_refused() -> None:
    assert problems(loans_frame(loan(annual_rate="LPR+50bp"))) == [(2, "annual_rate")]


def test_a_rate_written_as_a_bare_percentage_is_refused_with_a_hint() -> None:
    with pytest.raises(FactsInputError) as raised:
        run(loans_frame(loan(annual_rate="3.85")))

    (error,) = raised.value.errors
    assert "3.85%" in error.en and "0.0385" in error.en


def test_a_date_that_is_not_a_date_is_refused() -> None:
    assert problems(loans_frame(loan(start_date="2022/13/01"))) == [(2, "start_date")]


def test_an_unknown_linkage_is_refused() -> None:
    assert problems(loans_frame(loan(linkage="guarantee"))) == [(2, "linkage")]


def test_a_loan_id_used_twice_is_refused_on_the_second_row() -> None:
    assert problems(loans_frame(loan(), loan())) == [(3, "loan_id")]


def test_every_bad_cell_is_reported_at_once_in_row_order() -> None:
    bad = loans_frame(
        loan(loan_id="L1", principal="abc", annual_rate="-1%"),
        loan(loan_id="L2", uscc=""),
        loan(loan_id="L3", end_date="2021-01-01"),
    )

    assert problems(bad) == [
        (2, "principal"),
        (2, "annual_rate"),
        (3, "uscc"),
        (4, "end_date"),
    ]


def test_missing_columns_are_named() -> None:
    with pytest.raises(FactsInputError) as raised:
        run(loans_frame(loan()).drop("linkage", "bank"))

    assert "bank, linkage" in raised.value.en


def test_a_linked_loan_older_than_the_first_benchmark_is_refused() -> None:
    old = loans_frame(loan(start_date="2015-10-23", end_date="2022-06-01"))

    assert problems(old) == [(2, "start_date")]


def test_typed_columns_are_read_like_text() -> None:
    # Given a loans table as Parquet or Excel would give it: numbers, dates and datetimes
    typed = pl.DataFrame(
        {
            "loan_id": ["L1"],
            "uscc": [HAINA.lower()],
            "bank": [None],
            "principal": [5_000_000.0],
            "annual_rate": [0.045],
            "start_date": [dt.datetime(2022, 1, 1)],
            "end_date": [dt.date(2023, 1, 1)],
            "linkage": [" Invest "],
        }
    )

    _, result = run(typed)

    # Then the subsidy is the spec's: 5,000,000 × 3.80 % × 365 / 360
    subsidy = result.filter(pl.col("uscc") == HAINA).get_column("qingdao.loan_interest_subsidy")
    assert subsidy.item() == 19_263_889


def test_principal_beyond_the_fen_is_rounded_half_up() -> None:
    breakdown = loan_subsidy_breakdown(loans_frame(loan(principal="1000000.005")), 2022)

    assert breakdown.get_column("principal_fen").item() == 100_000_001


def test_the_breakdown_shows_each_loans_benchmark_with_its_date_and_reference() -> None:
    loans = loans_frame(
        loan(loan_id="L1", start_date="2021-12-20", end_date="2022-12-31", annual_rate="5%"),
        loan(loan_id="L2", start_date="2019-08-19", end_date="2022-08-19", annual_rate="6%"),
        loan(loan_id="L3", uscc=JIAODONG, linkage=""),
    )

    breakdown = loan_subsidy_breakdown(loans, 2022).rows_by_key("loan_id", named=True)

    first, legacy, unlinked = breakdown["L1"][0], breakdown["L2"][0], breakdown["L3"][0]
    assert (first["benchmark_rate"], first["benchmark_since"]) == ("3.8%", dt.date(2021, 12, 20))
    assert "全国银行间同业拆借中心" in first["benchmark_reference"]
    assert (first["rate_used"], first["days_in_year"]) == ("3.8%", 364)
    assert (legacy["benchmark_rate"], legacy["benchmark_since"]) == ("4.35%", dt.date(2015, 10, 24))
    assert "中国人民银行" in legacy["benchmark_reference"]
    assert legacy["days_in_year"] == 230  # 2022-01-01 → 2022-08-19
    assert (unlinked["qualifies"], unlinked["subsidy_fen"]) == (False, 0)
    assert unlinked["status_en"] == "not an invest- or insure-linked loan: no subsidy"


def test_the_breakdown_adds_up_to_each_enterprises_subsidy() -> None:
    loans = loans_frame(
        loan(loan_id="L1", principal="7000000.33"),
        loan(loan_id="L2", principal="1.25", start_date="2021-03-01", end_date="2022-03-05"),
        loan(loan_id="L3", uscc=JIAODONG, principal="12000000", linkage="insure"),
    )

    breakdown = loan_subsidy_breakdown(loans, 2022)
    _, result = run(loans)

    per_enterprise = dict(breakdown.group_by("uscc").agg(pl.col("subsidy_fen").sum()).iter_rows())
    assert per_enterprise == dict(
        result.select("uscc", "qingdao.loan_interest_subsidy").iter_rows()
    )


def test_the_breakdown_refuses_a_year_outside_the_plan() -> None:
    with pytest.raises(PolicyError, match="2021–2024"):
        loan_subsidy_breakdown(loans_frame(loan()), 2025)


def test_a_scenario_raising_the_full_subsidy_limit_is_honoured() -> None:
    # Given a 10 M loan and a scenario subsidising the first 10 M in full
    loans = loans_frame(loan(principal="10000000"))
    policy = policy_get("qingdao-wotu-2021")
    scenario = policy.parameters.with_overrides(
        {"loan_subsidy.full_principal": 10_000_000}, since=dt.date(2021, 1, 1)
    )

    _, result = run(loans, parameters=scenario)

    # Then 10,000,000 × 3.80 % × 365 / 360 = 385,277.78, in the run and in the breakdown
    subsidy = result.filter(pl.col("uscc") == HAINA).get_column("qingdao.loan_interest_subsidy")
    assert subsidy.item() == 38_527_778
    breakdown = loan_subsidy_breakdown(loans, 2022, parameters=scenario)
    assert breakdown.get_column("subsidy_fen").item() == 38_527_778


def test_the_explanation_cites_the_loan_parameters_with_their_references() -> None:
    plan, result = run(loans_frame(loan()))

    text = explain_text(
        explain_rows(plan, result, uscc=HAINA, outputs=["qingdao.loan_interest_subsidy"])
    )

    assert "loan_subsidy.full_principal = ¥5,000,000.00" in text
    assert "全国银行间同业拆借中心" in text
    assert '"loan_id":"L1"' in text


def test_a_run_without_loans_says_no_loans_were_supplied() -> None:
    plan, result = run(None)

    text = explain_text(
        explain_rows(plan, result, uscc=HAINA, outputs=["qingdao.loan_interest_subsidy"])
    )

    assert "未提供贷款表 / no loans supplied" in text
    assert result.get_column("qingdao.loan_interest_subsidy").to_list() == [0, 0]


def test_the_basis_column_is_built_for_every_row_of_a_run_with_loans() -> None:
    plan, result = run(loans_frame(loan()))

    basis = result.select(basis_expr(plan).alias("basis")).get_column("basis").to_list()

    assert len(basis) == 2
    assert "qingdao.loan_interest_subsidy=192638.89" in basis[0]


def test_a_policy_built_afresh_reads_loans_the_same_way() -> None:
    _, result = run(loans_frame(loan()), policy=build())

    assert result.get_column("qingdao.loan_interest_subsidy").to_list() == [19_263_889, 0]
