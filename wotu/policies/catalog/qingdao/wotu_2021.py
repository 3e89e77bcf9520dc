"""Qingdao's Fertile Soil plan (沃土计划, 2021–2024): awards to technology enterprises.

Amounts are the seed's (科技日报, December 2021); every one is a parameter in the YAML beside
this file with its reference. Where the seed leaves a point open, the parameter's ``note`` says
so and which default was chosen.

Outputs (the rows ``wotu evaluate`` writes; money in fen):

- ``qingdao.hitech_first_cert``: first certified as high-tech in Y → 150,000 +
  min(10 % × rd_deductible(Y), 300,000).
- ``qingdao.hitech_recert``: certificate issued in Y, first certified before Y → 100,000.
- ``qingdao.listing_pool_rd_growth``: in the listing pool in Y → min(20 % × (rd_deductible(Y) −
  rd_deductible(Y−1)), 3,000,000) when the increase is positive (no row for Y−1 → nothing).
- ``qingdao.listing_pool_project``: in the listing pool in Y and in no earlier year → 200,000,
  once. "Earlier" means the rows the facts hold: evaluate with the enterprise's history.
- ``qingdao.rd_growth_top200``: above designated size, industrial or service, R&D increase
  ≥ 1,000,000, ranked by increase (ties by USCC ascending); ranks 1–200 → min(20 % × increase,
  500,000).
- ``qingdao.cultivation_pool`` (bool): candidates are registered tech SMEs (a tech-SME number
  this year) without a valid high-tech certificate (issued in Y−2…Y); score = IP points + R&D
  points of the tech-SME table; rank by score, then R&D expenses (both descending), then USCC
  ascending; the top 1,000 enter the pool.
- ``qingdao.cultivation_pool_growth_city`` and ``…_district``: the two parts of
  ``qingdao.cultivation_pool_growth`` (pool members "with growth" — revenue and R&D both above
  last year's → 100,000). City part = award × city share rounded half-up to the fen (an odd
  fen goes to the city), district part = award − city part: they add up exactly.
- ``qingdao.loan_interest_subsidy``: per 投(保)贷联动 loan, the interest at min(contract rate,
  benchmark on the start date) on min(principal, 5 M) plus 50 % of it on the part from 5 M to
  10 M, for the loan's days in Y, ACT/360, half-up per loan (see
  :mod:`wotu.policies.catalog.qingdao.loans`). Needs the loans table; without it the rule gives
  0 with the branch "no loans supplied". :func:`loan_subsidy_breakdown` shows it loan by loan.

How the awards combine for one enterprise (the seed lists them as separate measures and says
nothing on stacking, so the default is that they add up):

- First certification and re-certification exclude each other by construction (first
  certification year = Y vs < Y). ``qingdao.hitech_certification`` combines them as
  ``exclusive`` so that a data or formula defect paying both stops the run, naming the firms.
- Everything else adds up: ``qingdao.total`` is the uncapped sum of every award (the listing-pool
  R&D award and the top-200 R&D award both reward R&D growth, on different measures; the seed
  does not say one excludes the other, so a firm can receive both).
- ``qingdao.total`` and the whole ``qingdao.cultivation_pool_growth`` are rules, not outputs: the
  outputs are the rows of a run, and summing them must not count an award twice.

Years: the plan runs for 2021–2024 (``Policy.years``). REQUIREMENT for every caller (the CLI,
the API, runs): check the year against ``policy.years`` before reading any data and refuse
others with a clear message (``outcomes.policy_for`` does). This module enforces it as well
where money is computed: ``prepare`` — which :func:`wotu.policies.engine.evaluate` always calls
for this policy — and :func:`loan_subsidy_breakdown` raise :class:`PolicyError` for a year
outside the window (:func:`plan_year_check`). ``plan_build`` and ``instant_of`` stay usable for
any year, so the catalogue can show the rules and parameters of any year.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import polars as pl

from wotu.policies.catalog.qingdao.loans import (
    LINKAGES,
    LOAN_PARAMETERS,
    LOANS,
    LOANS_SUPPLIED,
    LoanTerms,
    loan_breakdown,
    loan_terms,
    loans_decoded,
    loans_in_list,
    loans_prepare,
)
from wotu.policies.engine import MONEY_INPUTS, Branch, Branches, Formula, Policy, PolicyError
from wotu.policies.parameters import Bracket, ParameterSet, Reference, parameters_load

PLAN = Reference(
    document="青岛市高新技术企业培育“沃土计划”（2021—2024年）",
    note="据种子文件；文号待核实 / as reported in the seed; document number unconfirmed",
)
PLAN_YEARS = (2021, 2024)
AWARDS = (
    "qingdao.hitech_first_cert",
    "qingdao.hitech_recert",
    "qingdao.listing_pool_rd_growth",
    "qingdao.listing_pool_project",
    "qingdao.rd_growth_top200",
    "qingdao.cultivation_pool_growth",
    "qingdao.loan_interest_subsidy",
)


def plan_year_check(year: int) -> None:
    """Refuse a year outside the plan's 2021–2024 window (PolicyError, bilingual)."""
    first, last = PLAN_YEARS
    if not first <= year <= last:
        raise PolicyError(
            f"青岛“沃土计划”仅适用于 {first}—{last} 年度，不能按 {year} 年度计算",
            f"the Qingdao Fertile Soil plan covers {first}–{last} only; it cannot be evaluated"
            f" for {year}",
        )


