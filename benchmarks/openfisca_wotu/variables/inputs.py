"""Input variables: the facts columns the rules read, one value per enterprise and year.

Money is ``value_type = float``, which OpenFisca stores as float32 (about 7 significant
digits: a revenue of CNY 123,456,789.12 is held as 123,456,792.00). A year with no facts row
reads as the defaults (0, False): ``has_row`` tells them apart. OpenFisca has no null, so an
optional input comes with a ``*_given`` flag and a missing year as 0.
"""

from __future__ import annotations

import datetime as dt

from openfisca_core.indexed_enums import Enum  # type: ignore[import-untyped,import-not-found,unused-ignore]
from openfisca_core.periods import DateUnit  # type: ignore[import-untyped,import-not-found,unused-ignore]
from openfisca_core.variables import Variable  # type: ignore[import-untyped,import-not-found,unused-ignore]

from benchmarks.openfisca_wotu.entities import Enterprise


class Sector(Enum):
    industrial = "industrial"
    service = "service"
    other = "other"


class has_row(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "本年度有数据 / the facts have a row for this year"


class revenue(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "销售收入 / sales revenue"
    unit = "currency-CNY"


class total_costs(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "成本费用总额 / total costs and expenses"
    unit = "currency-CNY"


class rd_expense(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "研发费用 / R&D expenses"
    unit = "currency-CNY"


class rd_expense_domestic(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "境内研发费用 / R&D spent in China"
    unit = "currency-CNY"


class rd_deductible(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "可加计扣除研发费用 / super-deductible R&D expenses"
    unit = "currency-CNY"


class hitech_revenue(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "高新技术产品（服务）收入 / high-tech product revenue"
    unit = "currency-CNY"


class hitech_revenue_given(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "已填报高新技术产品收入 / high-tech revenue reported"


class employees(Variable):
    value_type = int
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "职工总数 / employees"


class st_staff(Variable):
    value_type = int
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "科技人员数 / S&T staff"


class ip_class1(Variable):
    value_type = int
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "Ⅰ类知识产权件数 / Class I IP"


class ip_class2(Variable):
    value_type = int
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "Ⅱ类知识产权件数 / Class II IP"


class hitech_cert_year(Variable):
    value_type = int
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "高企证书颁发年度（0 = 无） / certificate year (0: none)"


class hitech_first_cert_year(Variable):
    value_type = int
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "首次认定年度（0 = 无） / first certification year (0: none)"


class in_listing_pool(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "在上市培育库 / in the listing pool"


class above_designated_size(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "规模以上 / above designated size"


class incident(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "重大事故 / a major incident"


class registered_on(Variable):
    value_type = dt.date
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "注册成立日期 / date of registration"


class sector(Variable):
    value_type = Enum
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "行业门类 / sector"
    possible_values = Sector
    default_value = Sector.other


class in_hitech_field_given(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "已提供领域判断 / field given"


class in_hitech_field(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "属于国家重点支持的高新技术领域 / in a supported field"


class innovation_score_given(Variable):
    value_type = bool
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "已提供创新能力评价得分 / innovation score given"


class innovation_score(Variable):
    value_type = float
    entity = Enterprise
    definition_period = DateUnit.YEAR
    label = "创新能力评价得分 / innovation score"


VARIABLES = [
    has_row,
    revenue,
    total_costs,
    rd_expense,
    rd_expense_domestic,
    rd_deductible,
    hitech_revenue,
    hitech_revenue_given,
    employees,
    st_staff,
    ip_class1,
    ip_class2,
    hitech_cert_year,
    hitech_first_cert_year,
    in_listing_pool,
    above_designated_size,
    incident,
    registered_on,
    sector,
    in_hitech_field_given,
    in_hitech_field,
    innovation_score_given,
    innovation_score,
]
