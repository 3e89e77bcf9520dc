"""High-tech enterprise certification conditions (高新技术企业认定管理办法, 国科发火〔2016〕32号,
第十一条; 工作指引 国科发火〔2016〕195号).

Assessment columns, one row per enterprise and year (the year's facts are the "last year"
before the application):

======================  =======  ==========================================================
rd_intensity_3y         ratio    R&D / sales revenue over the last 3 fiscal years (fewer when
                                 the firm has fewer rows), Float64 for display
rd_intensity_required   ratio    the minimum for the latest year's revenue: ≤ 50 M → 5 %,
                                 (50 M, 200 M] → 4 %, > 200 M → 3 %
st_staff_ratio          ratio    S&T staff / employees
domestic_rd_share       ratio    R&D spent in China / all R&D, same years as the intensity
hitech_revenue_share    ratio    high-tech product/service revenue / sales revenue, last year
registered_years        year     whole 365-day years from registration to 31 December
conditions_met          bool     every assessed condition holds
failed_conditions       text     ``;``-separated ids of the conditions that fail, in article
                                 order; empty when none fails
======================  =======  ==========================================================

Condition ids, in the order of 第十一条: ``registered_1y`` (一), ``core_ip`` (二),
``hitech_field`` (三), ``st_staff`` (四), ``rd_intensity`` and ``domestic_rd`` (五),
``hitech_revenue`` (六), ``innovation_score`` (七), ``no_incident`` (八).

Readings:

- Verdicts are exact (integers cross-multiplied); the ratio columns are for display only.
- ``core_ip``: owns at least one valid Class I or one valid Class II IP (``ip_class1`` or
  ``ip_class2`` ≥ 1). The facts cannot tell whether the IP supports the main products, nor that
  a Class II IP was already used in an earlier certification (the work guide allows that once).
- ``hitech_field`` (the 8 state-supported fields) and ``innovation_score`` (expert score, must be
  above 70) are assessed only when the optional columns ``in_hitech_field`` (boolean) and
  ``innovation_score`` (number) are given; otherwise they are *not assessed*: they appear neither
  as failed nor as met, the explanation says so, and ``conditions_met`` covers the others.
- ``hitech_revenue``: the measures divide by total income; the facts hold sales revenue only.
- ``no_incident``: ``incident`` of the year (the year before the application).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from wotu.policies.catalog.cn.shared import OptionalColumn, optional_columns_prepare
from wotu.policies.engine import Branches, Formula, Policy
from wotu.policies.parameters import Reference, display, parameters_load

DOCUMENT = "国科发火〔2016〕32号《高新技术企业认定管理办法》"
GUIDE = "国科发火〔2016〕195号《高新技术企业认定管理工作指引》"
ART11 = Reference(document=DOCUMENT, article="第十一条")
OPTIONAL = (
    OptionalColumn("in_hitech_field", "bool",
                   "核心技术属于《国家重点支持的高新技术领域》",
                   "core technology in the state-supported high-tech fields"),
    OptionalColumn("innovation_score", "number", "企业创新能力评价得分", "innovation score"),
)  # fmt: skip
# (condition id, article item), in the order of art. 11; each is the rule "hitech.<id>".
CONDITIONS = (
    ("registered_1y", "（一）"),
    ("core_ip", "（二）"),
    ("hitech_field", "（三）"),
    ("st_staff", "（四）"),
    ("rd_intensity", "（五）"),
    ("domestic_rd", "（五）"),
    ("hitech_revenue", "（六）"),
    ("innovation_score", "（七）"),
    ("no_incident", "（八）"),
)
OUTPUTS = (
    "rd_intensity_3y",
    "rd_intensity_required",
    "st_staff_ratio",
    "domestic_rd_share",
    "hitech_revenue_share",
    "registered_years",
    "conditions_met",
    "failed_conditions",
)
NOT_ASSESSED = pl.lit(None, dtype=pl.Boolean)


def build() -> Policy:
    policy = Policy(
        id="cn-hitech-2016",
        zh="高新技术企业认定条件（国科发火〔2016〕32号）",
        en="High-tech enterprise certification conditions (MOST 2016 No. 32)",
        kind="assess",
        parameters=parameters_load(Path(__file__).with_suffix(".yaml")),
        outputs=OUTPUTS,
        reference=Reference(document=DOCUMENT, article="第十一条"),
        description_zh="逐项检查第十一条的认定条件，列出未满足的条件。",
        description_en="Checks each certification condition of art. 11 and lists those failed.",
        prepare=optional_columns_prepare(OPTIONAL),
    )
    _registration_and_ip(policy)
    _staff(policy)
    _rd(policy)
    _revenue_score_incident(policy)
    _verdict(policy)
    return policy


def _article(item: str) -> Reference:
    return Reference(document=DOCUMENT, article=f"第十一条第{item}项")


def share(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator as Float64 for display (null when the denominator is not > 0)."""
    return pl.when(denominator > 0).then(numerator.cast(pl.Float64) / denominator)


