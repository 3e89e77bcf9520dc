"""The floor: the four policies' rules for one year written directly in Polars, no engine.

    .venv/bin/python -m benchmarks.floor --facts city.parquet --out DIR [--year 2023] [--no-basis]

What `benchmarks/policies_engine.py` measures Wotu against: the fastest pipeline a careful
engineer would hand-write for the same file and the same outputs — read the Parquet, money to
integer fen, the history joins (previous year, three-year sums, "ever in the listing pool")
done once for all four policies, every rule as a plain Polars expression, the same award and
assessment tables written to Parquet (``zstd``) with a hand-written ``basis`` column (each
output's value, the branch that applied in Chinese and English, that branch's inputs and the
parameters it used with their references — the same text as Wotu's, built with when/then chains
of ``concat_str``; ``--no-basis`` leaves it out), but no parameter files, no validation of the
cells and no dependency resolution. Parameters are the values in force in
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


# ---- basis: the explanation column, hand-written ---------------------------------------------
# For each output: its value, the branch that applied (Chinese / English), that branch's inputs
# and the parameters it used with their legal references — the information Wotu's `basis`
# carries, written the way one would hand-code it: a when/then chain of concatenated strings.

PLAN = "青岛市高新技术企业培育“沃土计划”（2021—2024年）"
HT = "国科发火〔2016〕32号《高新技术企业认定管理办法》"
SME = "国科发政〔2017〕115号《科技型中小企业评价办法》"
CIT = "《中华人民共和国企业所得税法》"
NO_7 = "财政部 税务总局公告2023年第7号 第一条"
CERT_VALID = f"hitech.cert_valid_years=3 [{HT} 第九条]"
EXCLUDED_TEXT = (
    "excluded_industries=" + ", ".join(EXCLUDED_INDUSTRIES)
    + " [财税〔2015〕119号《关于完善研究开发费用税前加计扣除政策的通知》 第四条]"
)  # fmt: skip


def txt(name: str | pl.Expr) -> pl.Expr:
    """A value as text; missing as "—"."""
    column = pl.col(name) if isinstance(name, str) else name
    return column.cast(pl.String).fill_null("—")


def yuan(name: str | pl.Expr) -> pl.Expr:
    """Fen as yuan text ("1234.05"); missing as "—"."""
    fen = pl.col(name) if isinstance(name, str) else name
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    cents = (fen.abs() % 100).cast(pl.String).str.zfill(2)
    return pl.concat_str([sign, (fen.abs() // 100).cast(pl.String), pl.lit("."), cents]).fill_null(
        "—"
    )


def said(*pieces: str | pl.Expr) -> pl.Expr:
    """Concatenate literal text and value expressions."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in pieces])


