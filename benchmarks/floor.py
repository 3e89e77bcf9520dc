"""The floor: the four policies' rules for one year written directly in Polars, no engine.

    .venv/bin/python -m benchmarks.floor --facts city.parquet --out DIR [--year 2023]

What `benchmarks/policies_engine.py` measures Wotu against: the fastest pipeline a careful
engineer would hand-write for the same file and the same outputs — read the Parquet, money to
integer fen, the history joins (previous year, three-year sums, "ever in the listing pool")
done once for all four policies, every rule as a plain Polars expression, the same award and
assessment tables written to Parquet (``zstd``), but no ``basis`` column, no parameter files,
no validation of the cells and no dependency resolution. Parameters are the values in force in
2023 and 2024, written as constants (the catalogue's YAML holds them with their references).

Money is exact like Wotu's: Int64 fen, rates applied as integer fractions rounded half-up to
the fen (Int64 is enough here: amounts × 200 stay far below 9.2 × 10^18), ratio thresholds
compared by cross-multiplying. Prints one JSON line: timings, totals per scheme in fen and
assessment counts.
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

MONEY = (
    "revenue",
    "total_costs",
    "total_assets",
    "net_assets",
    "rd_expense",
    "rd_expense_domestic",
    "rd_deductible",
    "hitech_revenue",
)
YEARS_IN_FORCE = (2023, 2024)  # the constants below are the values in force in these years
YUAN = 100  # fen

# qingdao-wotu-2021 (青岛“沃土计划”)
FIRST_CERT_BASE = 150_000 * YUAN
FIRST_CERT_RD = (1, 10)  # 10 % of rd_deductible
FIRST_CERT_RD_CAP = 300_000 * YUAN
RECERT_AWARD = 100_000 * YUAN
LISTING_RD = (1, 5)  # 20 % of the increase
LISTING_RD_CAP = 3_000_000 * YUAN
LISTING_PROJECT = 200_000 * YUAN
GROWTH_MIN_INCREASE = 1_000_000 * YUAN
GROWTH_TOP_N = 200
GROWTH_RATE = (1, 5)
GROWTH_CAP = 500_000 * YUAN
POOL_SIZE = 1000
CERT_VALID_YEARS = 3
POOL_AWARD = 100_000 * YUAN
POOL_CITY_SHARE = (1, 2)
# (percent threshold, points), highest first — 国科发政〔2017〕115号 第七条
STAFF_BANDS = ((30, 20), (25, 16), (20, 12), (15, 8), (10, 4))
RD_REVENUE_BANDS = ((6, 50), (5, 40), (4, 30), (3, 20), (2, 10))
RD_COSTS_BANDS = ((30, 50), (25, 40), (20, 30), (15, 20), (10, 10))
IP_CLASS2 = ((4, 24), (3, 18), (2, 12), (1, 6))
IP_CLASS1 = 30
QINGDAO_AWARDS = (
    "qingdao.hitech_first_cert",
    "qingdao.hitech_recert",
    "qingdao.listing_pool_rd_growth",
    "qingdao.listing_pool_project",
    "qingdao.rd_growth_top200",
    "qingdao.cultivation_pool_growth_city",
    "qingdao.cultivation_pool_growth_district",
    "qingdao.loan_interest_subsidy",
)

# cn-hitech-2016 (国科发火〔2016〕32号 第十一条)
REGISTERED_MIN_DAYS = 365
SMALL_REVENUE_MAX = 50_000_000 * YUAN
MEDIUM_REVENUE_MAX = 200_000_000 * YUAN
RD_INTENSITY = {"small": 5, "medium": 4, "large": 3}  # percent
HITECH_CONDITIONS = (
    "registered_1y",
    "core_ip",
    "hitech_field",
    "st_staff",
    "rd_intensity",
    "domestic_rd",
    "hitech_revenue",
    "innovation_score",
    "no_incident",
)

# cn-tech-sme-2017
MAX_EMPLOYEES = 500
MAX_REVENUE = 200_000_000 * YUAN
MAX_ASSETS = 200_000_000 * YUAN
MIN_SCORE = 60

# cn-rd-super-deduction (rates in force in 2023 and 2024: 100 %, IC and mother machines 120 %)
EXCLUDED_INDUSTRIES = (
    "烟草制造业", "住宿和餐饮业", "批发和零售业", "房地产业", "租赁和商务服务业", "娱乐业",
    "C16", "H", "F", "K", "L", "R90",
)  # fmt: skip
RATE_IC = (6, 5)
RATE_OTHER = (1, 1)
TAX_HITECH = (3, 20)
TAX_STANDARD = (1, 4)


def half_up(fen: pl.Expr, fraction: tuple[int, int]) -> pl.Expr:
    """fen × num / den rounded half away from zero, in integers."""
    num, den = fraction
    magnitude = (fen.abs() * (2 * num) + den) // (2 * den)
    return pl.when(fen < 0).then(-magnitude).otherwise(magnitude)


def at_least(numerator: pl.Expr, denominator: pl.Expr, percent: int) -> pl.Expr:
    """numerator / denominator ≥ percent %, exactly; false when the denominator is not > 0."""
    return ((denominator > 0) & (numerator * 100 >= denominator * percent)).fill_null(False)


def bands(numerator: pl.Expr, denominator: pl.Expr, table: tuple[tuple[int, int], ...]) -> pl.Expr:
    chain: Any = None
    for percent, points in table:
        condition = at_least(numerator, denominator, percent)
        chain = (pl.when(condition) if chain is None else chain.when(condition)).then(points)
    result: pl.Expr = chain.otherwise(0).cast(pl.Int64)
    return result


# ---- reading -----------------------------------------------------------------------------------


def facts_read(path: Path) -> pl.DataFrame:
    """The Parquet with money as Int64 fen and the facts contract's defaults."""
    raw = pl.read_parquet(path)
    money = [
        pl.col(name).cast(pl.Decimal(20, 2)).to_physical().cast(pl.Int64)
        for name in MONEY
        if name in raw.columns
    ]
    frame = raw.with_columns(money)
    return frame.with_columns(
        pl.col("rd_expense_domestic").fill_null(pl.col("rd_expense")),
        pl.col("rd_deductible").fill_null(pl.col("rd_expense")),
        pl.col("tech_sme_number").fill_null(""),
        *[
            pl.col(name).fill_null(False)
            for name in ("manufacturing", "above_designated_size", "in_listing_pool", "incident")
        ],
        *[pl.col(name).fill_null(0) for name in ("ip_class1", "ip_class2")],
    )


