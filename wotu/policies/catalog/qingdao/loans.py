"""Qingdao's interest subsidy on 投(保)贷联动 loans: the per-loan arithmetic shared by the
policy rule and the per-loan breakdown, and the ``prepare`` hook that hands each enterprise its
loans. Reading and checking the table: :mod:`wotu.policies.catalog.qingdao.loans_table`.

Per loan and year Y (defaults from the parameters)::

    days      = min(end, 1 Jan Y+1) − max(start, 1 Jan Y), never below 0 (start counted, end not)
    rate used = min(annual_rate, benchmark in force on start_date)
    subsidy   = rate used × days / 360 × (min(P, 5 M) + 50 % × clamp(P − 5 M, 0, 5 M))

rounded half-up to the fen once, per loan, from the exact rational value (Int128
intermediates); ``days`` never exceeds 366. Only loans whose linkage is in
``loan_subsidy.linkages`` qualify. Everything that depends on a parameter is computed by the
rules from the parameters of the run, so a scenario overriding a loan parameter is honoured
and cited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from wotu.policies.catalog.qingdao.loans_table import (
    MAX_REPORTED,
    RATE_SCALE,
    loan_problem,
    loans_error,
    loans_parse,
)
from wotu.policies.engine import PolicyError
from wotu.policies.parameters import ParameterSet, Reference, parameters_load

EPOCH = dt.date(1970, 1, 1)

# The per-enterprise column ``prepare`` adds for the rules (JSON text of a list of these
# structs, one per loan outstanding during the year) and the flag telling the rules a loans
# table was given.
LOANS = "loans"
LOANS_SUPPLIED = "loans_supplied"
LOAN_STRUCT = pl.Struct(
    {
        "loan_id": pl.String,
        "principal_fen": pl.Int64,
        "annual_rate_e8": pl.Int64,
        "start_date": pl.String,
        "end_date": pl.String,
        "days_in_year": pl.Int64,
        "linkage": pl.String,
    }
)

FULL_PRINCIPAL = "loan_subsidy.full_principal"
UPPER_PRINCIPAL = "loan_subsidy.upper_principal"
UPPER_SHARE = "loan_subsidy.upper_share"
DAY_BASIS = "loan_subsidy.day_basis"
LINKAGES = "loan_subsidy.linkages"
BENCHMARK = "loan_subsidy.benchmark_rate"
LOAN_PARAMETERS = (FULL_PRINCIPAL, UPPER_PRINCIPAL, UPPER_SHARE, DAY_BASIS, LINKAGES, BENCHMARK)

PARAMETERS_FILE = Path(__file__).with_name("wotu_2021.yaml")


@dataclass(frozen=True)
class Benchmark:
    since: dt.date
    rate_e8: int
    reference: Reference


@dataclass(frozen=True)
class LoanTerms:
    """The subsidy's parameters in force for one run, in the exact units the arithmetic uses."""

    full_principal_fen: int
    upper_principal_fen: int
    upper_share: Fraction
    day_basis: int
    linkages: tuple[str, ...]
    benchmarks: tuple[Benchmark, ...]  # every dated benchmark, oldest first


def loan_terms(parameters: ParameterSet, instant: dt.date) -> LoanTerms:
    """The loan parameters in force at ``instant``; the benchmark keeps all its dated values
    because each loan takes the one in force on its own start date."""
    day_basis = int(parameters[DAY_BASIS].at(instant).value)
    if day_basis <= 0:
        raise PolicyError("计息天数基数须为正数", "the day-count basis must be positive")
    return LoanTerms(
        full_principal_fen=int(parameters[FULL_PRINCIPAL].at(instant).value),
        upper_principal_fen=int(parameters[UPPER_PRINCIPAL].at(instant).value),
        upper_share=Fraction(parameters[UPPER_SHARE].at(instant).value),
        day_basis=day_basis,
        linkages=tuple(parameters[LINKAGES].at(instant).value),
        benchmarks=tuple(
            Benchmark(dated.since, _rate_e8(Fraction(dated.value)), dated.reference)
            for dated in parameters[BENCHMARK].values
        ),
    )


def _rate_e8(rate: Fraction) -> int:
    scaled = rate * RATE_SCALE
    if scaled.denominator != 1:
        raise PolicyError(
            f"基准利率 {float(rate):.10g} 精度超过 1e-8",
            f"benchmark rate {rate} is finer than 1e-8",
        )
    return int(scaled)


