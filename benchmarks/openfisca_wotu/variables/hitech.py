"""High-tech enterprise certification conditions (国科发火〔2016〕32号, 第十一条).

The same readings as ``wotu.policies.catalog.cn.hitech_2016``: the R&D ratios over the
last three years with rows, the band by the latest year's revenue (limits inclusive), items
(三) and (七) met when no data is given ("not assessed" has no null to live in). Ratios are
float32 divisions compared with the float thresholds, as OpenFisca models do.
"""

from __future__ import annotations

from typing import Any

import numpy
from openfisca_core.model_api import select  # type: ignore[import-untyped,import-not-found,unused-ignore]
from openfisca_core.periods import DateUnit  # type: ignore[import-untyped,import-not-found,unused-ignore]
from openfisca_core.variables import Variable  # type: ignore[import-untyped,import-not-found,unused-ignore]

from benchmarks.openfisca_wotu.entities import Enterprise

MEASURES = "国科发火〔2016〕32号《高新技术企业认定管理办法》第十一条"


def _ratio(numerator: Any, denominator: Any) -> Any:
    """numerator / denominator where the denominator is positive, else 0 (no warnings)."""
    out = numpy.zeros(len(numerator), dtype=numpy.result_type(numerator, denominator, 1.0))
    return numpy.divide(numerator, denominator, out=out, where=denominator > 0)


def _three_years(enterprise: Any, name: str, period: Any) -> Any:
    return sum(enterprise(name, period.offset(-back)) for back in range(3))


class hitech_registered_days(Variable):
    value_type = int
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "注册成立日历天数 / calendar days since registration"
    reference = MEASURES + "（一）"

    def formula(enterprise, period, parameters):
        end = numpy.datetime64(f"{period.start.year}-12-31")
        return (end - enterprise("registered_on", period)).astype("timedelta64[D]").astype(int)


class hitech_registered_1y(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "注册成立一年以上 / registered at least one year"
    reference = MEASURES + "（一）"

    def formula(enterprise, period, parameters):
        days = enterprise("hitech_registered_days", period)
        return days >= parameters(period).hitech.registered_min_days


class hitech_core_ip(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "拥有核心自主知识产权 / owns core IP"
    reference = MEASURES + "（二）"

    def formula(enterprise, period, parameters):
        return (enterprise("ip_class1", period) >= 1) | (enterprise("ip_class2", period) >= 1)


class hitech_hitech_field(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "属于重点支持领域（未提供则不评） / supported field (not assessed when not given)"
    reference = MEASURES + "（三）"

    def formula(enterprise, period, parameters):
        given = enterprise("in_hitech_field_given", period)
        return ~given | enterprise("in_hitech_field", period)


class hitech_st_staff(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "科技人员占比达标 / enough S&T staff"
    reference = MEASURES + "（四）"

    def formula(enterprise, period, parameters):
        employees = enterprise("employees", period)
        share = _ratio(enterprise("st_staff", period), employees)
        return (employees > 0) & (share >= parameters(period).hitech.st_staff_min)


class hitech_rd_expense_3y(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "近三年研发费用 / R&D expenses over three years"
    unit = "currency-CNY"

    def formula(enterprise, period, parameters):
        return _three_years(enterprise, "rd_expense", period)


class hitech_revenue_3y(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "近三年销售收入 / sales revenue over three years"
    unit = "currency-CNY"

    def formula(enterprise, period, parameters):
        return _three_years(enterprise, "revenue", period)


class hitech_domestic_rd_3y(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "近三年境内研发费用 / R&D spent in China over three years"
    unit = "currency-CNY"

    def formula(enterprise, period, parameters):
        return _three_years(enterprise, "rd_expense_domestic", period)


class hitech_rd_intensity_3y(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "近三年研发费用占销售收入比例 / R&D intensity over three years"
    reference = MEASURES + "（五）"

    def formula(enterprise, period, parameters):
        return _ratio(
            enterprise("hitech_rd_expense_3y", period), enterprise("hitech_revenue_3y", period)
        )


class hitech_rd_intensity_required(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "研发费用比例要求 / required R&D intensity"
    reference = MEASURES + "（五）"

    def formula(enterprise, period, parameters):
        p = parameters(period).hitech.rd_intensity
        revenue = enterprise("revenue", period)
        return select(
            [revenue <= p.small_revenue_max, revenue <= p.medium_revenue_max],
            [p.small, p.medium],
            default=p.large,
        )


class hitech_rd_intensity(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "近三年研发费用比例达标 / R&D intensity meets the requirement"
    reference = MEASURES + "（五）"

    def formula(enterprise, period, parameters):
        revenue = enterprise("hitech_revenue_3y", period)
        intensity = enterprise("hitech_rd_intensity_3y", period)
        return (revenue > 0) & (intensity >= enterprise("hitech_rd_intensity_required", period))


class hitech_domestic_rd(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "境内研发费用占比达标 / enough R&D spent in China"
    reference = MEASURES + "（五）"

    def formula(enterprise, period, parameters):
        total = enterprise("hitech_rd_expense_3y", period)
        share = _ratio(enterprise("hitech_domestic_rd_3y", period), total)
        return (total > 0) & (share >= parameters(period).hitech.domestic_rd_min)


class hitech_hitech_revenue(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "高新技术产品（服务）收入占比达标 / enough high-tech revenue"
    reference = MEASURES + "（六）"

    def formula(enterprise, period, parameters):
        revenue = enterprise("revenue", period)
        share = _ratio(enterprise("hitech_revenue", period), revenue)
        return (
            enterprise("hitech_revenue_given", period)
            & (revenue > 0)
            & (share >= parameters(period).hitech.hitech_revenue_min)
        )


class hitech_innovation_score(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "创新能力评价达标（未提供则不评） / innovation score (not assessed when not given)"
    reference = MEASURES + "（七）"

    def formula(enterprise, period, parameters):
        score = enterprise("innovation_score", period)
        above = score > parameters(period).hitech.innovation_score_above
        return ~enterprise("innovation_score_given", period) | above


class hitech_no_incident(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "未发生重大事故 / no major incident"
    reference = MEASURES + "（八）"

    def formula(enterprise, period, parameters):
        return ~enterprise("incident", period)


CONDITIONS = (
    "hitech_registered_1y",
    "hitech_core_ip",
    "hitech_hitech_field",
    "hitech_st_staff",
    "hitech_rd_intensity",
    "hitech_domestic_rd",
    "hitech_hitech_revenue",
    "hitech_innovation_score",
    "hitech_no_incident",
)


class hitech_conditions_met(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "满足认定条件 / meets the certification conditions"
    reference = MEASURES

    def formula(enterprise, period, parameters):
        met = numpy.ones(enterprise.count, dtype=bool)
        for name in CONDITIONS:
            met &= enterprise(name, period)
        return met


VARIABLES = [
    hitech_registered_days,
    hitech_registered_1y,
    hitech_core_ip,
    hitech_hitech_field,
    hitech_st_staff,
    hitech_rd_expense_3y,
    hitech_revenue_3y,
    hitech_domestic_rd_3y,
    hitech_rd_intensity_3y,
    hitech_rd_intensity_required,
    hitech_rd_intensity,
    hitech_domestic_rd,
    hitech_hitech_revenue,
    hitech_innovation_score,
    hitech_no_incident,
    hitech_conditions_met,
]