def base_frame(facts: pl.DataFrame, year: int) -> pl.DataFrame:
    """The year's rows sorted by USCC with every history value the four policies read."""
    lazy = facts.lazy()
    prev = lazy.filter(pl.col("year") == year - 1).select(
        "uscc",
        pl.lit(True).alias("has_prev"),
        pl.col("revenue").alias("revenue_prev"),
        pl.col("rd_expense").alias("rd_expense_prev"),
        pl.col("rd_deductible").alias("rd_deductible_prev"),
        pl.col("incident").alias("incident_prev"),
    )
    three = (
        lazy.filter(pl.col("year").is_between(year - 2, year))
        .group_by("uscc")
        .agg(
            pl.col("rd_expense").sum().alias("rd_3y"),
            pl.col("revenue").sum().alias("revenue_3y"),
            pl.col("rd_expense_domestic").sum().alias("domestic_3y"),
        )
    )
    pooled = (
        lazy.filter((pl.col("year") < year) & pl.col("in_listing_pool"))
        .select("uscc")
        .unique()
        .with_columns(pl.lit(True).alias("pool_before"))
    )
    return (
        lazy.filter(pl.col("year") == year)
        .join(prev, on="uscc", how="left")
        .join(three, on="uscc", how="left")
        .join(pooled, on="uscc", how="left")
        .with_columns(
            pl.col("has_prev").fill_null(False),
            pl.col("pool_before").fill_null(False),
            cert_valid=(
                (pl.col("hitech_cert_year") <= year)
                & (pl.col("hitech_cert_year") > year - CERT_VALID_YEARS)
            ).fill_null(False),
        )
        .sort("uscc")
        .collect()
    )


def optional(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=dtype)


# ---- qingdao-wotu-2021 ---------------------------------------------------------------------------