# ---- the arithmetic, as Polars expressions over one loan ------------------------------------


@dataclass(frozen=True)
class LoanFields:
    """Expressions for one loan's values, from a flat frame or from a struct in a list."""

    principal_fen: pl.Expr
    annual_rate_e8: pl.Expr
    start_day: pl.Expr  # days since 1970-01-01
    days_in_year: pl.Expr
    linkage: pl.Expr


@dataclass(frozen=True)
class LoanExprs:
    benchmark_e8: pl.Expr
    benchmark_index: pl.Expr  # which dated benchmark applied (index into LoanTerms.benchmarks)
    rate_used_e8: pl.Expr
    full_part_fen: pl.Expr
    upper_part_fen: pl.Expr
    qualifies: pl.Expr
    subsidy_fen: pl.Expr


def loan_exprs(loan: LoanFields, terms: LoanTerms) -> LoanExprs:
    """Per-loan subsidy in exact integers: Int128 for the products, one half-up rounding."""
    benchmark_e8, benchmark_index = _benchmark(loan.start_day, terms.benchmarks)
    rate = loan.annual_rate_e8
    rate_used = pl.when(rate < benchmark_e8).then(rate).otherwise(benchmark_e8)
    principal = loan.principal_fen
    full_cap = pl.lit(terms.full_principal_fen, dtype=pl.Int64)
    upper_cap = pl.lit(terms.upper_principal_fen, dtype=pl.Int64)
    full = pl.when(principal < full_cap).then(principal).otherwise(full_cap)
    below_upper = pl.when(principal < upper_cap).then(principal).otherwise(upper_cap)
    upper = pl.when(below_upper > full_cap).then(below_upper - full_cap).otherwise(0)
    share = terms.upper_share
    weighted = full.cast(pl.Int128) * share.denominator + upper.cast(pl.Int128) * share.numerator
    numerator = rate_used.cast(pl.Int128) * loan.days_in_year.cast(pl.Int128) * weighted
    denominator = pl.lit(terms.day_basis * RATE_SCALE * share.denominator, dtype=pl.Int128)
    rounded = ((numerator * 2 + denominator) // (denominator * 2)).cast(pl.Int64)
    qualifies = loan.linkage.is_in(list(terms.linkages)) & (loan.days_in_year > 0)
    subsidy = (
        pl.when(qualifies & benchmark_e8.is_not_null())
        .then(rounded)
        .otherwise(pl.lit(0, dtype=pl.Int64))
    )
    return LoanExprs(
        benchmark_e8, benchmark_index, rate_used, full, upper, qualifies.fill_null(False), subsidy
    )


def _benchmark(start_day: pl.Expr, benchmarks: tuple[Benchmark, ...]) -> tuple[pl.Expr, pl.Expr]:
    """The benchmark in force on the start date: the latest dated on or before it (null before
    the first one)."""
    rate: Any = None
    index: Any = None
    for number in reversed(range(len(benchmarks))):
        item = benchmarks[number]
        since = (item.since - EPOCH).days
        on_or_after = start_day >= since
        value = pl.lit(item.rate_e8, dtype=pl.Int64)
        place = pl.lit(number, dtype=pl.Int64)
        rate = (pl.when(on_or_after) if rate is None else rate.when(on_or_after)).then(value)
        index = (pl.when(on_or_after) if index is None else index.when(on_or_after)).then(place)
    if rate is None:
        none = pl.lit(None, dtype=pl.Int64)
        return none, none
    return rate.otherwise(None), index.otherwise(None)


def loans_in_list(terms: LoanTerms) -> LoanExprs:
    """The per-loan expressions over ``pl.element()`` of the ``loans`` list column."""
    element = pl.element()
    return loan_exprs(
        LoanFields(
            principal_fen=element.struct.field("principal_fen"),
            annual_rate_e8=element.struct.field("annual_rate_e8"),
            start_day=element.struct.field("start_date").str.to_date("%Y-%m-%d").cast(pl.Int64),
            days_in_year=element.struct.field("days_in_year"),
            linkage=element.struct.field("linkage"),
        ),
        terms,
    )


def days_in_year(start: pl.Expr, end: pl.Expr, year: int) -> pl.Expr:
    """Days of ``year`` from ``start`` up to but excluding ``end`` (never negative)."""
    first = pl.lit(dt.date(year, 1, 1))
    after = pl.lit(dt.date(year + 1, 1, 1))
    begin = pl.when(start > first).then(start).otherwise(first)
    finish = pl.when(end < after).then(end).otherwise(after)
    days = (finish - begin).dt.total_days()
    return pl.when(days > 0).then(days).otherwise(0).cast(pl.Int64)


def _benchmark_gaps(loans: pl.DataFrame, terms: LoanTerms) -> None:
    """A linked loan outstanding in the year that starts before the first dated benchmark has
    no benchmark: refuse rather than guess."""
    first = terms.benchmarks[0].since
    bad = loans.filter(
        (pl.col("days_in_year") > 0) & (pl.col("linkage") != "") & (pl.col("start_date") < first)
    ).head(MAX_REPORTED)
    errors = [
        loan_problem(
            row,
            "start_date",
            start.isoformat(),
            f"早于参数 {BENCHMARK} 最早的基准利率日期 {first}："
            "无法确定基准利率，请补充该日生效的基准利率",
            f"before the earliest benchmark in {BENCHMARK} ({first}): the benchmark cannot be"
            " determined; add the benchmark in force on that date",
        )
        for row, start in bad.select("row", "start_date").iter_rows()
    ]
    if errors:
        raise loans_error(errors)


# ---- what the policy and the explanations use ----------------------------------------------


@cache
def published_parameters() -> ParameterSet:
    return parameters_load(PARAMETERS_FILE)


def loans_prepare(
    facts: pl.LazyFrame, tables: Mapping[str, pl.LazyFrame], year: int
) -> pl.LazyFrame:
    """``Policy.prepare``: add per enterprise, on its row of ``year``, the list of its loans
    outstanding during the year (column ``loans``, JSON text) and whether a loans table was supplied
    (``loans_supplied``). Everything that depends on parameters is computed by the rules, so
    a scenario that overrides a loan parameter is honoured and cited."""
    facts = facts.drop(LOANS, LOANS_SUPPLIED, strict=False)
    table = tables.get("loans")
    if table is None:
        return facts.with_columns(
            pl.lit(False).alias(LOANS_SUPPLIED), pl.lit(None, dtype=pl.String).alias(LOANS)
        )
    loans = loans_parse(table.collect()).with_columns(
        days_in_year=days_in_year(pl.col("start_date"), pl.col("end_date"), year)
    )
    _benchmark_gaps(loans, loan_terms(published_parameters(), dt.date(year, 12, 31)))
    per_enterprise = (
        loans.filter(pl.col("days_in_year") > 0)
        .sort("uscc", "loan_id")
        .group_by("uscc", maintain_order=True)
        .agg(
            pl.struct(
                "loan_id",
                "principal_fen",
                "annual_rate_e8",
                pl.col("start_date").dt.to_string("%Y-%m-%d"),
                pl.col("end_date").dt.to_string("%Y-%m-%d"),
                "days_in_year",
                "linkage",
            ).alias(LOANS)
        )
        .select(
            "uscc",
            pl.lit(year, dtype=pl.Int64).alias("year"),
            _json_array(pl.col(LOANS)).alias(LOANS),
        )
    )
    return facts.join(per_enterprise.lazy(), on=["uscc", "year"], how="left").with_columns(
        pl.lit(True).alias(LOANS_SUPPLIED)
    )


def _json_array(loans: pl.Expr) -> pl.Expr:
    """A list of loan structs as JSON text: the column stays a plain string, so explanations,
    the ``basis`` column and exports show it as is."""
    wrapped = pl.struct(loans.alias("l")).struct.json_encode()
    return wrapped.str.strip_prefix('{"l":').str.strip_suffix("}")


def loans_decoded(column: pl.Expr) -> pl.Expr:
    """The ``loans`` JSON text back as a list of loan structs (null stays null)."""
    return column.str.json_decode(pl.List(LOAN_STRUCT))


def loan_breakdown(
    loans: pl.DataFrame, year: int, *, parameters: ParameterSet | None = None
) -> pl.DataFrame:
    """One row per loan of the table (in its order) showing how its subsidy for ``year`` was
    reached — for ``wotu explain`` and the API to print beside the enterprise's total:

    ``loan_id, uscc, bank, linkage, start_date, end_date, days_in_year, principal_fen,
    full_part_fen, upper_part_fen, annual_rate, benchmark_rate, benchmark_since,
    benchmark_reference, rate_used, qualifies, subsidy_fen, subsidy_cny, status_zh,
    status_en`` (rates as text such as "3.85%", money as integer fen and ``subsidy_cny`` as
    text with two decimals). The sum of ``subsidy_fen`` per USCC is exactly the enterprise's
    ``qingdao.loan_interest_subsidy``. ``parameters``: a scenario (default: the published ones).
    """
    params = parameters or published_parameters()
    terms = loan_terms(params, dt.date(year, 12, 31))
    typed = loans_parse(loans).with_columns(
        days_in_year=days_in_year(pl.col("start_date"), pl.col("end_date"), year)
    )
    _benchmark_gaps(typed, terms)
    exprs = loan_exprs(
        LoanFields(
            principal_fen=pl.col("principal_fen"),
            annual_rate_e8=pl.col("annual_rate_e8"),
            start_day=pl.col("start_date").cast(pl.Int64),
            days_in_year=pl.col("days_in_year"),
            linkage=pl.col("linkage"),
        ),
        terms,
    )
    frame = typed.with_columns(
        benchmark_e8=exprs.benchmark_e8,
        benchmark_index=exprs.benchmark_index,
        rate_used_e8=exprs.rate_used_e8,
        full_part_fen=exprs.full_part_fen,
        upper_part_fen=exprs.upper_part_fen,
        qualifies=exprs.qualifies,
        subsidy_fen=exprs.subsidy_fen,
    )
    since = {i: b.since for i, b in enumerate(terms.benchmarks)}
    reference = {i: _reference_text(b.reference) for i, b in enumerate(terms.benchmarks)}
    return frame.select(
        "loan_id",
        "uscc",
        "bank",
        "linkage",
        "start_date",
        "end_date",
        "days_in_year",
        "principal_fen",
        "full_part_fen",
        "upper_part_fen",
        _rate_text("annual_rate_e8").alias("annual_rate"),
        _rate_text("benchmark_e8").alias("benchmark_rate"),
        pl.col("benchmark_index")
        .replace_strict(since, default=None, return_dtype=pl.Date)
        .alias("benchmark_since"),
        pl.col("benchmark_index")
        .replace_strict(reference, default=None, return_dtype=pl.String)
        .alias("benchmark_reference"),
        _rate_text("rate_used_e8").alias("rate_used"),
        "qualifies",
        "subsidy_fen",
        _fen_text("subsidy_fen").alias("subsidy_cny"),
        _status(terms, 0).alias("status_zh"),
        _status(terms, 1).alias("status_en"),
    )


STATUS = (
    ("贴息", "subsidised"),
    ("非投(保)贷联动贷款，不予贴息", "not an invest- or insure-linked loan: no subsidy"),
    ("本年度不在贷款期内", "not outstanding during the year"),
)


def _status(terms: LoanTerms, language: int) -> pl.Expr:
    linked = pl.col("linkage").is_in(list(terms.linkages))
    return (
        pl.when(pl.col("qualifies"))
        .then(pl.lit(STATUS[0][language]))
        .when(~linked)
        .then(pl.lit(STATUS[1][language]))
        .otherwise(pl.lit(STATUS[2][language]))
    )


def _reference_text(reference: Reference) -> str:
    return reference.short() + (f"（{reference.note}）" if reference.note else "")


def _rate_text(name: str) -> pl.Expr:
    """An e8 rate as a percentage text, exactly (3850000 → "3.85%")."""
    e8 = pl.col(name)
    whole = (e8 // 1_000_000).cast(pl.String)
    decimals = (e8 % 1_000_000).cast(pl.String).str.zfill(6).str.strip_chars_end("0")
    text = (
        pl.when(decimals == "").then(whole).otherwise(pl.concat_str(whole, pl.lit("."), decimals))
    )
    return pl.concat_str(text, pl.lit("%"))


def _fen_text(name: str) -> pl.Expr:
    fen = pl.col(name)
    return pl.concat_str(
        (fen // 100).cast(pl.String), pl.lit("."), (fen % 100).cast(pl.String).str.zfill(2)
    )
