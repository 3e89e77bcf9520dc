"""Qingdao's Fertile Soil plan (沃土计划, 2021–2024): the five awards of the benchmark.

The same rules as ``wotu.policies.catalog.qingdao.wotu_2021``, as an OpenFisca modeller
writes them: yearly formulas from 2021, ``where``/``min_`` over whole arrays, money in float
CNY (float32), no rounding to the fen (OpenFisca leaves that to whoever pays).
"""

from __future__ import annotations

import numpy
from openfisca_core.model_api import min_, where  # type: ignore[import-untyped,import-not-found,unused-ignore]
from openfisca_core.periods import DateUnit  # type: ignore[import-untyped,import-not-found,unused-ignore]
from openfisca_core.variables import Variable  # type: ignore[import-untyped,import-not-found,unused-ignore]

from benchmarks.openfisca_wotu.entities import Enterprise
from benchmarks.openfisca_wotu.variables.inputs import Sector

PLAN = "青岛市高新技术企业培育“沃土计划”（2021—2024年）"


class qingdao_hitech_first_cert(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "高企首次认定奖励 / first high-tech certification award"
    reference = PLAN
    unit = "currency-CNY"

    def formula_2021_01_01(enterprise, period, parameters):
        p = parameters(period).qingdao.hitech_first_cert
        first = enterprise("hitech_first_cert_year", period) == period.start.year
        rd_part = min_(p.rd_rate * enterprise("rd_deductible", period), p.rd_cap)
        return where(first, p.base + rd_part, 0)


class qingdao_hitech_recert(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "高企重新认定奖励 / high-tech re-certification award"
    reference = PLAN
    unit = "currency-CNY"

    def formula_2021_01_01(enterprise, period, parameters):
        year = period.start.year
        first = enterprise("hitech_first_cert_year", period)
        certified = enterprise("hitech_cert_year", period) == year
        recertified = certified & (first > 0) & (first < year)
        return where(recertified, parameters(period).qingdao.hitech_recert.award, 0)


class qingdao_listing_pool_rd_increase(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "可加计扣除研发费用同比增量 / increase of super-deductible R&D"
    reference = PLAN
    unit = "currency-CNY"

    def formula_2021_01_01(enterprise, period, parameters):
        last = period.last_year
        increase = enterprise("rd_deductible", period) - enterprise("rd_deductible", last)
        return where(enterprise("has_row", last), increase, 0)


class qingdao_listing_pool_rd_growth(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "上市培育库研发费用增量奖励 / listing pool award on R&D growth"
    reference = PLAN
    unit = "currency-CNY"

    def formula_2021_01_01(enterprise, period, parameters):
        p = parameters(period).qingdao.listing_pool
        increase = enterprise("qingdao_listing_pool_rd_increase", period)
        pooled = enterprise("in_listing_pool", period) & enterprise("has_row", period.last_year)
        return where(pooled & (increase > 0), min_(p.rd_rate * increase, p.rd_cap), 0)


class qingdao_listing_pool_earlier(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "以前年度已在上市培育库 / in the listing pool in an earlier year"
    reference = PLAN

    def formula_2021_01_01(enterprise, period, parameters):
        years = parameters(period).qingdao.listing_pool.history_years
        earlier = numpy.zeros(enterprise.count, dtype=bool)
        for back in range(1, int(years) + 1):
            earlier |= enterprise("in_listing_pool", period.offset(-back))
        return earlier


class qingdao_listing_pool_project(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "上市培育库一次性项目支持 / one-off listing pool project grant"
    reference = PLAN
    unit = "currency-CNY"

    def formula_2021_01_01(enterprise, period, parameters):
        first_time = enterprise("in_listing_pool", period) & ~enterprise(
            "qingdao_listing_pool_earlier", period
        )
        return where(first_time, parameters(period).qingdao.listing_pool.project_award, 0)


class qingdao_rd_growth_increase(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "研发费用同比增量 / increase of R&D expenses"
    reference = PLAN
    unit = "currency-CNY"

    def formula_2021_01_01(enterprise, period, parameters):
        last = period.last_year
        increase = enterprise("rd_expense", period) - enterprise("rd_expense", last)
        return where(enterprise("has_row", last), increase, 0)


class qingdao_rd_growth_eligible(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "参与研发投入增长排名 / ranked for R&D growth"
    reference = PLAN

    def formula_2021_01_01(enterprise, period, parameters):
        sector = enterprise("sector", period)
        return (
            enterprise("above_designated_size", period)
            & ((sector == Sector.industrial) | (sector == Sector.service))
            & enterprise("has_row", period.last_year)
            & (
                enterprise("qingdao_rd_growth_increase", period)
                >= parameters(period).qingdao.rd_growth.min_increase
            )
        )


class qingdao_rd_growth_rank(Variable):
    value_type = int
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "研发投入增长排名（0 = 不参与） / rank by R&D growth (0: not ranked)"
    reference = PLAN

    def formula_2021_01_01(enterprise, period, parameters):
        # No ranking primitive in OpenFisca: the population is sorted by USCC, so a stable
        # sort on the increase descending breaks ties by USCC ascending.
        eligible = enterprise("qingdao_rd_growth_eligible", period)
        increase = enterprise("qingdao_rd_growth_increase", period)
        candidates = numpy.flatnonzero(eligible)
        order = candidates[numpy.argsort(-increase[candidates], kind="stable")]
        rank = numpy.zeros(enterprise.count, dtype=numpy.int32)
        rank[order] = numpy.arange(1, len(order) + 1, dtype=numpy.int32)
        return rank


class qingdao_rd_growth_top200(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "研发投入增长奖励（前 200 名） / R&D growth award (top 200)"
    reference = PLAN
    unit = "currency-CNY"

    def formula_2021_01_01(enterprise, period, parameters):
        p = parameters(period).qingdao.rd_growth
        rank = enterprise("qingdao_rd_growth_rank", period)
        award = min_(p.rate * enterprise("qingdao_rd_growth_increase", period), p.cap)
        return where((rank > 0) & (rank <= p.top_n), award, 0)


AWARDS = (
    "qingdao_hitech_first_cert",
    "qingdao_hitech_recert",
    "qingdao_listing_pool_rd_growth",
    "qingdao_listing_pool_project",
    "qingdao_rd_growth_top200",
)
VARIABLES = [
    qingdao_hitech_first_cert,
    qingdao_hitech_recert,
    qingdao_listing_pool_rd_increase,
    qingdao_listing_pool_rd_growth,
    qingdao_listing_pool_earlier,
    qingdao_listing_pool_project,
    qingdao_rd_growth_increase,
    qingdao_rd_growth_eligible,
    qingdao_rd_growth_rank,
    qingdao_rd_growth_top200,
]
