"""R&D super-deduction (研发费用加计扣除): the extra deduction on expensed R&D and the tax it saves.

Assessment columns, one row per enterprise and year:

===============  =====  ==================================================================
enterprise_type  text   which rate applies: ``excluded``, ``ic_mother_machine``,
                        ``manufacturing``, ``tech_sme`` or ``general`` (first that fits)
rate             ratio  the extra-deduction rate for the year (Float64, for display)
extra_deduction  CNY    rd_deductible × rate, half-up to the fen (exact fractions)
tax_rate         ratio  25 %, or 15 % with a valid high-tech certificate (Float64, display)
tax_saved        CNY    extra_deduction × tax_rate, half-up to the fen
===============  =====  ==================================================================

Rates by date and type (parameters ``rate.*``): 75 % from 2018 (财税〔2018〕99号, extended by
公告2021年第6号); manufacturing 100 % from 2021 (公告2021年第13号); tech-based SMEs 100 % from
2022-01-01 (公告2022年第16号); everyone else 100 % from 2022-10-01 (公告2022年第28号) and from 2023
on (公告2023年第7号); integrated-circuit and industrial mother-machine firms 120 % for 2023–2027
(公告2023年第44号), the general rate after.

Readings:

- When a rate changes inside the year (a general firm in 2022: 75 % to 30 September, 100 % from
  1 October), the year's rate is prorated by months, as 公告2022年第28号 第二条 allows when the
  actual fourth-quarter R&D is not separately known: (9 × 75 % + 3 × 100 %) / 12 = 81.25 %. The
  branch label says so; a firm with its actual Q4 figures may file differently.
- Where several types fit, the first in the order above applies; with the rates as they stand
  that is always the most favourable one.
- A tech-based SME is a firm with ``tech_sme_number`` for the year; a manufacturing firm has
  ``manufacturing`` true. IC and mother-machine firms are flagged by the optional boolean column
  ``ic_or_mother_machine``. Excluded industries (财税〔2015〕119号 第四条, an **unconfirmed** list
  parameter) are matched exactly against the optional text column ``industry`` (name or GB/T 4754
  code); an excluded firm gets rate 0.
- ``tax_saved`` assumes taxable income at least as large as the extra deduction (a loss-making
  firm carries the deduction forward instead) and ignores other reduced rates (small low-profit
  enterprises and the like). A certificate issued in year Y gives 15 % in Y, Y+1 and Y+2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from wotu.policies.catalog.cn.shared import (
    OptionalColumn,
    changes_within_year,
    hitech_certificate_valid,
    optional_columns_prepare,
)
from wotu.policies.engine import Branch, Branches, Formula, Policy
from wotu.policies.parameters import Reference, display, parameters_load

CIT_LAW = "《中华人民共和国企业所得税法》"
BASIS = Reference(
    document="财税〔2018〕99号；公告2021年第6号、第13号；2022年第16号、第28号；2023年第7号、第44号",
    article="各文件第一条（2022年第28号：第二条）",
    note="研发费用税前加计扣除 / extra deduction of R&D expenses",
)
OPTIONAL = (
    OptionalColumn("ic_or_mother_machine", "bool",
                   "集成电路企业或工业母机企业",
                   "integrated-circuit or industrial mother-machine firm"),
    OptionalColumn("industry", "text", "所属行业（名称或国标代码）",
                   "industry (name or GB/T 4754 code)"),
)  # fmt: skip
# (type, rate parameter, zh, en) in order of precedence after the excluded industries.
TYPES = (
    ("ic_mother_machine", "rate.ic_mother_machine",
     "集成电路企业或工业母机企业", "integrated-circuit or industrial mother-machine firm"),
    ("manufacturing", "rate.manufacturing", "制造业企业", "manufacturing firm"),
    ("tech_sme", "rate.tech_sme", "科技型中小企业（有当年入库登记编号）",
     "tech-based SME (registration number for the year)"),
)  # fmt: skip
GENERAL = ("general", "rate.general", "一般企业", "general enterprise")
OUTPUTS = ("enterprise_type", "rate", "extra_deduction", "tax_rate", "tax_saved")
ZERO = pl.lit(0, dtype=pl.Int64)


def build() -> Policy:
    policy = Policy(
        id="cn-rd-super-deduction",
        zh="研发费用税前加计扣除",
        en="R&D expenses super-deduction",
        kind="assess",
        parameters=parameters_load(Path(__file__).with_suffix(".yaml")),
        outputs=OUTPUTS,
        reference=BASIS,
        description_zh="按年度与企业类型确定加计扣除比例，计算加计扣除额及少缴的企业所得税。",
        description_en="The extra-deduction rate by year and enterprise type, the extra deduction"
        " and the corporate income tax it saves.",
        prepare=optional_columns_prepare(OPTIONAL),
    )
    _enterprise_type(policy)
    _rate(policy)
    _extra_deduction(policy)
    _tax(policy)
    return policy


def _types_in_force(f: Formula) -> list[tuple[str, str, str, str]]:
    """The special types whose rate parameter has a value at the policy instant (the IC and
    mother-machine rate exists from 2023)."""
    return [t for t in TYPES if _in_force(f, t[1])]


def _in_force(f: Formula, name: str) -> bool:
    return any(dated.since <= f.instant for dated in f.parameters[name].values)


def _weighting(f: Formula, name: str) -> tuple[bool, str, str]:
    """Whether the rate changes inside the year, and what the label adds when it does."""
    if not changes_within_year(f, name):
        return False, "", ""
    return (
        True,
        "；年内比例调整，按月份比例计算（公告2022年第28号第二条）",
        "; the rate changed during the year: prorated by months (announcement 2022 No. 28,"
        " article 2)",
    )


def _enterprise_type(policy: Policy) -> None:
    @policy.rule("enterprise_type", zh="适用加计扣除比例的企业类型", unit="text",
                 en="enterprise type for the extra-deduction rate", reference=BASIS)  # fmt: skip
    def enterprise_type(f: Formula) -> Branches:
        excluded: tuple[str, ...] = f.param_value("excluded_industries")
        cites = f.param("excluded_industries").is_not_null()
        in_list = pl.when(cites).then(f.input("industry").is_in(list(excluded)))
        flags = {
            "ic_mother_machine": f.input("ic_or_mother_machine").fill_null(False),
            "manufacturing": f.input("manufacturing"),
            "tech_sme": f.input("tech_sme_number").fill_null("") != "",
        }
        return f.branches(
            f.when(in_list, pl.lit("excluded"),
                   zh="属于不适用加计扣除的行业（财税〔2015〕119号第四条，名单待核实）",
                   en="in an excluded industry (Circular 2015 No. 119 art. 4; list unconfirmed)"),
            *(f.when(flags[kind], pl.lit(kind), zh=zh, en=en)
              for kind, _, zh, en in _types_in_force(f)),
            f.otherwise(pl.lit(GENERAL[0]), zh=GENERAL[2], en=GENERAL[3]),
        )  # fmt: skip


def _rate(policy: Policy) -> None:
    @policy.rule("rate", zh="加计扣除比例", en="extra-deduction rate", unit="ratio",
                 reference=BASIS)  # fmt: skip
    def rate(f: Formula) -> Branches:
        kind = f.rule("enterprise_type")
        return f.branches(
            f.when(kind == "excluded", pl.lit(0.0), zh="不适用行业：0", en="excluded industry: 0"),
            *(_by_type(f, kind, t, lambda name, w: f.param(name, weighted=w))
              for t in _types_in_force(f)),
            _by_type(f, None, GENERAL, lambda name, w: f.param(name, weighted=w)),
        )  # fmt: skip


def _extra_deduction(policy: Policy) -> None:
    @policy.rule("extra_deduction", zh="研发费用加计扣除额", en="extra deduction of R&D expenses",
                 unit="CNY", reference=BASIS)  # fmt: skip
    def extra_deduction(f: Formula) -> Branches:
        kind, rd = f.rule("enterprise_type"), f.input("rd_deductible")
        return f.branches(
            f.when(rd.fill_null(0) <= 0, ZERO,
                   zh="没有可加计扣除的研发费用", en="no deductible R&D expenses"),
            f.when(kind == "excluded", ZERO, zh="不适用行业：不加计扣除",
                   en="excluded industry: no extra deduction"),
            *(_by_type(f, kind, t, lambda name, w: f.rate(rd, name, weighted=w))
              for t in _types_in_force(f)),
            _by_type(f, None, GENERAL, lambda name, w: f.rate(rd, name, weighted=w)),
        )  # fmt: skip


def _by_type(
    f: Formula,
    kind: pl.Expr | None,
    spec: tuple[str, str, str, str],
    value: Callable[[str, bool], pl.Expr],
) -> Branch:
    """The branch for one enterprise type (``kind`` None: the final, general branch); its value
    is ``value(rate parameter, weighted over the year?)``."""
    name, parameter, zh, en = spec
    weighted, zh_more, en_more = _weighting(f, parameter)
    then = value(parameter, weighted)
    if kind is None:
        return f.otherwise(then, zh=zh + zh_more, en=en + en_more)
    return f.when(kind == name, then, zh=zh + zh_more, en=en + en_more)


def _tax(policy: Policy) -> None:
    reference = Reference(document=CIT_LAW, article="第四条、第二十八条第二款")

    @policy.rule("tax_rate", zh="企业所得税税率", en="corporate income tax rate", unit="ratio",
                 reference=reference)  # fmt: skip
    def tax_rate(f: Formula) -> Branches:
        hitech, standard = _tax_rates(f)
        return f.branches(
            f.when(hitech_certificate_valid(f), f.param("tax.hitech"),
                   zh=f"有效期内的高新技术企业：{hitech}",
                   en=f"valid high-tech enterprise: {hitech}"),
            f.otherwise(f.param("tax.standard"), zh=f"一般税率 {standard}",
                        en=f"standard rate {standard}"),
        )  # fmt: skip

    @policy.rule("tax_saved", zh="加计扣除少缴的企业所得税", unit="CNY",
                 en="corporate income tax saved by the extra deduction",
                 reference=reference)  # fmt: skip
    def tax_saved(f: Formula) -> Branches:
        hitech, standard = _tax_rates(f)
        extra = f.rule("extra_deduction")
        return f.branches(
            f.when(hitech_certificate_valid(f), f.rate(extra, "tax.hitech"),
                   zh=f"加计扣除额 × {hitech}（有效期内的高新技术企业）",
                   en=f"extra deduction × {hitech} (valid high-tech enterprise)"),
            f.otherwise(f.rate(extra, "tax.standard"), zh=f"加计扣除额 × {standard}",
                        en=f"extra deduction × {standard}"),
        )  # fmt: skip


def _tax_rates(f: Formula) -> tuple[str, str]:
    return (
        display(f.param_value("tax.hitech"), "rate"),
        display(f.param_value("tax.standard"), "rate"),
    )
