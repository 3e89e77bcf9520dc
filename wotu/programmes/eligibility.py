"""Eligibility rules a programme may require of its lead applicant, by id.

Each rule answers pass or fail with a bilingual reason that names the facts it looked at, so an
applicant sees which rule failed and why. Where the registry holds what a rule needs, the rule
reads it (and, for the tech-SME rule, runs the policy engine's ``cn-tech-sme-2017``
assessment over the organisation's own facts rows):

=================== =================================================================
``tech_sme``        a registered tech-based SME in the latest facts year: a registration
                    number on file, or the ``cn-tech-sme-2017`` assessment says qualified
``hitech_valid``    a high-tech certificate valid in the latest facts year (issued in that
                    year or the two before: certificates run three years)
``registered_in_city`` a mainland organisation registered in one of the city's districts
``hkmo_university`` a Hong Kong or Macao university
=================== =================================================================

Rules read the registry as it is; they never write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl
from django.db.models import BigIntegerField, F
from django.db.models.functions import Cast, Round

from wotu.core.districts import DISTRICTS
from wotu.core.errors import WotuError
from wotu.organisations.facts import COLUMNS
from wotu.organisations.models import EnterpriseYear, Kind, Organisation, Region
from wotu.policies.engine import PolicyError
from wotu.policies.parameters import ParameterError

#: A high-tech certificate is valid in the year it was issued and the two after
#: (《高新技术企业认定管理办法》国科发火〔2016〕32号 第十条).
HITECH_VALID_YEARS = 3
TECH_SME_POLICY = "cn-tech-sme-2017"


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict for one organisation, with the reason in both languages."""

    rule: str
    label_zh: str
    label_en: str
    passed: bool
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class Rule:
    id: str
    label_zh: str
    label_en: str
    check: Callable[[Organisation], tuple[bool, str, str]]


def _latest_facts(organisation: Organisation) -> EnterpriseYear | None:
    return EnterpriseYear.objects.filter(organisation=organisation).order_by("-year").first()


def _no_facts(organisation: Organisation) -> tuple[bool, str, str]:
    return (
        False,
        f"登记库中没有「{organisation.name}」的年度数据，无法判断",
        f"the registry holds no yearly facts for {organisation.name}: this cannot be checked",
    )


def _facts_frame(organisation: Organisation) -> pl.DataFrame:
    """This organisation's facts rows (every year) in the engine's types, as the policy engine
    reads the registry (money as integer fen computed in SQL)."""
    from wotu.policies.inputs import BOOLS, COUNTS, MONEY, YEARS, facts_frame_normalise

    fields = [c.name for c in COLUMNS if c.name != "uscc"]
    fen = {f"{name}__fen": Cast(Round(F(name) * 100), BigIntegerField()) for name in MONEY}
    names = [f"{name}__fen" if name in MONEY else name for name in fields]
    rows = list(
        EnterpriseYear.objects.filter(organisation=organisation)
        .annotate(**fen)
        .order_by("year")
        .values_list("organisation__uscc", *names)
    )

    def dtype(name: str) -> pl.DataType:
        if name in MONEY or name in COUNTS or name in YEARS:
            return pl.Int64()
        if name in BOOLS:
            return pl.Boolean()
        return pl.Date() if name == "registered_on" else pl.String()

    raw = pl.DataFrame(
        rows, schema={"uscc": pl.String, **{n: dtype(n) for n in fields}}, orient="row"
    )
    return facts_frame_normalise(raw, fen_columns=frozenset(MONEY))


def tech_sme_assess(organisation: Organisation, *, year: int) -> tuple[bool, int] | None:
    """``(qualified, score)`` of the ``cn-tech-sme-2017`` assessment for ``year``, or None when
    the policy cannot be computed for that year (outside its years, or the facts are short)."""
    from wotu.policies.outcomes import outcome_compute, policy_for

    if not organisation.uscc:
        return None
    try:
        policy = policy_for(TECH_SME_POLICY, year=year, kind="assess")
        outcome = outcome_compute(policy, _facts_frame(organisation), year=year)
    except (PolicyError, ParameterError, WotuError, ValueError):
        return None
    row = outcome.result.filter(pl.col("uscc") == organisation.uscc)
    if row.height == 0:
        return None
    return bool(row["qualified"][0]), int(row["score"][0] or 0)