def qingdao(base: pl.DataFrame, year: int) -> pl.DataFrame:
    """One row per positive award: uscc, year, scheme, amount_cny, name, district_code."""
    rd_increase = pl.when(pl.col("rd_expense_prev").is_not_null()).then(
        pl.col("rd_expense") - pl.col("rd_expense_prev")
    )
    lp_increase = pl.when(pl.col("has_prev")).then(
        pl.col("rd_deductible") - pl.col("rd_deductible_prev")
    )
    eligible = (
        pl.col("above_designated_size")
        & pl.col("sector").is_in(["industrial", "service"])
        & (pl.col("rd_increase") >= GROWTH_MIN_INCREASE)
    ).fill_null(False)
    frame = base.with_columns(rd_increase=rd_increase, lp_increase=lp_increase)
    top = (
        frame.filter(eligible)
        .sort(["rd_increase", "uscc"], descending=[True, False])
        .head(GROWTH_TOP_N)
        .select("uscc", pl.lit(True).alias("top200"))
    )
    candidate = (pl.col("tech_sme_number") != "") & ~pl.col("cert_valid")
    ip_points: Any = pl.when(pl.col("ip_class1") >= 1).then(IP_CLASS1)
    for count, points in IP_CLASS2:
        ip_points = ip_points.when(pl.col("ip_class2") >= count).then(points)
    rd_points = pl.max_horizontal(
        bands(pl.col("rd_expense"), pl.col("revenue"), RD_REVENUE_BANDS),
        bands(pl.col("rd_expense"), pl.col("total_costs"), RD_COSTS_BANDS),
    )
    scored = frame.with_columns(score=ip_points.otherwise(0) + rd_points)
    pool = (
        scored.filter(candidate)
        .sort(["score", "rd_expense", "uscc"], descending=[True, True, False], nulls_last=True)
        .head(POOL_SIZE)
        .select("uscc", pl.lit(True).alias("in_pool"))
    )
    grew = (
        pl.col("has_prev")
        & (pl.col("revenue") > pl.col("revenue_prev"))
        & (pl.col("rd_expense") > pl.col("rd_expense_prev"))
    ).fill_null(False)
    growth = pl.when(pl.col("in_pool") & grew).then(POOL_AWARD).otherwise(0)
    share = half_up(pl.col("lp_increase"), LISTING_RD)
    awards = (
        frame.join(top, on="uscc", how="left")
        .join(pool, on="uscc", how="left")
        .with_columns(pl.col("top200").fill_null(False), pl.col("in_pool").fill_null(False))
        .select(
            "uscc",
            "name",
            "district_code",
            pl.when(pl.col("hitech_first_cert_year") == year)
            .then(
                FIRST_CERT_BASE
                + pl.min_horizontal(
                    half_up(pl.col("rd_deductible"), FIRST_CERT_RD), FIRST_CERT_RD_CAP
                )
            )
            .otherwise(0)
            .alias("qingdao.hitech_first_cert"),
            pl.when(
                (pl.col("hitech_cert_year") == year) & (pl.col("hitech_first_cert_year") < year)
            )
            .then(RECERT_AWARD)
            .otherwise(0)
            .alias("qingdao.hitech_recert"),
            pl.when(pl.col("in_listing_pool") & (pl.col("lp_increase") > 0))
            .then(pl.min_horizontal(share, LISTING_RD_CAP))
            .otherwise(0)
            .alias("qingdao.listing_pool_rd_growth"),
            pl.when(pl.col("in_listing_pool") & ~pl.col("pool_before"))
            .then(LISTING_PROJECT)
            .otherwise(0)
            .alias("qingdao.listing_pool_project"),
            pl.when(pl.col("top200"))
            .then(pl.min_horizontal(half_up(pl.col("rd_increase"), GROWTH_RATE), GROWTH_CAP))
            .otherwise(0)
            .alias("qingdao.rd_growth_top200"),
            half_up(growth, POOL_CITY_SHARE).alias("qingdao.cultivation_pool_growth_city"),
            (growth - half_up(growth, POOL_CITY_SHARE)).alias(
                "qingdao.cultivation_pool_growth_district"
            ),
            pl.lit(0, dtype=pl.Int64).alias("qingdao.loan_interest_subsidy"),  # no loans table
        )
    )
    long = awards.unpivot(
        index=["uscc", "name", "district_code"],
        on=list(QINGDAO_AWARDS),
        variable_name="scheme",
        value_name="amount_fen",
    )
    return (
        long.filter(pl.col("amount_fen").fill_null(0) > 0)
        .select(
            "uscc",
            pl.lit(year, dtype=pl.Int64).alias("year"),
            "scheme",
            to_cny(pl.col("amount_fen")).alias("amount_cny"),
            "name",
            "district_code",
        )
        .sort("uscc", "scheme")
    )


def to_cny(fen: pl.Expr) -> pl.Expr:
    return (fen.cast(pl.Decimal(20, 0)) * pl.lit(Decimal("0.01"))).cast(pl.Decimal(20, 2))


# ---- cn-hitech-2016 --------------------------------------------------------------------------


def share(numerator: str, denominator: str) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(
        pl.col(numerator).cast(pl.Float64) / pl.col(denominator)
    )