def _registration_and_ip(policy: Policy) -> None:
    @policy.rule("hitech.registered_days", zh="注册成立日历天数（至 12 月 31 日）", unit="count",
                 en="calendar days since registration (to 31 December)",
                 reference=_article("（一）"))  # fmt: skip
    def registered_days(f: Formula) -> pl.Expr:
        return (pl.lit(f.instant) - f.input("registered_on")).dt.total_days()

    @policy.rule("registered_years", zh="注册成立年数（按 365 天计的整年）", unit="year",
                 en="years since registration (whole 365-day years)",
                 reference=_article("（一）"))  # fmt: skip
    def registered_years(f: Formula) -> pl.Expr:
        return f.rule("hitech.registered_days") // 365  # display; the verdict uses the parameter

    @policy.rule("hitech.registered_1y", zh="注册成立一年以上", en="registered at least one year",
                 unit="bool", reference=_article("（一）"))  # fmt: skip
    def registered_1y(f: Formula) -> Branches:
        days = f.rule("hitech.registered_days")
        minimum = f.param_value("hitech.registered_min_days")
        return f.branches(
            f.when(days >= f.param("hitech.registered_min_days"), True,
                   zh=f"注册成立已满 {minimum} 个日历天", en=f"registered {minimum} days or more"),
            f.otherwise(False, zh=f"注册成立不足 {minimum} 个日历天",
                        en=f"registered fewer than {minimum} days"),
        )  # fmt: skip

    @policy.rule("hitech.core_ip", zh="拥有核心自主知识产权", en="owns core IP", unit="bool",
                 reference=_article("（二）"))  # fmt: skip
    def core_ip(f: Formula) -> Branches:
        return f.branches(
            f.when(f.input("ip_class1") >= 1, True,
                   zh="拥有Ⅰ类知识产权（本系统读法：Ⅰ类或Ⅱ类至少 1 项）",
                   en="owns Class I IP (Wotu's reading: at least one Class I or Class II IP)"),
            f.when(f.input("ip_class2") >= 1, True,
                   zh="拥有Ⅱ类知识产权（本系统读法：Ⅰ类或Ⅱ类至少 1 项）",
                   en="owns Class II IP (Wotu's reading: at least one Class I or Class II IP)"),
            f.otherwise(False, zh="没有有效的Ⅰ类或Ⅱ类知识产权", en="no valid Class I or II IP"),
        )  # fmt: skip

    @policy.rule("hitech.hitech_field", zh="核心技术属于国家重点支持的高新技术领域",
                 en="core technology in the state-supported high-tech fields", unit="bool",
                 reference=_article("（三）"))  # fmt: skip
    def hitech_field(f: Formula) -> Branches:
        given = f.input("in_hitech_field")
        return f.branches(
            f.when(given.is_null(), NOT_ASSESSED,
                   zh="未提供 in_hitech_field：本条未评",
                   en="in_hitech_field not given: not assessed"),
            f.when(given, True, zh="属于重点支持领域", en="in a supported field"),
            f.otherwise(False, zh="不属于重点支持领域", en="not in a supported field"),
        )  # fmt: skip


def _staff(policy: Policy) -> None:
    @policy.rule("st_staff_ratio", zh="科技人员占职工总数比例", en="S&T staff / employees",
                 unit="ratio", reference=_article("（四）"))  # fmt: skip
    def st_staff_ratio(f: Formula) -> pl.Expr:
        return share(f.input("st_staff"), f.input("employees"))

    @policy.rule("hitech.st_staff", zh="科技人员占比达标", en="enough S&T staff", unit="bool",
                 reference=_article("（四）"))  # fmt: skip
    def st_staff(f: Formula) -> Branches:
        minimum = display(f.param_value("hitech.st_staff_min"), "rate")
        return f.branches(
            f.when(f.at_least(f.input("st_staff"), f.input("employees"), "hitech.st_staff_min"),
                   True, zh=f"科技人员占职工总数 ≥ {minimum}",
                   en=f"S&T staff ≥ {minimum} of employees"),
            f.otherwise(False, zh=f"科技人员占职工总数低于 {minimum}",
                        en=f"S&T staff below {minimum} of employees"),
        )  # fmt: skip