def loan_subsidy_breakdown(
    loans: pl.DataFrame, year: int, *, parameters: ParameterSet | None = None
) -> pl.DataFrame:
    """Loan by loan, how ``qingdao.loan_interest_subsidy`` for ``year`` was reached: days in
    the year, contract rate, benchmark with its date and reference, rate used, the fully and
    half-subsidised parts of the principal and the subsidy (see
    :func:`wotu.policies.catalog.qingdao.loans.loan_breakdown` for the columns). Refuses a year
    outside the plan and reports bad rows like the evaluation does."""
    plan_year_check(year)
    return loan_breakdown(loans, year, parameters=parameters)


def build() -> Policy:
    policy = Policy(
        id="qingdao-wotu-2021",
        zh="青岛市“沃土计划”（2021—2024年）",
        en="Qingdao Fertile Soil plan (2021–2024)",
        kind="evaluate",
        parameters=parameters_load(Path(__file__).with_suffix(".yaml")),
        years=PLAN_YEARS,
        reference=PLAN,
        outputs=(
            "qingdao.hitech_first_cert",
            "qingdao.hitech_recert",
            "qingdao.listing_pool_rd_growth",
            "qingdao.listing_pool_project",
            "qingdao.rd_growth_top200",
            "qingdao.cultivation_pool",
            "qingdao.cultivation_pool_growth_city",
            "qingdao.cultivation_pool_growth_district",
            "qingdao.loan_interest_subsidy",
        ),
        tables=("loans",),
        prepare=_checked_prepare,
    )
    _certification_rules(policy)
    _listing_pool_rules(policy)
    _rd_growth_rules(policy)
    _cultivation_pool_rules(policy)
    _loan_rules(policy)
    policy.combine(
        "qingdao.hitech_certification",
        rules=["qingdao.hitech_first_cert", "qingdao.hitech_recert"],
        mode="exclusive",
    )
    policy.combine("qingdao.total", rules=list(AWARDS), mode="sum")
    return policy


def _checked_prepare(
    facts: pl.LazyFrame, tables: Mapping[str, pl.LazyFrame], year: int
) -> pl.LazyFrame:
    """Refuse a year outside the plan, then add the loans columns."""
    plan_year_check(year)
    return loans_prepare(facts, tables, year)


# ---- high-tech certification -----------------------------------------------------------------