def hitech(base: pl.DataFrame, year: int) -> pl.DataFrame:
    days = (pl.lit(f"{year}-12-31").str.to_date() - pl.col("registered_on")).dt.total_days()
    revenue = pl.col("revenue")
    small, medium = revenue <= SMALL_REVENUE_MAX, revenue <= MEDIUM_REVENUE_MAX
    rd3, revenue3, domestic3 = pl.col("rd_3y"), pl.col("revenue_3y"), pl.col("domestic_3y")
    field = optional(base, "in_hitech_field", pl.Boolean())
    score = optional(base, "innovation_score", pl.Float64())
    met = {
        "registered_1y": (days >= REGISTERED_MIN_DAYS).fill_null(False),
        "core_ip": (pl.col("ip_class1") >= 1) | (pl.col("ip_class2") >= 1),
        "hitech_field": field,
        "st_staff": at_least(pl.col("st_staff"), pl.col("employees"), 10),
        "rd_intensity": pl.when(small.fill_null(False))
        .then(at_least(rd3, revenue3, RD_INTENSITY["small"]))
        .when(medium.fill_null(False))
        .then(at_least(rd3, revenue3, RD_INTENSITY["medium"]))
        .otherwise(at_least(rd3, revenue3, RD_INTENSITY["large"])),
        "domestic_rd": at_least(domestic3, rd3, 60),
        "hitech_revenue": at_least(pl.col("hitech_revenue"), revenue, 60),
        "innovation_score": pl.when(score.is_not_null()).then(score > 70),
        "no_incident": ~pl.col("incident"),
    }
    failed = pl.concat_str(
        [pl.when(~met[cid]).then(pl.lit(cid)) for cid in HITECH_CONDITIONS],
        separator=";",
        ignore_nulls=True,
    )
    required = (
        pl.when(small.fill_null(False))
        .then(RD_INTENSITY["small"] / 100)
        .when(medium.fill_null(False))
        .then(RD_INTENSITY["medium"] / 100)
        .otherwise(RD_INTENSITY["large"] / 100)
    )
    return base.select(
        "uscc",
        pl.lit(year, dtype=pl.Int64).alias("year"),
        share("rd_3y", "revenue_3y").alias("rd_intensity_3y"),
        required.alias("rd_intensity_required"),
        share("st_staff", "employees").alias("st_staff_ratio"),
        share("domestic_3y", "rd_3y").alias("domestic_rd_share"),
        share("hitech_revenue", "revenue").alias("hitech_revenue_share"),
        (days // 365).alias("registered_years"),
        (failed == "").alias("conditions_met"),
        failed.alias("failed_conditions"),
    )


# ---- cn-tech-sme-2017 ------------------------------------------------------------------------


def tech_sme(base: pl.DataFrame, year: int) -> pl.DataFrame:
    employees, revenue, costs = pl.col("employees"), pl.col("revenue"), pl.col("total_costs")
    assets = pl.col("total_assets")
    staff = bands(pl.col("st_staff"), employees, STAFF_BANDS)
    by_revenue = bands(pl.col("rd_expense"), revenue, RD_REVENUE_BANDS)
    by_costs = bands(pl.col("rd_expense"), costs, RD_COSTS_BANDS)
    ip: Any = pl.when(pl.col("ip_class1") >= 1).then(IP_CLASS1)
    for count, points in IP_CLASS2:
        ip = ip.when(pl.col("ip_class2") >= count).then(points)
    flag = {
        name: optional(base, name, pl.Boolean()).fill_null(False)
        for name in (
            "restricted_industry",
            "dishonest_listed",
            "national_st_award",
            "provincial_rd_institution",
            "led_standard",
        )
    }
    fails = (
        (employees > MAX_EMPLOYEES).fill_null(False)
        | (revenue > MAX_REVENUE).fill_null(False)
        | assets.is_null()
        | (assets > MAX_ASSETS).fill_null(False)
        | flag["restricted_industry"]
        | pl.col("incident")
        | pl.col("incident_prev").fill_null(False)
        | flag["dishonest_listed"]
    )
    frame = base.with_columns(
        staff_points=staff,
        rd_points=pl.max_horizontal(by_revenue, by_costs),
        ip_points=ip.otherwise(0).cast(pl.Int64),
        conditions=~fails,
    ).with_columns(score=pl.col("staff_points") + pl.col("rd_points") + pl.col("ip_points"))
    basic = pl.col("conditions") & (pl.col("staff_points") > 0) & (pl.col("score") >= MIN_SCORE)
    direct = pl.col("conditions") & (
        pl.col("cert_valid")
        | flag["national_st_award"]
        | flag["provincial_rd_institution"]
        | flag["led_standard"]
    )
    return frame.select(
        "uscc",
        pl.lit(year, dtype=pl.Int64).alias("year"),
        "staff_points",
        "rd_points",
        "ip_points",
        "score",
        basic.alias("basic_conditions_met"),
        direct.alias("direct_qualification"),
        (direct | basic).alias("qualified"),
    )


# ---- cn-rd-super-deduction -------------------------------------------------------------------


def rd_super_deduction(base: pl.DataFrame, year: int) -> pl.DataFrame:
    industry = optional(base, "industry", pl.String())
    ic = optional(base, "ic_or_mother_machine", pl.Boolean()).fill_null(False)
    kind = (
        pl.when(industry.is_in(list(EXCLUDED_INDUSTRIES)).fill_null(False))
        .then(pl.lit("excluded"))
        .when(ic)
        .then(pl.lit("ic_mother_machine"))
        .when(pl.col("manufacturing"))
        .then(pl.lit("manufacturing"))
        .when(pl.col("tech_sme_number") != "")
        .then(pl.lit("tech_sme"))
        .otherwise(pl.lit("general"))
    )
    rd = pl.col("rd_deductible")
    extra = (
        pl.when(rd.fill_null(0) <= 0)
        .then(0)
        .when(pl.col("enterprise_type") == "excluded")
        .then(0)
        .when(pl.col("enterprise_type") == "ic_mother_machine")
        .then(half_up(rd, RATE_IC))
        .otherwise(half_up(rd, RATE_OTHER))
    )
    frame = base.with_columns(enterprise_type=kind).with_columns(extra_deduction=extra)
    valid = pl.col("cert_valid")
    saved = (
        pl.when(valid)
        .then(half_up(pl.col("extra_deduction"), TAX_HITECH))
        .otherwise(half_up(pl.col("extra_deduction"), TAX_STANDARD))
    )
    rate = (
        pl.when(pl.col("enterprise_type") == "excluded")
        .then(0.0)
        .when(pl.col("enterprise_type") == "ic_mother_machine")
        .then(RATE_IC[0] / RATE_IC[1])
        .otherwise(1.0)
    )
    return frame.select(
        "uscc",
        pl.lit(year, dtype=pl.Int64).alias("year"),
        "enterprise_type",
        rate.alias("rate"),
        to_cny(pl.col("extra_deduction")).alias("extra_deduction"),
        pl.when(valid).then(0.15).otherwise(0.25).alias("tax_rate"),
        to_cny(saved).alias("tax_saved"),
    )


# ---- the pipeline ----------------------------------------------------------------------------

POLICIES = {
    "qingdao-wotu-2021": qingdao,
    "cn-hitech-2016": hitech,
    "cn-tech-sme-2017": tech_sme,
    "cn-rd-super-deduction": rd_super_deduction,
}


def run(facts_path: Path, out: Path, year: int) -> dict[str, Any]:
    if year not in YEARS_IN_FORCE:
        raise SystemExit(f"the floor's constants are those in force in {YEARS_IN_FORCE}")
    out.mkdir(parents=True, exist_ok=True)
    phases: dict[str, float] = {}
    start = time.perf_counter()
    facts = facts_read(facts_path)
    phases["read"] = time.perf_counter() - start
    mark = time.perf_counter()
    base = base_frame(facts, year)
    phases["history"] = time.perf_counter() - mark
    tables: dict[str, pl.DataFrame] = {}
    for policy_id, compute in POLICIES.items():
        mark = time.perf_counter()
        tables[policy_id] = compute(base, year)
        phases[f"evaluate {policy_id}"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for policy_id, table in tables.items():
        table.write_parquet(out / f"{policy_id}.parquet", compression="zstd", statistics=False)
    phases["write"] = time.perf_counter() - mark
    pipeline = time.perf_counter() - start
    awards = tables["qingdao-wotu-2021"]
    totals = {
        str(scheme): int(fen)
        for scheme, fen in awards.group_by("scheme")
        .agg((pl.col("amount_cny").sum() * 100).cast(pl.Int64).alias("fen"))
        .iter_rows()
    }
    return {
        "contender": "floor",
        "rows": facts.height,
        "year_rows": base.height,
        "phases": phases,
        "pipeline": pipeline,
        "awards_fen": totals,
        "award_rows": awards.height,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--year", type=int, default=2023)
    options = parser.parse_args()
    print(json.dumps(run(options.facts, options.out, options.year)))


if __name__ == "__main__":
    main()