def _rd(policy: Policy) -> None:
    @policy.rule("hitech.rd_years", zh="计算研发费用比例的年数", en="years the R&D ratios cover",
                 unit="count", reference=_article("（五）"))  # fmt: skip
    def rd_years(f: Formula) -> Branches:
        years = f.param_value("hitech.rd_intensity.years")
        counted = f.count_years(years)
        return f.branches(
            f.when(counted < f.param("hitech.rd_intensity.years"), counted,
                   zh="有数据的年度不足三年，按实际年数计算",
                   en="fewer years of rows than three: the actual years count"),
            f.otherwise(counted, zh="近三个会计年度", en="the last three fiscal years"),
        )  # fmt: skip

    @policy.rule("rd_intensity_3y", zh="近三年研发费用占销售收入比例", unit="ratio",
                 en="R&D / sales revenue over the last three years",
                 reference=_article("（五）"))  # fmt: skip
    def rd_intensity_3y(f: Formula) -> pl.Expr:
        years = f.param_value("hitech.rd_intensity.years")
        with_years = pl.when(f.rule("hitech.rd_years").is_not_null())
        return with_years.then(share(f.sum_years("rd_expense", years),
                                     f.sum_years("revenue", years)))  # fmt: skip

    @policy.rule("rd_intensity_required", zh="研发费用比例要求（按最近一年销售收入）", unit="ratio",
                 en="required R&D intensity (by the latest year's revenue)",
                 reference=_article("（五）"))  # fmt: skip
    def rd_intensity_required(f: Formula) -> Branches:
        return _by_revenue_band(f, lambda band: f.param(f"hitech.rd_intensity.{band}"))

    @policy.rule("hitech.rd_intensity", zh="近三年研发费用比例达标", unit="bool",
                 en="R&D intensity over three years meets the requirement",
                 reference=_article("（五）"))  # fmt: skip
    def rd_intensity(f: Formula) -> Branches:
        years = f.param_value("hitech.rd_intensity.years")
        rd, revenue = f.sum_years("rd_expense", years), f.sum_years("revenue", years)
        return _by_revenue_band(
            f, lambda band: f.at_least(rd, revenue, f"hitech.rd_intensity.{band}")
        )

    @policy.rule("domestic_rd_share", zh="境内研发费用占全部研发费用比例", unit="ratio",
                 en="R&D spent in China / all R&D", reference=_article("（五）"))  # fmt: skip
    def domestic_rd_share(f: Formula) -> pl.Expr:
        years = f.param_value("hitech.rd_intensity.years")
        return share(f.sum_years("rd_expense_domestic", years), f.sum_years("rd_expense", years))

    @policy.rule("hitech.domestic_rd", zh="境内研发费用占比达标", en="enough R&D spent in China",
                 unit="bool", reference=_article("（五）"))  # fmt: skip
    def domestic_rd(f: Formula) -> Branches:
        years = f.param_value("hitech.rd_intensity.years")
        minimum = display(f.param_value("hitech.domestic_rd_min"), "rate")
        domestic, total = (
            f.sum_years("rd_expense_domestic", years),
            f.sum_years("rd_expense", years),
        )
        return f.branches(
            f.when(total.fill_null(0) <= 0, False,
                   zh="近三年没有研发费用", en="no R&D in the years"),
            f.when(f.at_least(domestic, total, "hitech.domestic_rd_min"), True,
                   zh=f"境内研发费用占比 ≥ {minimum}", en=f"R&D spent in China ≥ {minimum}"),
            f.otherwise(False, zh=f"境内研发费用占比低于 {minimum}",
                        en=f"R&D spent in China below {minimum}"),
        )  # fmt: skip


def _by_revenue_band(f: Formula, value: Callable[[str], pl.Expr]) -> Branches:
    """Three branches by the latest year's sales revenue, the limits inclusive (≤ 50 M is the
    first band, ≤ 200 M the second); ``value(band)`` gives each branch's value."""
    revenue = f.input("revenue")
    small = display(f.param_value("hitech.rd_intensity.small_revenue_max"), "CNY")
    medium = display(f.param_value("hitech.rd_intensity.medium_revenue_max"), "CNY")
    rate = {b: display(f.param_value(f"hitech.rd_intensity.{b}"), "rate")
            for b in ("small", "medium", "large")}  # fmt: skip
    return f.branches(
        f.when(revenue <= f.param("hitech.rd_intensity.small_revenue_max"), value("small"),
               zh=f"最近一年销售收入 ≤ {small}（含）：近三年研发费用比例须 ≥ {rate['small']}",
               en=f"latest revenue ≤ {small} (inclusive): R&D intensity must be ≥ {rate['small']}"),
        f.when(revenue <= f.param("hitech.rd_intensity.medium_revenue_max"), value("medium"),
               zh=f"最近一年销售收入在 {small} 以上至 {medium}（含）：须 ≥ {rate['medium']}",
               en=f"latest revenue above {small} up to {medium} (inclusive):"
                  f" must be ≥ {rate['medium']}"),
        f.otherwise(value("large"),
                    zh=f"最近一年销售收入 > {medium}：须 ≥ {rate['large']}",
                    en=f"latest revenue above {medium}: must be ≥ {rate['large']}"),
    )  # fmt: skip