def _certification_rules(policy: Policy) -> None:
    @policy.rule("qingdao.hitech_first_cert", zh="高企首次认定奖励", unit="CNY",
                 en="first high-tech certification award", reference=PLAN)  # fmt: skip
    def hitech_first_cert(f: Formula) -> Branches:
        rd_part = f.minimum(
            f.rate(f.input("rd_deductible"), "hitech_first_cert.rd_rate"),
            f.param("hitech_first_cert.rd_cap"),
        )
        return f.branches(
            f.when(f.input("hitech_first_cert_year") == f.year,
                   f.param("hitech_first_cert.base") + rd_part,
                   zh="本年度首次认定为高新技术企业", en="first certified as high-tech this year"),
            f.otherwise(0, zh="本年度不是首次认定", en="not first certified this year"),
        )  # fmt: skip

    @policy.rule("qingdao.hitech_recert", zh="高企重新认定奖励", unit="CNY",
                 en="high-tech re-certification award", reference=PLAN)  # fmt: skip
    def hitech_recert(f: Formula) -> Branches:
        recertified = (f.input("hitech_cert_year") == f.year) & (
            f.input("hitech_first_cert_year") < f.year
        )
        return f.branches(
            f.when(recertified, f.param("hitech_recert.award"),
                   zh="本年度重新认定（首次认定在以前年度）",
                   en="re-certified this year (first certified earlier)"),
            f.otherwise(0, zh="本年度未重新认定", en="not re-certified this year"),
        )  # fmt: skip


# ---- listing cultivation pool ----------------------------------------------------------------


def _listing_pool_rules(policy: Policy) -> None:
    @policy.rule("qingdao.listing_pool_rd_increase", zh="可加计扣除研发费用同比增量", unit="CNY",
                 en="year-on-year increase of super-deductible R&D expenses",
                 reference=PLAN)  # fmt: skip
    def listing_pool_rd_increase(f: Formula) -> Branches:
        return f.branches(
            # rd_deductible is never null on a row (it defaults to rd_expense), so a null
            # previous value means no row for the previous year
            f.when(f.prev("rd_deductible").is_not_null(),
                   f.input("rd_deductible") - f.prev("rd_deductible"),
                   zh="本年减上年可加计扣除研发费用",
                   en="this year's super-deductible R&D minus last year's"),
            f.otherwise(None, zh="无上年数据", en="no row for the previous year"),
        )  # fmt: skip

    @policy.rule("qingdao.listing_pool_rd_growth", zh="上市培育库研发费用增量奖励", unit="CNY",
                 en="listing pool award on the growth of super-deductible R&D",
                 reference=PLAN)  # fmt: skip
    def listing_pool_rd_growth(f: Formula) -> Branches:
        increase = f.rule("qingdao.listing_pool_rd_increase")
        share = f.rate(increase, "listing_pool.rd_rate")
        cap = f.param("listing_pool.rd_cap")
        return f.branches(
            f.when(~f.input("in_listing_pool"), 0,
                   zh="本年度不在上市培育库", en="not in the listing pool this year"),
            f.when(increase.is_null(), 0,
                   zh="无上年数据，无法计算增量", en="no previous-year row: no increase to reward"),
            f.when(increase <= 0, 0,
                   zh="可加计扣除研发费用未增长", en="super-deductible R&D did not increase"),
            f.when(share >= cap, cap,
                   zh="增量的 20% 达到年度上限，按上限", en="20 % of the increase reaches the cap"),
            f.otherwise(share, zh="按增量的 20%", en="20 % of the increase"),
        )  # fmt: skip

    @policy.rule("qingdao.listing_pool_project", zh="上市培育库一次性项目支持", unit="CNY",
                 en="one-off listing pool project grant", reference=PLAN)  # fmt: skip
    def listing_pool_project(f: Formula) -> Branches:
        return f.branches(
            f.when(~f.input("in_listing_pool"), 0,
                   zh="本年度不在上市培育库", en="not in the listing pool this year"),
            f.when(f.any_before("in_listing_pool"), 0,
                   zh="以前年度已在库（一次性支持已享受）",
                   en="in the pool in an earlier year (the one-off grant was due then)"),
            f.otherwise(f.param("listing_pool.project_award"),
                        zh="本年度首次入库", en="first year in the listing pool"),
        )  # fmt: skip


