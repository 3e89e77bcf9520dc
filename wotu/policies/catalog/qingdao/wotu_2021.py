"""Qingdao's Fertile Soil plan (沃土计划, 2021–2024): awards to technology enterprises.

Amounts are the seed's (科技日报, December 2021); every one is a parameter in the YAML beside
this file with its reference.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from wotu.policies.engine import Branches, Formula, Policy
from wotu.policies.parameters import Reference, parameters_load

PLAN = Reference(
    document="青岛市高新技术企业培育“沃土计划”（2021—2024年）",
    note="据种子文件；文号待核实 / as reported in the seed; document number unconfirmed",
)


def build() -> Policy:
    policy = Policy(
        id="qingdao-wotu-2021",
        zh="青岛市“沃土计划”（2021—2024年）",
        en="Qingdao Fertile Soil plan (2021–2024)",
        kind="evaluate",
        parameters=parameters_load(Path(__file__).with_suffix(".yaml")),
        years=(2021, 2024),
        reference=PLAN,
        outputs=(
            "qingdao.hitech_first_cert",
            "qingdao.hitech_recert",
            "qingdao.rd_growth_top200",
        ),
    )

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

    return policy