def _revenue_score_incident(policy: Policy) -> None:
    @policy.rule("hitech_revenue_share", zh="高新技术产品（服务）收入占比", unit="ratio",
                 en="high-tech product/service revenue share",
                 reference=_article("（六）"))  # fmt: skip
    def hitech_revenue_share(f: Formula) -> pl.Expr:
        return share(f.input("hitech_revenue"), f.input("revenue"))

    @policy.rule("hitech.hitech_revenue", zh="高新技术产品（服务）收入占比达标", unit="bool",
                 en="enough high-tech product/service revenue",
                 reference=_article("（六）"))  # fmt: skip
    def hitech_revenue(f: Formula) -> Branches:
        minimum = display(f.param_value("hitech.hitech_revenue_min"), "rate")
        revenue = f.input("hitech_revenue")
        return f.branches(
            f.when(revenue.is_null(), False, zh="未填报高新技术产品（服务）收入",
                   en="high-tech revenue not reported"),
            f.when(f.at_least(revenue, f.input("revenue"), "hitech.hitech_revenue_min"), True,
                   zh=f"占比 ≥ {minimum}", en=f"share ≥ {minimum}"),
            f.otherwise(False, zh=f"占比低于 {minimum}", en=f"share below {minimum}"),
        )  # fmt: skip

    @policy.rule("hitech.innovation_score", zh="企业创新能力评价达标", unit="bool",
                 en="innovation score high enough", reference=_article("（七）"))  # fmt: skip
    def innovation_score(f: Formula) -> Branches:
        score = f.input("innovation_score")
        above = display(f.param_value("hitech.innovation_score_above"), "points")
        return f.branches(
            f.when(score.is_null(), NOT_ASSESSED,
                   zh="未提供创新能力评价得分（innovation_score）：本条未评",
                   en="no innovation score given (innovation_score): not assessed"),
            f.when(score > f.param("hitech.innovation_score_above"), True,
                   zh=f"得分高于 {above} 分", en=f"score above {above}"),
            f.otherwise(False, zh=f"得分未超过 {above} 分（{above} 分本身不达标）",
                        en=f"score not above {above} ({above} itself fails)"),
        )  # fmt: skip

    @policy.rule("hitech.no_incident", zh="近一年未发生重大安全、质量事故或严重环境违法行为",
                 en="no major incident in the past year", unit="bool",
                 reference=_article("（八）"))  # fmt: skip
    def no_incident(f: Formula) -> Branches:
        return f.branches(
            f.when(f.input("incident"), False, zh="本年度发生重大事故或严重环境违法行为",
                   en="a major incident this year"),
            f.otherwise(True, zh="未发生", en="none"),
        )  # fmt: skip


def _verdict(policy: Policy) -> None:
    @policy.rule("failed_conditions", zh="未满足的条件（按条文顺序）", unit="text",
                 en="failed conditions (in article order)", reference=ART11)  # fmt: skip
    def failed_conditions(f: Formula) -> pl.Expr:
        return _ids_where(f, lambda met: ~met)

    @policy.rule("hitech.not_assessed", zh="未评的条件（未提供数据）", unit="text",
                 en="conditions not assessed (no data given)", reference=ART11)  # fmt: skip
    def not_assessed(f: Formula) -> pl.Expr:
        return _ids_where(f, lambda met: met.is_null())

    @policy.rule("conditions_met", zh="满足认定条件", en="meets the certification conditions",
                 unit="bool", reference=ART11)  # fmt: skip
    def conditions_met(f: Formula) -> Branches:
        return f.branches(
            f.when(f.rule("failed_conditions") != "", False,
                   zh="有未满足的条件（见 failed_conditions）",
                   en="some conditions fail (see failed_conditions)"),
            f.when(f.rule("hitech.not_assessed") != "", True,
                   zh="所评条件均满足；未提供数据的条件未评（见 hitech.not_assessed）",
                   en="every assessed condition holds; conditions without data were not"
                      " assessed (see hitech.not_assessed)"),
            f.otherwise(True, zh="第十一条各项条件均满足", en="every condition of art. 11 holds"),
        )  # fmt: skip


def _ids_where(f: Formula, pick: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """The ids of the conditions for which ``pick(rule column)`` holds, ``;``-separated in
    article order ("" when none)."""
    parts = [pl.when(pick(f.rule(f"hitech.{cid}"))).then(pl.lit(cid)) for cid, _ in CONDITIONS]
    return pl.concat_str(parts, separator=";", ignore_nulls=True)