# ---- R&D investment growth (top 200) ---------------------------------------------------------


def _rd_growth_rules(policy: Policy) -> None:
    @policy.rule("qingdao.rd_growth_increase", zh="研发费用同比增量", unit="CNY",
                 en="year-on-year increase of R&D expenses", reference=PLAN)  # fmt: skip
    def rd_growth_increase(f: Formula) -> Branches:
        return f.branches(
            f.when(f.prev("rd_expense").is_not_null(), f.input("rd_expense") - f.prev("rd_expense"),
                   zh="本年减上年研发费用", en="this year's R&D minus last year's"),
            f.otherwise(None, zh="无上年数据", en="no row for the previous year"),
        )  # fmt: skip

    @policy.rule("qingdao.rd_growth_rank", zh="研发投入增长排名", unit="count",
                 en="rank by R&D growth", reference=PLAN)  # fmt: skip
    def rd_growth_rank(f: Formula) -> Branches:
        eligible = (
            f.input("above_designated_size")
            & f.input("sector").is_in(["industrial", "service"])
            & (f.rule("qingdao.rd_growth_increase") >= f.param("rd_growth.min_increase"))
        )
        return f.branches(
            f.when(eligible, f.rank_desc(f.rule("qingdao.rd_growth_increase"), where=eligible),
                   zh="规上工业或服务业企业，研发增量达到门槛，参与排名（同额按代码升序）",
                   en="above designated size, industrial or service, increase at least the"
                      " threshold: ranked (ties by USCC ascending)"),
            f.otherwise(None, zh="不参与排名（规模、行业或增量不符）",
                        en="not ranked (size, sector or increase does not qualify)"),
        )  # fmt: skip

    @policy.rule("qingdao.rd_growth_top200", zh="研发投入增长奖励（前 200 名）", unit="CNY",
                 en="R&D growth award (top 200)", reference=PLAN)  # fmt: skip
    def rd_growth_top200(f: Formula) -> Branches:
        rank = f.rule("qingdao.rd_growth_rank")
        award = f.minimum(
            f.rate(f.rule("qingdao.rd_growth_increase"), "rd_growth.rate"), f.param("rd_growth.cap")
        )
        return f.branches(
            f.when(rank <= f.param("rd_growth.top_n"), award,
                   zh="排名在奖励名额内", en="ranked within the number rewarded"),
            f.otherwise(pl.lit(0), zh="未进入奖励名额", en="not ranked within the number rewarded"),
        )  # fmt: skip


# ---- high-tech cultivation pool --------------------------------------------------------------

POOL = "qingdao.cultivation_pool"


def _cultivation_pool_rules(policy: Policy) -> None:
    _pool_selection_rules(policy)
    _pool_award_rules(policy)