def _tech_sme(organisation: Organisation) -> tuple[bool, str, str]:
    facts = _latest_facts(organisation)
    if facts is None:
        return _no_facts(organisation)
    year = facts.year
    if facts.tech_sme_number:
        number = facts.tech_sme_number
        return (
            True,
            f"{year} 年度已入库科技型中小企业（编号 {number}）",
            f"registered as a tech-based SME in {year} (number {number})",
        )
    assessed = tech_sme_assess(organisation, year=year)
    if assessed is not None and assessed[0]:
        score = assessed[1]
        return (
            True,
            f"{year} 年度数据按国科发政〔2017〕115号评价符合科技型中小企业条件（得分 {score}）",
            f"the {year} facts qualify as a tech-based SME under MOST 2017 No. 115 (score {score})",
        )
    how_zh, how_en = "", ""
    if assessed is not None:
        how_zh = f"；按国科发政〔2017〕115号评价不符合条件（得分 {assessed[1]}）"
        how_en = f"; the MOST 2017 No. 115 evaluation does not qualify it (score {assessed[1]})"
    return (
        False,
        f"{year} 年度没有科技型中小企业入库编号{how_zh}。请先完成入库评价",
        f"no tech-based SME registration number in {year}{how_en}. Register first",
    )


def _hitech_valid(organisation: Organisation) -> tuple[bool, str, str]:
    facts = _latest_facts(organisation)
    if facts is None:
        return _no_facts(organisation)
    year, issued = facts.year, facts.hitech_cert_year
    if issued is None:
        return (
            False,
            f"{year} 年度数据中没有高新技术企业证书",
            f"the {year} facts hold no high-tech enterprise certificate",
        )
    through = issued + HITECH_VALID_YEARS - 1
    if issued <= year <= through:
        return (
            True,
            f"高新技术企业证书 {issued} 年颁发，有效期至 {through} 年（含 {year} 年度）",
            f"high-tech certificate issued in {issued}, valid through {through} (covers {year})",
        )
    return (
        False,
        f"高新技术企业证书 {issued} 年颁发，有效期至 {through} 年，{year} 年度已不在有效期内",
        f"the high-tech certificate issued in {issued} was valid through {through}, not in {year}",
    )


def _registered_in_city(organisation: Organisation) -> tuple[bool, str, str]:
    code = organisation.district_code
    if organisation.region == Region.MAINLAND and code in DISTRICTS:
        zh, en = DISTRICTS[code]
        return True, f"注册于本市{zh}（{code}）", f"registered in the city's {en} ({code})"
    where = code or "—"
    return (
        False,
        f"注册地（区划代码 {where}）不在本市行政区域内",
        f"registered outside the city (district code {where})",
    )


def _hkmo_university(organisation: Organisation) -> tuple[bool, str, str]:
    if organisation.kind == Kind.UNIVERSITY and organisation.region in (
        Region.HONG_KONG,
        Region.MACAO,
    ):
        return True, "香港或澳门高校", "a Hong Kong or Macao university"
    return (
        False,
        "仅限香港、澳门高校（本单位不是港澳高校）",
        "only Hong Kong or Macao universities (this organisation is not one)",
    )


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("tech_sme", "科技型中小企业", "registered tech-based SME", _tech_sme),
        Rule("hitech_valid", "有效期内的高新技术企业", "valid high-tech enterprise", _hitech_valid),
        Rule("registered_in_city", "在本市注册", "registered in the city", _registered_in_city),
        Rule("hkmo_university", "港澳高校", "Hong Kong or Macao university", _hkmo_university),
    )
}


def rule_ids() -> list[str]:
    return list(RULES)


def rule_get(rule_id: str) -> Rule:
    """The rule with this id. Raises WotuError naming the known ids."""
    try:
        return RULES[rule_id]
    except KeyError:
        known = ", ".join(RULES)
        raise WotuError(
            f"未知的资格条件 {rule_id}（可选：{known}）",
            f"unknown eligibility rule {rule_id} (known: {known})",
        ) from None


def eligibility_check(*, organisation: Organisation, rules: Sequence[str]) -> list[RuleResult]:
    """Every rule of ``rules`` (ids, in order) for ``organisation``; unknown ids raise WotuError."""
    results = []
    for rule_id in rules:
        rule = rule_get(rule_id)
        passed, reason_zh, reason_en = rule.check(organisation)
        results.append(
            RuleResult(rule.id, rule.label_zh, rule.label_en, passed, reason_zh, reason_en)
        )
    return results