def chain(branches: list[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    out: Any = None
    for condition, text in branches:
        out = (pl.when(condition) if out is None else out.when(condition)).then(text)
    result: pl.Expr = out.otherwise(otherwise) if out is not None else otherwise
    return result


def joined(parts: list[pl.Expr]) -> pl.Expr:
    return pl.concat_str(parts, separator=" | ").alias("basis")


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
            pl.len().cast(pl.Int64).alias("years_3y"),
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


def qingdao(base: pl.DataFrame, year: int, *, basis: bool = False) -> pl.DataFrame:
    """One row per positive award: uscc, year, scheme, amount_cny, [basis,] name, district_code."""
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
        .with_row_index("rd_growth_rank", offset=1)
        .select("uscc", pl.lit(True).alias("top200"), pl.col("rd_growth_rank").cast(pl.Int64))
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
    wide = (
        frame.join(top, on="uscc", how="left")
        .join(pool, on="uscc", how="left")
        .select(
            "hitech_first_cert_year",
            "rd_deductible",
            "hitech_cert_year",
            "in_listing_pool",
            "lp_increase",
            "pool_before",
            "rd_increase",
            "rd_growth_rank",
            growth.alias("growth"),
        )
        if basis
        else None
    )
    if basis:
        return qingdao_with_basis(awards, wide, year)
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


def qingdao_with_basis(awards: pl.DataFrame, wide: Any, year: int) -> pl.DataFrame:
    """The awards long, each with its basis: the branch that paid, its inputs and parameters."""
    frame = pl.concat([awards, wide], how="horizontal")
    first = f"[{PLAN} 高企首次认定奖励]"
    listing = f"[{PLAN} 高企上市培育库]"
    growth = f"[{PLAN} 企业研发投入增长奖励]"
    pool = f"[{PLAN} 高企培育库]"
    capped = pl.col("qingdao.listing_pool_rd_growth") >= LISTING_RD_CAP
    texts = {
        "qingdao.hitech_first_cert": said(
            " ← 本年度首次认定为高新技术企业 / first certified as high-tech this year;"
            " hitech_first_cert_year=", txt("hitech_first_cert_year"),
            "; rd_deductible=", yuan("rd_deductible"),
            f"; hitech_first_cert.base=¥150,000.00 {first}; hitech_first_cert.rd_cap=¥300,000.00"
            f" {first}; hitech_first_cert.rd_rate=10% {first}",
        ),
        "qingdao.hitech_recert": said(
            " ← 本年度重新认定（首次认定在以前年度） / re-certified this year (first certified"
            " earlier); hitech_cert_year=", txt("hitech_cert_year"),
            "; hitech_first_cert_year=", txt("hitech_first_cert_year"),
            f"; hitech_recert.award=¥100,000.00 [{PLAN} 高企重新认定奖励]",
        ),
        "qingdao.listing_pool_rd_growth": said(
            pl.when(capped)
            .then(pl.lit(" ← 增量的 20% 达到年度上限，按上限 / 20 % of the increase reaches the"
                         " cap"))
            .otherwise(pl.lit(" ← 按增量的 20% / 20 % of the increase")),
            "; in_listing_pool=", txt("in_listing_pool"),
            "; qingdao.listing_pool_rd_increase=", yuan("lp_increase"),
            f"; listing_pool.rd_cap=¥3,000,000.00 {listing}; listing_pool.rd_rate=20% {listing}",
        ),
        "qingdao.listing_pool_project": said(
            " ← 本年度首次入库 / first year in the listing pool; in_listing_pool=",
            txt("in_listing_pool"), "; in_listing_pool@any_before=", txt("pool_before"),
            f"; listing_pool.project_award=¥200,000.00 {listing}",
        ),
        "qingdao.rd_growth_top200": said(
            " ← 排名在奖励名额内 / ranked within the number rewarded; qingdao.rd_growth_increase=",
            yuan("rd_increase"), "; qingdao.rd_growth_rank=", txt("rd_growth_rank"),
            f"; rd_growth.cap=¥500,000.00 {growth}; rd_growth.rate=20% {growth};"
            f" rd_growth.top_n=200 {growth}",
        ),
        "qingdao.cultivation_pool_growth_city": said(
            " ← 培育库奖励（市级部分） / cultivation pool award: the city's part;"
            " qingdao.cultivation_pool_growth=", yuan("growth"),
            f"; cultivation_pool.city_share=50% {pool}",
        ),
        "qingdao.cultivation_pool_growth_district": said(
            " ← 奖励减市级部分 / the award minus the city's part; qingdao.cultivation_pool_growth=",
            yuan("growth"), "; qingdao.cultivation_pool_growth_city=",
            yuan("qingdao.cultivation_pool_growth_city"),
        ),
    }  # fmt: skip
    parts = [
        frame.filter(pl.col(scheme).fill_null(0) > 0).select(
            "uscc",
            pl.lit(year, dtype=pl.Int64).alias("year"),
            pl.lit(scheme).alias("scheme"),
            to_cny(pl.col(scheme)).alias("amount_cny"),
            said(f"{scheme}=", yuan(scheme), text).alias("basis"),
            "name",
            "district_code",
        )
        for scheme, text in texts.items()
    ]
    result: pl.DataFrame = pl.concat(parts).sort("uscc", "scheme")
    return result


def to_cny(fen: pl.Expr) -> pl.Expr:
    return (fen.cast(pl.Decimal(20, 0)) * pl.lit(Decimal("0.01"))).cast(pl.Decimal(20, 2))


# ---- cn-hitech-2016 --------------------------------------------------------------------------


def share(numerator: str, denominator: str) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(
        pl.col(numerator).cast(pl.Float64) / pl.col(denominator)
    )


def hitech(base: pl.DataFrame, year: int, *, basis: bool = False) -> pl.DataFrame:
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
    table = base.select(
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
    if not basis:
        return table
    unassessed = pl.concat_str(
        [pl.when(met[cid].is_null()).then(pl.lit(cid)) for cid in HITECH_CONDITIONS],
        separator=";",
        ignore_nulls=True,
    )
    art = f"{HT} 第十一条第（五）项"
    small_max = f"hitech.rd_intensity.small_revenue_max=¥50,000,000.00 [{art} 1]"
    medium_max = f"hitech.rd_intensity.medium_revenue_max=¥200,000,000.00 [{art} 2]"
    rows = base.select(
        "rd_3y", "years_3y", "revenue_3y", "domestic_3y", "revenue", "employees", "st_staff",
        "hitech_revenue", days.alias("days"), unassessed.alias("not_assessed"),
        *[met[cid].alias(f"met.{cid}") for cid in HITECH_CONDITIONS],
    )  # fmt: skip
    frame = pl.concat([table, rows], how="horizontal")
    conditions = [said(f"; hitech.{cid}=", txt(f"met.{cid}")) for cid in sorted(HITECH_CONDITIONS)]
    parts = [
        said(
            "rd_intensity_3y=", txt("rd_intensity_3y"),
            " ← 近三年研发费用占销售收入比例 / R&D / sales revenue over the last three years;"
            " hitech.rd_years=",
            txt("years_3y"),
            "; rd_expense@sum3=", yuan("rd_3y"),
            "; revenue@sum3=", yuan("revenue_3y"),
        ),
        said("rd_intensity_required=", txt("rd_intensity_required"), chain(
            [
                (
                    small.fill_null(False),
                    said(
                        " ← 最近一年销售收入 ≤ ¥50,000,000.00（含）：近三年研发费用比例须 ≥ 5% /"
                        " latest revenue ≤ ¥50,000,000.00 (inclusive): R&D intensity must be"
                        " ≥ 5%; revenue=", yuan("revenue"),
                        f"; hitech.rd_intensity.small=5% [{art} 1]; {small_max}",
                    ),
                ),
                (
                    medium.fill_null(False),
                    said(
                        " ← 最近一年销售收入在 ¥50,000,000.00 以上至 ¥200,000,000.00（含）：须 ≥ 4%"
                        " / latest revenue above ¥50,000,000.00 up to ¥200,000,000.00"
                        " (inclusive): must be ≥ 4%; revenue=", yuan("revenue"),
                        f"; hitech.rd_intensity.medium=4% [{art} 2]; {medium_max}; {small_max}",
                    ),
                ),
            ],
            said(
                " ← 最近一年销售收入 > ¥200,000,000.00：须 ≥ 3% / latest revenue above"
                " ¥200,000,000.00: must be ≥ 3%; revenue=", yuan("revenue"),
                f"; hitech.rd_intensity.large=3% [{art} 3]; {medium_max}; {small_max}",
            ),
        )),
        said(
            "st_staff_ratio=", txt("st_staff_ratio"),
            " ← 科技人员占职工总数比例 / S&T staff / employees; employees=", txt("employees"),
            "; st_staff=", txt("st_staff"),
        ),
        said(
            "domestic_rd_share=", txt("domestic_rd_share"),
            " ← 境内研发费用占全部研发费用比例 / R&D spent in China / all R&D; rd_expense@sum3=",
            yuan("rd_3y"), "; rd_expense_domestic@sum3=", yuan("domestic_3y"),
        ),
        said(
            "hitech_revenue_share=", txt("hitech_revenue_share"),
            " ← 高新技术产品（服务）收入占比 / high-tech product/service revenue share;"
            " hitech_revenue=", yuan("hitech_revenue"), "; revenue=", yuan("revenue"),
        ),
        said(
            "registered_years=", txt("registered_years"),
            " ← 注册成立年数（按 365 天计的整年） / years since registration (whole 365-day years);"
            " hitech.registered_days=", txt("days"),
        ),
        said("conditions_met=", txt("conditions_met"), chain(
            [
                (
                    pl.col("failed_conditions") != "",
                    said(
                        " ← 有未满足的条件（见 failed_conditions） / some conditions fail (see"
                        " failed_conditions); failed_conditions=", txt("failed_conditions"),
                    ),
                ),
                (
                    pl.col("not_assessed") != "",
                    said(
                        " ← 所评条件均满足；未提供数据的条件未评（见 hitech.not_assessed） / every"
                        " assessed condition holds; conditions without data were not assessed"
                        " (see hitech.not_assessed); failed_conditions=", txt("failed_conditions"),
                        "; hitech.not_assessed=", txt("not_assessed"),
                    ),
                ),
            ],
            said(
                " ← 第十一条各项条件均满足 / every condition of art. 11 holds; failed_conditions=",
                txt("failed_conditions"), "; hitech.not_assessed=", txt("not_assessed"),
            ),
        )),
        said(
            "failed_conditions=", txt("failed_conditions"),
            " ← 未满足的条件（按条文顺序） / failed conditions (in article order)", *conditions,
        ),
    ]  # fmt: skip
    return frame.select(*table.columns, joined(parts))


# ---- cn-tech-sme-2017 ------------------------------------------------------------------------


def tech_sme(base: pl.DataFrame, year: int, *, basis: bool = False) -> pl.DataFrame:
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
    columns: list[str | pl.Expr] = [
        "uscc",
        pl.lit(year, dtype=pl.Int64).alias("year"),
        "staff_points",
        "rd_points",
        "ip_points",
        "score",
        basic.alias("basic_conditions_met"),
        direct.alias("direct_qualification"),
        (direct | basic).alias("qualified"),
    ]
    if not basis:
        return frame.select(columns)
    staff_ref = (
        "; tech_sme.staff_points=≥30%→20; ≥25%→16; ≥20%→12; ≥15%→8; ≥10%→4"
        f" [{SME} 第七条第（一）项]"
    )
    staff_in = ("; employees=", txt("employees"), "; st_staff=", txt("st_staff"), staff_ref)
    staff_bands = [
        (30, 20, " ≥ 30%：20 分 / S&T staff / employees ≥ 30%: 20 points"),
        (25, 16, "在 25%（含）至 30% 之间：16 分 / S&T staff / employees in [25%, 30%): 16 points"),
        (20, 12, "在 20%（含）至 25% 之间：12 分 / S&T staff / employees in [20%, 25%): 12 points"),
        (15, 8, "在 15%（含）至 20% 之间：8 分 / S&T staff / employees in [15%, 20%): 8 points"),
        (10, 4, "在 10%（含）至 15% 之间：4 分 / S&T staff / employees in [10%, 15%): 4 points"),
    ]
    ip_ref = f"{SME} 第七条第（三）项"
    ip_in = ("; ip_class1=", txt("ip_class1"), "; ip_class2=", txt("ip_class2"))
    ip_bands = [
        (
            4,
            "class2_4_or_more=24",
            "B",
            "4 项及以上（B 档） / no Class I, 4 or more Class II IP (band B)",
        ),
        (3, "class2_3=18", "C", "3 项（C 档） / no Class I, 3 Class II IP (band C)"),
        (2, "class2_2=12", "D", "2 项（D 档） / no Class I, 2 Class II IP (band D)"),
        (1, "class2_1=6", "E", "1 项（E 档） / no Class I, 1 Class II IP (band E)"),
    ]
    cond = ("; tech_sme.conditions_1_to_4=", txt("conditions"))
    min_score = f"; tech_sme.min_score=60 [{SME} 第六条第（五）项]"
    route_in = {"hitech_cert_year": txt("hitech_cert_year")}

    def route_text() -> list[str | pl.Expr]:  # the inputs read so far, by name
        return [p for k in sorted(route_in) for p in (f"; {k}=", route_in[k])]

    routes: list[tuple[pl.Expr, pl.Expr]] = [
        (
            ~pl.col("conditions"),
            said(
                " ← 不满足第六条第（一）至（四）项，不能直接确认 / fails art. 6 items (1)–(4): no"
                " direct qualification",
                *cond,
            ),
        ),
    ]
    labels = [
        (
            "cert_valid",
            None,
            "拥有有效期内的高新技术企业资格证书（第八条第（一）项） / holds a valid"
            " high-tech enterprise certificate (art. 8 (1))",
        ),
        (
            "national_st_award",
            "national_st_award",
            "近五年获国家级科技奖励且排名前三（第八条第（二）项）"
            " / national S&T award in the last 5 years, top-3 unit (art. 8 (2))",
        ),
        (
            "provincial_rd_institution",
            "provincial_rd_institution",
            "拥有经认定的省部级以上研发机构"
            "（第八条第（三）项） / recognised provincial-or-higher R&D institution (art. 8 (3))",
        ),
        (
            "led_standard",
            "led_standard",
            "近五年主导制定过国际、国家或行业标准（第八条第（四）项） /"
            " led an international, national or industry standard in 5 years (art. 8 (4))",
        ),
    ]
    for flag_name, column, label in labels:
        if column is not None:
            route_in[column] = txt(optional(base, column, pl.Boolean()))
        test = pl.col("cert_valid") if column is None else flag[flag_name]
        routes.append((test, said(f" ← {label}", *route_text(), *cond, f"; {CERT_VALID}")))
    parts = [
        said("staff_points=", txt("staff_points"), chain(
            [(pl.col("employees").fill_null(0) <= 0,
              said(" ← 职工总数为 0：0 分 / no employees: 0 points; employees=", txt("employees")))]
            + [
                (at_least(pl.col("st_staff"), employees, percent),
                 said(f" ← 科技人员占职工总数比例{label.split(' / ')[0]} / "
                     f"{label.split(' / ', 1)[1]}",
                      *staff_in))
                for percent, _, label in staff_bands
            ],
            said(" ← 科技人员占职工总数比例低于 10%：0 分 / S&T staff / employees below 10%: 0 "
                "points",
                 *staff_in),
        )),
        said("rd_points=", txt("rd_points"), chain(
            [
                (by_revenue > by_costs, pl.lit(" ← "
                    "方式一（研发费用占销售收入）得分较高，按方式一计分 /"
                 " option 1 (R&D / sales revenue) scores higher and counts")),
                (by_costs > by_revenue, pl.lit(" ← "
                    "方式二（研发费用占成本费用支出总额）得分较高，按方式二"
                 "计分 / option 2 (R&D / total costs and expenses) scores higher and counts")),
            ],
            pl.lit(" ← 两种方式得分相同，按方式一计分 / both options score the same; option 1 "
                "counts"),
        ), "; tech_sme.rd_points_costs=", txt(by_costs), "; tech_sme.rd_points_revenue=",
           txt(by_revenue)),
        said("ip_points=", txt("ip_points"), chain(
            [(pl.col("ip_class1") >= 1,
              said(" ← Ⅰ类知识产权 1 项及以上（A 档） / at least one Class I IP (band A); "
                  "ip_class1=",
                   txt("ip_class1"), f"; tech_sme.ip_points.class1=30 [{ip_ref} A]"))]
            + [
                (pl.col("ip_class2") >= count,
                 said(f" ← 无Ⅰ类，Ⅱ类知识产权 {label}", *ip_in,
                      f"; tech_sme.ip_points.{points} [{ip_ref} {band}]"))
                for count, points, band, label in ip_bands
            ],
            said(" ← 没有知识产权（F 档）：0 分 / no IP (band F): 0 points", *ip_in),
        )),
        said("score=", txt("score"), " ← 综合评价得分 / composite score; ip_points=",
             txt("ip_points"), "; rd_points=", txt("rd_points"), "; staff_points=",
             txt("staff_points")),
        said("basic_conditions_met=", txt("basic_conditions_met"), chain(
            [
                (~pl.col("conditions"), said(" ← 不满足第六条第（一）至（四）项 / fails art. 6 "
                    "items"
                 " (1)–(4)", *cond)),
                (pl.col("staff_points") <= 0, said(" ← 科技人员指标得分为 0（第六条第（五）项） / "
                    "S&T"
                 " staff points are 0 (art. 6 (5)); staff_points=", txt("staff_points"), *cond)),
                (pl.col("score") < MIN_SCORE, said(" ← 综合评价得分低于 60 分（第六条第（五）项） /"
                 " composite score below 60 (art. 6 (5)); score=", txt("score"), "; staff_points=",
                 txt("staff_points"), *cond, min_score)),
            ],
            said(" ← 满足第六条全部条件 / meets every condition of art. 6; score=", txt("score"),
                 "; staff_points=", txt("staff_points"), *cond, min_score),
        )),
        said("direct_qualification=", txt("direct_qualification"), chain(
            routes,
            said(" ← 不具备第八条所列情形（未提供的可选列视为不具备） / none of the art. 8 routes"
                 " (an optional column not given counts as no)", *route_text(), *cond,
                 f"; {CERT_VALID}"),
        )),
        said("qualified=", txt("qualified"), chain(
            [
                (pl.col("direct_qualification"), said(" ← 直接确认符合条件（第八条） / qualifies"
                 " directly (art. 8); direct_qualification=", txt("direct_qualification"))),
                (pl.col("basic_conditions_met"), said(" ← 满足第六条全部条件（含得分） / meets "
                    "every"
                 " condition of art. 6 (with the score); basic_conditions_met=",
                 txt("basic_conditions_met"), "; direct_qualification=",
                 txt("direct_qualification"))),
            ],
            said(" ← 既不满足第六条，也不能按第八条直接确认 / meets neither art. 6 nor art. 8;"
                 " basic_conditions_met=", txt("basic_conditions_met"), "; direct_qualification=",
                 txt("direct_qualification")),
        )),
    ]  # fmt: skip
    return frame.with_columns(columns[1:]).select(
        "uscc", "year", *[c if isinstance(c, str) else c.meta.output_name() for c in columns[2:]],
        joined(parts),
    )  # fmt: skip


# ---- cn-rd-super-deduction -------------------------------------------------------------------


def rd_super_deduction(base: pl.DataFrame, year: int, *, basis: bool = False) -> pl.DataFrame:
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
    columns: list[str | pl.Expr] = [
        "uscc",
        pl.lit(year, dtype=pl.Int64).alias("year"),
        "enterprise_type",
        rate.alias("rate"),
        to_cny(pl.col("extra_deduction")).alias("extra_deduction"),
        pl.when(valid).then(0.15).otherwise(0.25).alias("tax_rate"),
        to_cny(saved).alias("tax_saved"),
    ]
    if not basis:
        return frame.select(columns)
    kind_col = pl.col("enterprise_type")
    kinds = {
        "ic_mother_machine": (
            "集成电路企业或工业母机企业 / integrated-circuit or industrial mother-machine firm",
            "rate.ic_mother_machine=120% [财政部 税务总局 国家发展改革委 "
            "工业和信息化部公告2023年第44号"
            " 第一条]",
        ),
        "manufacturing": ("制造业企业 / manufacturing firm", f"rate.manufacturing=100% [{NO_7}]"),
        "tech_sme": (
            "科技型中小企业（有当年入库登记编号） / tech-based SME (registration number for the "
            "year)",
            f"rate.tech_sme=100% [{NO_7}]",
        ),
        "general": ("一般企业 / general enterprise", f"rate.general=100% [{NO_7}]"),
    }
    type_in: list[str | pl.Expr] = []
    type_branches = [
        (
            kind_col == "excluded",
            said(
                " ← 属于不适用加计扣除的行业（财税〔2015〕119号第四条，名单待核实） /"
                " in an excluded industry (Circular 2015 No. 119 art. 4; list unconfirmed); "
                "industry=",
                txt(industry),
                f"; {EXCLUDED_TEXT}",
            ),
        ),
    ]
    type_in = [
        "; ic_or_mother_machine=",
        txt(optional(base, "ic_or_mother_machine", pl.Boolean())),
        "; industry=",
        txt(industry),
    ]
    extra_in = ("; manufacturing=", txt("manufacturing"))
    for name, (label, _) in kinds.items():
        type_branches.append(
            (
                kind_col == name,
                said(
                    f" ← {label}",
                    *type_in,
                    *(() if name == "ic_mother_machine" else extra_in),
                    *(
                        ("; tech_sme_number=", txt("tech_sme_number"))
                        if name in ("tech_sme", "general")
                        else ()
                    ),
                    f"; {EXCLUDED_TEXT}",
                ),
            )
        )
    tax_hitech = f"tax.hitech=15% [{CIT} 第二十八条第二款]"
    tax_standard = f"tax.standard=25% [{CIT} 第四条]"
    cert = ("; hitech_cert_year=", txt("hitech_cert_year"), f"; {CERT_VALID}")
    parts = [
        said("enterprise_type=", txt("enterprise_type"), chain(type_branches, pl.lit(""))),
        said("rate=", txt("rate"), chain(
            [(kind_col == "excluded", said(" ← 不适用行业：0 / excluded industry: 0; "
                "enterprise_type=",
              kind_col))]
            + [(kind_col == name, said(f" ← {label}; enterprise_type=", kind_col, f"; {ref}"))
               for name, (label, ref) in kinds.items()],
            pl.lit(""),
        )),
        said("extra_deduction=", yuan("extra_deduction"), chain(
            [
                (rd.fill_null(0) <= 0, said(" ← 没有可加计扣除的研发费用 / no deductible R&D "
                    "expenses;"
                 " rd_deductible=", yuan(rd))),
                (kind_col == "excluded", said(" ← 不适用行业：不加计扣除 / excluded industry: no "
                    "extra"
                 " deduction; enterprise_type=", kind_col, "; rd_deductible=", yuan(rd))),
            ]
            + [(kind_col == name, said(f" ← {label}; enterprise_type=", kind_col,
                "; rd_deductible=", yuan(rd), f"; {ref}")) for name, (label, ref) in kinds.items()],
            pl.lit(""),
        )),
        said("tax_rate=", txt("tax_rate"), chain(
            [(valid, said(" ← 有效期内的高新技术企业：15% / valid high-tech enterprise: 15%", *cert,
              f"; {tax_hitech}"))],
            said(" ← 一般税率 25% / standard rate 25%", *cert, f"; {tax_standard}"),
        )),
        said("tax_saved=", yuan(saved), chain(
            [(valid, said(" ← 加计扣除额 × 15%（有效期内的高新技术企业） / extra deduction × 15% "
                "(valid"
              " high-tech enterprise); extra_deduction=", yuan("extra_deduction"), *cert,
              f"; {tax_hitech}"))],
            said(" ← 加计扣除额 × 25% / extra deduction × 25%; extra_deduction=",
                 yuan("extra_deduction"), *cert, f"; {tax_standard}"),
        )),
    ]  # fmt: skip
    frame = frame.with_columns(
        rate.alias("rate"), pl.when(valid).then(0.15).otherwise(0.25).alias("tax_rate")
    )
    return frame.select(*columns, joined(parts))


# ---- the pipeline ----------------------------------------------------------------------------

POLICIES = {
    "qingdao-wotu-2021": qingdao,
    "cn-hitech-2016": hitech,
    "cn-tech-sme-2017": tech_sme,
    "cn-rd-super-deduction": rd_super_deduction,
}


def run(facts_path: Path, out: Path, year: int, *, basis: bool = True) -> dict[str, Any]:
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
        tables[policy_id] = compute(base, year, basis=basis)
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
        "contender": "floor" if basis else "floor-nobasis",
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
    parser.add_argument("--no-basis", action="store_true", help="write no basis column")
    options = parser.parse_args()
    print(json.dumps(run(options.facts, options.out, options.year, basis=not options.no_basis)))


if __name__ == "__main__":
    main()