def _pool_selection_rules(policy: Policy) -> None:
    @policy.rule(f"{POOL}_candidate", zh="高企培育库候选企业", unit="bool",
                 en="candidate for the high-tech cultivation pool", reference=PLAN)  # fmt: skip
    def candidate(f: Formula) -> Branches:
        certificate = f.input("hitech_cert_year")
        valid = (certificate > f.year - f.param("cultivation_pool.cert_valid_years")) & (
            certificate <= f.year
        )
        return f.branches(
            f.when(f.input("tech_sme_number").fill_null("") == "", pl.lit(False),
                   zh="本年度无科技型中小企业入库登记编号",
                   en="no tech-SME registration number this year"),
            f.when(valid, pl.lit(False),
                   zh="持有有效高企证书（近 3 年内颁发）",
                   en="holds a valid high-tech certificate (issued in the last 3 years)"),
            f.otherwise(pl.lit(True), zh="已入库科技型中小企业，且无有效高企证书",
                        en="registered tech SME without a valid high-tech certificate"),
        )  # fmt: skip

    @policy.rule(f"{POOL}_ip_points", zh="培育库评分：知识产权", unit="points",
                 en="cultivation pool score: intellectual property",
                 reference=Reference("国科发政〔2017〕115号", "第七条"))  # fmt: skip
    def ip_points(f: Formula) -> Branches:
        return Branches(
            (
                *_count_brackets(f, "ip_class1", "cultivation_pool.ip_class1_points", "I"),
                *_count_brackets(f, "ip_class2", "cultivation_pool.ip_class2_points", "II"),
                Branch(None, pl.lit(0), "无有效知识产权", "no valid intellectual property"),
            )
        )

    @policy.rule(f"{POOL}_rd_revenue_points", zh="培育库评分：研发费用/销售收入", unit="points",
                 en="cultivation pool score: R&D / sales revenue",
                 reference=Reference("国科发政〔2017〕115号", "第七条"))  # fmt: skip
    def rd_revenue_points(f: Formula) -> Branches:
        return f.band(f.input("rd_expense"), f.input("revenue"),
                      "cultivation_pool.rd_revenue_points",
                      unit_zh="（研发费用/销售收入）",
                      unit_en=" (R&D / sales revenue)")  # fmt: skip

    @policy.rule(f"{POOL}_rd_costs_points", zh="培育库评分：研发费用/成本费用总额", unit="points",
                 en="cultivation pool score: R&D / total costs and expenses",
                 reference=Reference("国科发政〔2017〕115号", "第七条"))  # fmt: skip
    def rd_costs_points(f: Formula) -> Branches:
        return f.band(f.input("rd_expense"), f.input("total_costs"),
                      "cultivation_pool.rd_costs_points",
                      unit_zh="（研发费用/成本费用总额）",
                      unit_en=" (R&D / total costs and expenses)")  # fmt: skip

    @policy.rule(f"{POOL}_rd_points", zh="培育库评分：研发投入（两种算法取高）", unit="points",
                 en="cultivation pool score: R&D input (the better of the two measures)",
                 reference=Reference("国科发政〔2017〕115号", "第七条"))  # fmt: skip
    def rd_points(f: Formula) -> Branches:
        revenue = f.rule(f"{POOL}_rd_revenue_points")
        costs = f.rule(f"{POOL}_rd_costs_points")
        return f.branches(
            f.when(revenue >= costs, revenue,
                   zh="按研发费用占销售收入比例（不低于另一算法）",
                   en="by R&D / sales revenue (at least the other measure)"),
            f.otherwise(costs, zh="按研发费用占成本费用总额比例（高于另一算法）",
                        en="by R&D / total costs and expenses (above the other measure)"),
        )  # fmt: skip

    @policy.rule(f"{POOL}_score", zh="培育库遴选得分", unit="points",
                 en="cultivation pool selection score", reference=PLAN)  # fmt: skip
    def score(f: Formula) -> Branches:
        return f.branches(
            f.when(f.rule(f"{POOL}_candidate"),
                   f.rule(f"{POOL}_ip_points") + f.rule(f"{POOL}_rd_points"),
                   zh="知识产权得分 + 研发投入得分", en="IP points + R&D points"),
            f.otherwise(None, zh="非候选企业，不评分", en="not a candidate: no score"),
        )  # fmt: skip

    @policy.rule(f"{POOL}_rank", zh="培育库遴选排名", unit="count",
                 en="cultivation pool rank", reference=PLAN)  # fmt: skip
    def rank(f: Formula) -> Branches:
        candidate = f.rule(f"{POOL}_candidate")
        ranked = f.rank_by([f.rule(f"{POOL}_score"), f.input("rd_expense")],
                           descending=[True, True], where=candidate)  # fmt: skip
        return f.branches(
            f.when(candidate, ranked,
                   zh="按得分降序排名，同分按研发费用降序、再按统一社会信用代码升序",
                   en="ranked by score descending; ties by R&D expenses descending,"
                      " then USCC ascending"),
            f.otherwise(None, zh="非候选企业，不排名", en="not a candidate: not ranked"),
        )  # fmt: skip

    @policy.rule(POOL, zh="入选高企培育库", unit="bool",
                 en="selected into the high-tech cultivation pool", reference=PLAN)  # fmt: skip
    def pool(f: Formula) -> Branches:
        return f.branches(
            f.when(~f.rule(f"{POOL}_candidate"), pl.lit(False),
                   zh="非候选企业", en="not a candidate"),
            f.when(f.rule(f"{POOL}_rank") <= f.param("cultivation_pool.size"), pl.lit(True),
                   zh="排名在入库名额内", en="ranked within the pool size"),
            f.otherwise(pl.lit(False), zh="排名在入库名额之外", en="ranked below the pool size"),
        )  # fmt: skip


