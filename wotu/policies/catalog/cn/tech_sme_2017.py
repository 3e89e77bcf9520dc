"""Tech-based SME evaluation (科技型中小企业评价办法, 国科发政〔2017〕115号): points and verdicts.

Assessment columns, one row per enterprise and year:

=======================  ======  ===========================================================
staff_points             points  S&T staff / employees, 0–20 (第七条第（一）项)
rd_points                points  R&D, 0–50: the better of option 1 (R&D / sales revenue) and
                                 option 2 (R&D / total costs and expenses) (第七条第（二）项)
ip_points                points  IP, 0–30: ≥1 Class I → 30, else by the Class II count
                                 (第七条第（三）项)
score                    points  staff_points + rd_points + ip_points (max 100)
basic_conditions_met     bool    第六条 items (一)–(五): size, no incident, score ≥ 60 and
                                 staff_points > 0
direct_qualification     bool    第八条: 第六条 items (一)–(四) and one of the four routes
qualified                bool    direct_qualification or basic_conditions_met
=======================  ======  ===========================================================

Readings (the facts contract does not hold everything the measures ask):

- 第六条（一）mainland resident enterprise: every facts row is an enterprise with a USCC
  registered in mainland China (Hong Kong and Macao units never have facts rows), so the
  condition holds for every row; the explanation says so.
- 第六条（三）prohibited/restricted industries and the abnormal/dishonest lists in （四）: the
  optional boolean columns ``restricted_industry`` and ``dishonest_listed``; absent or empty
  means none is known.
- 第六条（四）incidents: ``incident`` of this year, and of the previous year when that row exists.
- 第八条 routes (二)–(四): the optional boolean columns ``national_st_award`` (national S&T award
  in the last 5 years, among the first three units), ``provincial_rd_institution`` (a recognised
  provincial-or-higher R&D institution) and ``led_standard`` (led an international, national or
  industry standard in the last 5 years). Route (一) is a valid high-tech certificate:
  ``hitech_cert_year`` within the last ``hitech.cert_valid_years`` years.
- Ratios are compared exactly (integers cross-multiplied), so 30 % is 30 %, and one fen below a
  band edge falls in the band below.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from wotu.policies.catalog.cn.shared import (
    OptionalColumn,
    band_labelled,
    hitech_certificate_valid,
    optional_columns_prepare,
)
from wotu.policies.engine import Branches, Formula, Policy
from wotu.policies.parameters import Reference, display, parameters_load

DOCUMENT = "国科发政〔2017〕115号《科技型中小企业评价办法》"
URL = "https://www.most.gov.cn/xxgk/xinxifenlei/fdzdgknr/fgzc/gfxwj/gfxwj2017/201705/t20170510_132709.html"
ART6 = Reference(document=DOCUMENT, article="第六条", url=URL)
ART7 = Reference(document=DOCUMENT, article="第七条", url=URL)
ART8 = Reference(document=DOCUMENT, article="第八条", url=URL)

OPTIONAL = (
    OptionalColumn("restricted_industry", "bool",
                   "属于国家禁止、限制和淘汰类", "in a prohibited/restricted/phased-out industry"),
    OptionalColumn("dishonest_listed", "bool",
                   "列入经营异常名录或严重违法失信企业名单",
                   "on the abnormal or seriously dishonest lists"),
    OptionalColumn("national_st_award", "bool",
                   "近五年获国家级科技奖励（前三名）",
                   "national S&T award in 5 years (top-3 unit)"),
    OptionalColumn("provincial_rd_institution", "bool",
                   "拥有省部级以上研发机构", "recognised provincial-or-higher R&D institution"),
    OptionalColumn("led_standard", "bool",
                   "近五年主导制定国际、国家或行业标准",
                   "led an international/national/industry standard"),
)  # fmt: skip
OUTPUTS = (
    "staff_points",
    "rd_points",
    "ip_points",
    "score",
    "basic_conditions_met",
    "direct_qualification",
    "qualified",
)
ZERO = pl.lit(0, dtype=pl.Int64)


def build() -> Policy:
    policy = Policy(
        id="cn-tech-sme-2017",
        zh="科技型中小企业评价（国科发政〔2017〕115号）",
        en="Tech-based SME evaluation (MOST 2017 No. 115)",
        kind="assess",
        parameters=parameters_load(Path(__file__).with_suffix(".yaml")),
        outputs=OUTPUTS,
        reference=Reference(document=DOCUMENT, url=URL),
        description_zh="按第六至八条评价科技型中小企业：三类指标得分、基本条件与直接确认。",
        description_en="Scores the three indicators and checks the basic conditions (art. 6)"
        " and direct qualification (art. 8) of the tech-based SME measures.",
        prepare=optional_columns_prepare(OPTIONAL),
    )
    _staff_points(policy)
    _rd_points(policy)
    _ip_points(policy)
    _conditions(policy)
    _verdicts(policy)
    return policy


def _staff_points(policy: Policy) -> None:
    @policy.rule("staff_points", zh="科技人员指标得分", en="S&T staff points", unit="points",
                 reference=Reference(DOCUMENT, "第七条第（一）项", URL))  # fmt: skip
    def staff_points(f: Formula) -> Branches:
        employees = f.input("employees")
        return f.branches(
            f.when(employees.fill_null(0) <= 0, ZERO,
                   zh="职工总数为 0：0 分", en="no employees: 0 points"),
            *band_labelled(f, f.input("st_staff"), employees, "tech_sme.staff_points",
                           what_zh="科技人员占职工总数比例", what_en="S&T staff / employees"),
        )  # fmt: skip


def _rd_points(policy: Policy) -> None:
    @policy.rule("tech_sme.rd_points_revenue", zh="研发投入得分（方式一：占销售收入）",
                 en="R&D points, option 1 (R&D / sales revenue)", unit="points",
                 reference=Reference(DOCUMENT, "第七条第（二）项（1）", URL))  # fmt: skip
    def option_revenue(f: Formula) -> Branches:
        revenue = f.input("revenue")
        return f.branches(
            f.when(revenue.fill_null(0) <= 0, ZERO,
                   zh="销售收入为 0：方式一 0 分", en="no sales revenue: option 1 gives 0 points"),
            *band_labelled(f, f.input("rd_expense"), revenue, "tech_sme.rd_revenue_points",
                           what_zh="研发费用占销售收入比例", what_en="R&D / sales revenue"),
        )  # fmt: skip

    @policy.rule("tech_sme.rd_points_costs", zh="研发投入得分（方式二：占成本费用支出）",
                 en="R&D points, option 2 (R&D / total costs and expenses)", unit="points",
                 reference=Reference(DOCUMENT, "第七条第（二）项（2）", URL))  # fmt: skip
    def option_costs(f: Formula) -> Branches:
        costs = f.input("total_costs")
        return f.branches(
            f.when(costs.fill_null(0) <= 0, ZERO,
                   zh="成本费用支出总额未填报或为 0：方式二 0 分",
                   en="total costs and expenses not reported or 0: option 2 gives 0 points"),
            *band_labelled(f, f.input("rd_expense"), costs, "tech_sme.rd_costs_points",
                           what_zh="研发费用占成本费用支出总额比例",
                           what_en="R&D / total costs and expenses"),
        )  # fmt: skip

    @policy.rule("rd_points", zh="研发投入指标得分（两种方式取高）", unit="points",
                 en="R&D points (the better of the two options)",
                 reference=Reference(DOCUMENT, "第七条第（二）项", URL))  # fmt: skip
    def rd_points(f: Formula) -> Branches:
        by_revenue = f.rule("tech_sme.rd_points_revenue")
        by_costs = f.rule("tech_sme.rd_points_costs")
        return f.branches(
            f.when(by_revenue > by_costs, by_revenue,
                   zh="方式一（研发费用占销售收入）得分较高，按方式一计分",
                   en="option 1 (R&D / sales revenue) scores higher and counts"),
            f.when(by_costs > by_revenue, by_costs,
                   zh="方式二（研发费用占成本费用支出总额）得分较高，按方式二计分",
                   en="option 2 (R&D / total costs and expenses) scores higher and counts"),
            f.otherwise(by_revenue, zh="两种方式得分相同，按方式一计分",
                        en="both options score the same; option 1 counts"),
        )  # fmt: skip


def _ip_points(policy: Policy) -> None:
    @policy.rule("ip_points", zh="科技成果指标得分（知识产权）", en="IP points", unit="points",
                 reference=Reference(DOCUMENT, "第七条第（三）项", URL))  # fmt: skip
    def ip_points(f: Formula) -> Branches:
        # The bands of art. 7 (3) A–F: the counts are the article's; the points are parameters.
        class1, class2 = f.input("ip_class1"), f.input("ip_class2")
        return f.branches(
            f.when(class1 >= 1, f.param("tech_sme.ip_points.class1"),
                   zh="Ⅰ类知识产权 1 项及以上（A 档）", en="at least one Class I IP (band A)"),
            f.when(class2 >= 4, f.param("tech_sme.ip_points.class2_4_or_more"),
                   zh="无Ⅰ类，Ⅱ类知识产权 4 项及以上（B 档）",
                   en="no Class I, 4 or more Class II IP (band B)"),
            f.when(class2 == 3, f.param("tech_sme.ip_points.class2_3"),
                   zh="无Ⅰ类，Ⅱ类知识产权 3 项（C 档）", en="no Class I, 3 Class II IP (band C)"),
            f.when(class2 == 2, f.param("tech_sme.ip_points.class2_2"),
                   zh="无Ⅰ类，Ⅱ类知识产权 2 项（D 档）", en="no Class I, 2 Class II IP (band D)"),
            f.when(class2 == 1, f.param("tech_sme.ip_points.class2_1"),
                   zh="无Ⅰ类，Ⅱ类知识产权 1 项（E 档）", en="no Class I, 1 Class II IP (band E)"),
            f.otherwise(ZERO, zh="没有知识产权（F 档）：0 分", en="no IP (band F): 0 points"),
        )  # fmt: skip

    @policy.rule("score", zh="综合评价得分", en="composite score", unit="points",
                 reference=ART7)  # fmt: skip
    def score(f: Formula) -> pl.Expr:
        return f.rule("staff_points") + f.rule("rd_points") + f.rule("ip_points")


def _conditions(policy: Policy) -> None:
    @policy.rule("tech_sme.conditions_1_to_4", zh="第六条第（一）至（四）项", unit="bool",
                 en="art. 6 items (1)–(4)", reference=ART6)  # fmt: skip
    def conditions_1_to_4(f: Formula) -> Branches:
        employees_max = display(f.param_value("tech_sme.max_employees"), "count")
        revenue_max = display(f.param_value("tech_sme.max_revenue"), "CNY")
        assets_max = display(f.param_value("tech_sme.max_total_assets"), "CNY")
        assets = f.input("total_assets")
        return f.branches(
            f.when(f.input("employees") > f.param("tech_sme.max_employees"), False,
                   zh=f"职工总数超过 {employees_max} 人（第六条第（二）项）",
                   en=f"more than {employees_max} employees (art. 6 (2))"),
            f.when(f.input("revenue") > f.param("tech_sme.max_revenue"), False,
                   zh=f"年销售收入超过 {revenue_max}（第六条第（二）项）",
                   en=f"annual sales revenue above {revenue_max} (art. 6 (2))"),
            f.when(assets.is_null(), False,
                   zh="资产总额未填报，无法确认第六条第（二）项",
                   en="total assets not reported: art. 6 (2) cannot be confirmed"),
            f.when(assets > f.param("tech_sme.max_total_assets"), False,
                   zh=f"资产总额超过 {assets_max}（第六条第（二）项）",
                   en=f"total assets above {assets_max} (art. 6 (2))"),
            f.when(f.input("restricted_industry").fill_null(False), False,
                   zh="属于国家禁止、限制和淘汰类（第六条第（三）项）",
                   en="prohibited, restricted or phased-out industry (art. 6 (3))"),
            f.when(f.input("incident"), False,
                   zh="当年发生重大安全、质量事故或严重违法失信行为（第六条第（四）项）",
                   en="major incident or serious misconduct this year (art. 6 (4))"),
            f.when(f.prev("incident").fill_null(False), False,
                   zh="上一年发生重大安全、质量事故或严重违法失信行为（第六条第（四）项）",
                   en="major incident or serious misconduct in the previous year (art. 6 (4))"),
            f.when(f.input("dishonest_listed").fill_null(False), False,
                   zh="列入经营异常名录或严重违法失信企业名单（第六条第（四）项）",
                   en="on the abnormal or seriously dishonest lists (art. 6 (4))"),
            f.otherwise(True,
                        zh="满足第六条第（一）至（四）项（事实表中的企业均为在中国境内注册的居民企业）",
                        en="meets art. 6 items (1)–(4) (every facts row is a resident enterprise"
                           " registered in mainland China)"),
        )  # fmt: skip

    @policy.rule("basic_conditions_met", zh="满足第六条基本条件", unit="bool",
                 en="meets the basic conditions of art. 6", reference=ART6)  # fmt: skip
    def basic_conditions_met(f: Formula) -> Branches:
        min_score = display(f.param_value("tech_sme.min_score"), "points")
        return f.branches(
            f.when(~f.rule("tech_sme.conditions_1_to_4"), False,
                   zh="不满足第六条第（一）至（四）项", en="fails art. 6 items (1)–(4)"),
            f.when(f.rule("staff_points") <= 0, False,
                   zh="科技人员指标得分为 0（第六条第（五）项）",
                   en="S&T staff points are 0 (art. 6 (5))"),
            f.when(f.rule("score") < f.param("tech_sme.min_score"), False,
                   zh=f"综合评价得分低于 {min_score} 分（第六条第（五）项）",
                   en=f"composite score below {min_score} (art. 6 (5))"),
            f.otherwise(True, zh="满足第六条全部条件", en="meets every condition of art. 6"),
        )  # fmt: skip


def _verdicts(policy: Policy) -> None:
    @policy.rule("direct_qualification", zh="直接确认符合条件（第八条）", unit="bool",
                 en="qualifies directly (art. 8)", reference=ART8)  # fmt: skip
    def direct_qualification(f: Formula) -> Branches:
        return f.branches(
            f.when(~f.rule("tech_sme.conditions_1_to_4"), False,
                   zh="不满足第六条第（一）至（四）项，不能直接确认",
                   en="fails art. 6 items (1)–(4): no direct qualification"),
            f.when(hitech_certificate_valid(f), True,
                   zh="拥有有效期内的高新技术企业资格证书（第八条第（一）项）",
                   en="holds a valid high-tech enterprise certificate (art. 8 (1))"),
            f.when(f.input("national_st_award").fill_null(False), True,
                   zh="近五年获国家级科技奖励且排名前三（第八条第（二）项）",
                   en="national S&T award in the last 5 years, top-3 unit (art. 8 (2))"),
            f.when(f.input("provincial_rd_institution").fill_null(False), True,
                   zh="拥有经认定的省部级以上研发机构（第八条第（三）项）",
                   en="recognised provincial-or-higher R&D institution (art. 8 (3))"),
            f.when(f.input("led_standard").fill_null(False), True,
                   zh="近五年主导制定过国际、国家或行业标准（第八条第（四）项）",
                   en="led an international, national or industry standard in 5 years"
                      " (art. 8 (4))"),
            f.otherwise(False, zh="不具备第八条所列情形（未提供的可选列视为不具备）",
                        en="none of the art. 8 routes (an optional column not given counts as no)"),
        )  # fmt: skip

    @policy.rule("qualified", zh="符合科技型中小企业条件", en="qualifies as a tech-based SME",
                 unit="bool", reference=Reference(DOCUMENT, "第六条、第八条", URL))  # fmt: skip
    def qualified(f: Formula) -> Branches:
        return f.branches(
            f.when(f.rule("direct_qualification"), True,
                   zh="直接确认符合条件（第八条）", en="qualifies directly (art. 8)"),
            f.when(f.rule("basic_conditions_met"), True,
                   zh="满足第六条全部条件（含得分）",
                   en="meets every condition of art. 6 (with the score)"),
            f.otherwise(False, zh="既不满足第六条，也不能按第八条直接确认",
                        en="meets neither art. 6 nor art. 8"),
        )  # fmt: skip