def _count_brackets(f: Formula, column: str, name: str, kind: str) -> list[Branch]:
    """One branch per bracket of a points scale over an IP count, citing the scale."""
    brackets: tuple[Bracket, ...] = f.param_value(name)
    cited = f.param(name).is_not_null()
    return [
        Branch(
            cited & (f.input(column) >= int(bracket.at_least)),
            pl.lit(int(bracket.value)),
            f"{kind} 类知识产权 ≥ {bracket.at_least} 件",
            f"Class {kind} IP ≥ {bracket.at_least}",
        )
        for bracket in brackets
    ]


def _pool_award_rules(policy: Policy) -> None:
    @policy.rule(f"{POOL}_with_growth", zh="培育库企业“有成长性”", unit="bool",
                 en="cultivation pool member \"with growth\"", reference=PLAN)  # fmt: skip
    def with_growth(f: Formula) -> Branches:
        return f.branches(
            # rd_expense is required on every row: null last year means no row last year
            f.when(f.prev("rd_expense").is_null(), pl.lit(False),
                   zh="无上年数据，无法判断成长性",
                   en="no previous-year row: growth cannot be shown"),
            f.when(_grew(f), pl.lit(True),
                   zh="各项指标均较上年增长", en="every growth measure is above last year's"),
            f.otherwise(pl.lit(False), zh="有指标未较上年增长",
                        en="a growth measure is not above last year's"),
        )  # fmt: skip

    @policy.rule(f"{POOL}_growth", zh="培育库有成长性企业奖励（市区合计）", unit="CNY",
                 en="cultivation pool award for growth (city and district together)",
                 reference=PLAN)  # fmt: skip
    def growth(f: Formula) -> Branches:
        return f.branches(
            f.when(~f.rule(POOL), 0, zh="未入选培育库", en="not selected into the pool"),
            f.when(~f.rule(f"{POOL}_with_growth"), 0,
                   zh="入库但不具成长性", en="in the pool, but not with growth"),
            f.otherwise(f.param("cultivation_pool.award"),
                        zh="入库且有成长性", en="in the pool and with growth"),
        )  # fmt: skip

    @policy.rule(f"{POOL}_growth_city", zh="培育库奖励（市级部分）", unit="CNY",
                 en="cultivation pool award: the city's part", reference=PLAN)  # fmt: skip
    def growth_city(f: Formula) -> pl.Expr:
        return f.rate(f.rule(f"{POOL}_growth"), "cultivation_pool.city_share")

    @policy.rule(f"{POOL}_growth_district", zh="培育库奖励（区级部分）", unit="CNY",
                 en="cultivation pool award: the district's part", reference=PLAN)  # fmt: skip
    def growth_district(f: Formula) -> Branches:
        return f.branches(
            f.otherwise(f.rule(f"{POOL}_growth") - f.rule(f"{POOL}_growth_city"),
                        zh="奖励减市级部分", en="the award minus the city's part"),
        )  # fmt: skip


def _grew(f: Formula) -> pl.Expr:
    """Every measure of ``cultivation_pool.growth_measures`` above last year's by more than
    ``cultivation_pool.growth_min_rate``, compared exactly in integers."""
    measures: tuple[str, ...] = f.param_value("cultivation_pool.growth_measures")
    unknown = [name for name in measures if name not in MONEY_INPUTS]
    if unknown:
        raise PolicyError(
            f"cultivation_pool.growth_measures 含未知指标 {', '.join(unknown)}"
            f"（可选：{', '.join(MONEY_INPUTS)}）",
            f"cultivation_pool.growth_measures names unknown measures {', '.join(unknown)}"
            f" (allowed: {', '.join(MONEY_INPUTS)})",
        )
    rate = Fraction(f.param_value("cultivation_pool.growth_min_rate"))
    cited = (
        f.param("cultivation_pool.growth_measures").is_not_null()
        & f.param("cultivation_pool.growth_min_rate").is_not_null()
    )
    conditions = [
        f.input(name).cast(pl.Int128) * rate.denominator
        > f.prev(name).cast(pl.Int128) * (rate.denominator + rate.numerator)
        for name in measures
    ]
    return cited & pl.all_horizontal(conditions) if conditions else cited


# ---- loan interest subsidies ----------------------------------------------------------------


def _loan_rules(policy: Policy) -> None:
    @policy.rule("qingdao.loan_subsidy_loans", zh="享受贴息的投(保)贷联动贷款笔数", unit="count",
                 en="invest- or insure-linked loans subsidised this year",
                 reference=PLAN)  # fmt: skip
    def loan_count(f: Formula) -> pl.Expr:
        loans = loans_in_list(_terms(f))
        counted = loans_decoded(f.input(LOANS)).list.eval(loans.qualifies.cast(pl.Int64)).list.sum()
        return _cite_loan_parameters(f, counted.fill_null(0), [LINKAGES])

    @policy.rule("qingdao.loan_interest_subsidy", zh="投(保)贷联动贷款贴息", unit="CNY",
                 en="interest subsidy on invest- or insure-linked loans",
                 reference=PLAN)  # fmt: skip
    def loan_interest_subsidy(f: Formula) -> Branches:
        loans = loans_in_list(_terms(f))
        total = loans_decoded(f.input(LOANS)).list.eval(loans.subsidy_fen).list.sum().fill_null(0)
        return f.branches(
            f.when(~f.input(LOANS_SUPPLIED), 0,
                   zh="未提供贷款表", en="no loans supplied"),
            f.when(f.rule("qingdao.loan_subsidy_loans") == 0, 0,
                   zh="本年度无在贷的投(保)贷联动贷款",
                   en="no invest- or insure-linked loan outstanding during the year"),
            f.otherwise(_cite_loan_parameters(f, total),
                        zh="各笔贷款：500 万元以内按基准利息全额、500 万至 1000 万元部分按 50%"
                           "（利率取合同利率与起始日基准利率孰低，实际天数/360，逐笔四舍五入到分；"
                           "下列基准利率为年末值，各笔实际适用值见逐笔明细）",
                        en="per loan: the benchmark interest in full up to 5 M and 50 % of it from"
                           " 5 M to 10 M (rate: the lower of the contract rate and the benchmark on"
                           " the start date; actual days / 360; rounded half-up per loan; the"
                           " benchmark listed is the year-end one, each loan's is in the per-loan"
                           " breakdown)"),
        )  # fmt: skip


def _terms(f: Formula) -> LoanTerms:
    return loan_terms(f.parameters, f.instant)


def _cite_loan_parameters(
    f: Formula, expr: pl.Expr, names: Sequence[str] = LOAN_PARAMETERS
) -> pl.Expr:
    """``expr`` unchanged, but naming the loan parameters it was computed from (``_terms``
    reads them without recording), so explanations cite them with their references."""
    cited = pl.all_horizontal([f.param(name).is_not_null() for name in names])
    return pl.when(cited).then(expr)
