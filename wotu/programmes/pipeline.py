"""What a programme may be: the checks behind programme_create and programme_update.

A programme is valid when its titles, year, money (budget, maximum per application), who may
apply, eligibility rule ids, form spec, budget lines, review pipeline and funding rule all are.
:func:`programme_problems` lists *every* problem at once as
:class:`~wotu.programmes.formschema.FieldError` rows (nothing here writes).

The **review pipeline** is a list of stage specs run in the order professional → defence →
site → notice → committee (any subset, each at most once, at least one scored stage).

The **funding rule** (``Programme.funding``) decides what happens where the budget runs out
when the last scored stage closes (see :func:`wotu.reviews.scoring.funding_line`):
``{"partial": "none"}`` (the default) draws the line at the first application whose request
does not fit; ``"skip"`` passes over it and keeps funding smaller requests below; ``"partial"``
gives it what is left when that is at least ``min_share`` (a decimal string, default
``"0.5"``, ``0 < min_share ≤ 1``) of its request.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from wotu.core.errors import WotuError
from wotu.organisations.models import Kind, Region
from wotu.programmes import eligibility
from wotu.programmes.budget import budget_spec_validate
from wotu.programmes.formschema import FieldError, form_spec_validate
from wotu.programmes.models import StageKind

APPLICANT_KINDS = (Kind.ENTERPRISE, Kind.UNIVERSITY, Kind.INSTITUTE)
REGIONS = (Region.MAINLAND, Region.HONG_KONG, Region.MACAO)
#: The order stages run in; a pipeline is any subsequence of it.
STAGE_ORDER = (
    StageKind.PROFESSIONAL,
    StageKind.DEFENCE,
    StageKind.SITE,
    StageKind.NOTICE,
    StageKind.COMMITTEE,
)
SCORED = (StageKind.PROFESSIONAL, StageKind.DEFENCE, StageKind.SITE)
STAGE_KEYS = frozenset(
    {
        "kind",
        "panel_size",
        "max_load",
        "min_hkmo",
        "rubric",
        "pass_rule",
        "normalise",
        "exclude_experts_of",
    }
)
#: Funding rules where the budget runs out (see the module notes).
FUNDING_RULES = ("none", "skip", "partial")
FUNDING_KEYS = frozenset({"partial", "min_share"})
#: The share of its request the first application that does not fit must at least get.
MIN_SHARE_DEFAULT = Decimal("0.5")


def field_problem(name: str, value: Any, zh: str, en: str, code: str = "invalid") -> FieldError:
    """One problem with the field ``name`` (a shorthand for :class:`FieldError`)."""
    return FieldError(name, value, zh, en, code)


_problem = field_problem


# --- the funding rule ---------------------------------------------------------------------------


def funding_problems(funding: Any) -> list[FieldError]:
    """Problems with a funding rule ``{"partial": "none"|"skip"|"partial", "min_share": "0.6"}``:
    an object with only those keys; ``partial`` one of :data:`FUNDING_RULES`; ``min_share``
    (only with ``"partial"``) a decimal string above 0 and at most 1."""
    if not isinstance(funding, dict):
        return [
            _problem(
                "funding",
                funding,
                '资助规则应为对象，如 {"partial": "none"}',
                'the funding rule must be an object such as {"partial": "none"}',
            )
        ]
    errors: list[FieldError] = []
    unknown = sorted(str(k) for k in set(funding) - FUNDING_KEYS)
    if unknown:
        errors.append(
            _problem(
                "funding",
                unknown,
                f"资助规则有未知的键 {', '.join(unknown)}（可用：partial、min_share）",
                f"the funding rule has unknown keys {', '.join(unknown)} (use partial, min_share)",
            )
        )
    rule = funding.get("partial", "none")
    if rule not in FUNDING_RULES:
        errors.append(
            _problem(
                "funding.partial",
                rule,
                f"资助规则 {rule!r} 无效：应为 none（额满即止）、skip（跳过放不下的）"
                "或 partial（部分资助）",
                f"the funding rule {rule!r} is unknown: use none (stop where the budget runs"
                " out), skip (pass over what does not fit) or partial (partial funding)",
            )
        )
    if "min_share" in funding:
        errors += _min_share_problems(rule, funding["min_share"])
    return errors


def _min_share_problems(rule: Any, raw: Any) -> list[FieldError]:
    if rule != "partial":
        return [
            _problem(
                "funding.min_share",
                raw,
                "最低比例 min_share 只用于部分资助规则（partial）",
                "min_share applies only to the partial funding rule",
            )
        ]
    share = _share_read(raw)
    if share is None or not Decimal(0) < share <= 1:
        return [
            _problem(
                "funding.min_share",
                raw,
                f'最低比例 min_share 应为大于 0、不大于 1 的小数文本（如 "0.5"），收到 {raw!r}',
                f'min_share must be a decimal string above 0 and at most 1 (e.g. "0.5"),'
                f" got {raw!r}",
            )
        ]
    return []


def _share_read(raw: Any) -> Decimal | None:
    if not isinstance(raw, str):
        return None
    try:
        share = Decimal(raw.strip())
    except InvalidOperation:
        return None
    return share if share.is_finite() else None


def funding_rule(*, funding: Mapping[str, Any]) -> tuple[str, Decimal]:
    """The rule and minimum share of a valid funding rule (defaults ``"none"`` and 0.5);
    :class:`WotuError` naming the problem when it is not valid."""
    errors = funding_problems(dict(funding))
    if errors:
        raise WotuError(
            "资助规则无效：" + "；".join(e.message_zh for e in errors),
            "the funding rule is invalid: " + "; ".join(e.message_en for e in errors),
        )
    share = _share_read(funding.get("min_share", str(MIN_SHARE_DEFAULT)))
    assert share is not None  # checked above
    return str(funding.get("partial", "none")), share


# --- the programme as a whole -------------------------------------------------------------------


def programme_problems(values: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with a programme's values (empty when it may be saved)."""
    errors: list[FieldError] = []
    for name in ("title", "title_en"):
        if not str(values.get(name) or "").strip():
            errors.append(
                _problem(name, values.get(name), "标题不能为空", "a title is required", "required")
            )
    year = values.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        errors.append(
            _problem(
                "year",
                year,
                "年度应为 2000–2100 的整数",
                "the year must be a whole number from 2000 to 2100",
            )
        )
    errors += _money_problems(values.get("budget"), values.get("max_award"))
    errors += _who_problems(values.get("kinds"), values.get("regions"))
    unknown_rules = [r for r in values.get("eligibility") or [] if r not in eligibility.RULES]
    if unknown_rules:
        known = ", ".join(eligibility.RULES)
        errors.append(
            _problem(
                "eligibility",
                unknown_rules,
                f"未知的资格条件 {', '.join(map(str, unknown_rules))}（可选：{known}）",
                f"unknown eligibility rules {', '.join(map(str, unknown_rules))} (known: {known})",
            )
        )
    for name, check in (("form", form_spec_validate), ("budget_lines", None)):
        try:
            if check is not None:
                check(spec=values.get(name))
            else:
                budget_spec_validate(items=values.get(name))
        except WotuError as exc:
            errors.append(_problem(name, None, exc.zh, exc.en))
    # An empty pipeline makes a direct-award programme: no calls, only awards computed by a
    # policy (e.g. the Qingdao plan's subsidies) committed against its budget. Calls still need
    # a pipeline (call_create checks it).
    if values.get("pipeline") != []:
        errors += pipeline_problems(values.get("pipeline"))
    errors += funding_problems(values.get("funding", {"partial": "none"}))
    return errors


def _money_problems(budget: Any, max_award: Any) -> list[FieldError]:
    errors = []
    if not isinstance(budget, Decimal) or budget <= 0 or budget != budget.quantize(Decimal("0.01")):
        errors.append(
            _problem(
                "budget",
                budget,
                "预算应为大于 0、最多两位小数的金额",
                "the budget must be an amount above 0 with at most 2 decimals",
            )
        )
    elif max_award is not None and (
        not isinstance(max_award, Decimal) or not Decimal(0) < max_award <= budget
    ):
        errors.append(
            _problem(
                "max_award",
                max_award,
                "单项上限应大于 0 且不超过总预算",
                "the maximum per application must be above 0 and within the budget",
            )
        )
    return errors


def _who_problems(kinds: Any, regions: Any) -> list[FieldError]:
    errors = []
    if not kinds or not isinstance(kinds, list) or set(kinds) - set(APPLICANT_KINDS):
        errors.append(
            _problem(
                "kinds",
                kinds,
                "申报单位类型应取自 企业、高校、科研院所，至少一种",
                "who may apply: one or more of enterprise, university, institute",
            )
        )
    if not regions or not isinstance(regions, list) or set(regions) - set(REGIONS):
        errors.append(
            _problem(
                "regions",
                regions,
                "地区应取自 CN、HK、MO，至少一个",
                "regions: one or more of CN, HK, MO",
            )
        )
    return errors


def pipeline_problems(pipeline: Any) -> list[FieldError]:
    """Problems with a review pipeline: stage kinds in the order professional → defence → site →
    notice → committee (any subset, each at most once), at least one scored stage; scored
    stages with a panel (1+ experts), a maximum load, a valid rubric and pass rule; the notice
    and committee stages without either."""
    from wotu.reviews.scoring import pass_rule_validate

    if not isinstance(pipeline, list) or not pipeline:
        return [
            _problem(
                "pipeline",
                pipeline,
                "评审流程至少需要一个阶段",
                "the review pipeline needs at least one stage",
                "required",
            )
        ]
    errors: list[FieldError] = []
    last = -1
    scored_orders: set[int] = set()
    for order, spec in enumerate(pipeline, start=1):
        where = f"pipeline.{order}"
        if not isinstance(spec, dict):
            errors.append(
                _problem(
                    where, spec, f"第 {order} 阶段应为对象", f"stage {order} must be an object"
                )
            )
            continue
        kind = spec.get("kind")
        if kind not in STAGE_ORDER:
            errors.append(
                _problem(
                    where,
                    kind,
                    f"第 {order} 阶段的类型 {kind!r} 未知",
                    f"stage {order} has an unknown kind {kind!r}",
                )
            )
            continue
        index = STAGE_ORDER.index(kind)
        if index <= last:
            errors.append(
                _problem(
                    where,
                    kind,
                    f"第 {order} 阶段（{kind}）次序不对：阶段须按 专业评审→答辩→"
                    "现场考察→公示→会议决策 排列，且各至多一次",
                    f"stage {order} ({kind}) is out of order: stages run"
                    " professional → defence → site → notice → committee,"
                    " each at most once",
                )
            )
        last = max(last, index)
        unknown = sorted(set(spec) - STAGE_KEYS)
        if unknown:
            errors.append(
                _problem(
                    where,
                    unknown,
                    f"第 {order} 阶段有未知的键 {', '.join(unknown)}",
                    f"stage {order} has unknown keys {', '.join(unknown)}",
                )
            )
        if kind in SCORED:
            errors += _scored_stage_problems(order, spec, scored_orders, pass_rule_validate)
            scored_orders.add(order)
        elif spec.get("panel_size") or spec.get("rubric") or spec.get("pass_rule"):
            errors.append(
                _problem(
                    where,
                    kind,
                    f"第 {order} 阶段（{kind}）不评分，不设专家组和评分表",
                    f"stage {order} ({kind}) is not scored: no panel or rubric",
                )
            )
    if not scored_orders:
        errors.append(
            _problem(
                "pipeline",
                None,
                "评审流程至少需要一个评分阶段（专业评审、答辩或现场考察）",
                "the pipeline needs a scored stage (professional, defence or site)",
            )
        )
    return errors


def _whole(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _scored_stage_problems(
    order: int, spec: Mapping[str, Any], earlier: set[int], pass_rule_validate: Any
) -> list[FieldError]:
    from wotu.reviews.scoring import Criterion, Rubric, rubric_validate

    where = f"pipeline.{order}"
    errors = []
    panel = spec.get("panel_size")
    if not _whole(panel, 1):
        errors.append(
            _problem(
                where,
                panel,
                f"第 {order} 阶段每项申请的专家数应为不小于 1 的整数",
                f"stage {order}: experts per application must be at least 1",
            )
        )
    if not _whole(spec.get("max_load"), 1):
        errors.append(
            _problem(
                where,
                spec.get("max_load"),
                f"第 {order} 阶段每位专家的最大评审量应为不小于 1 的整数",
                f"stage {order}: the maximum load per expert must be at least 1",
            )
        )
    min_hkmo = spec.get("min_hkmo", 0)
    if not _whole(min_hkmo, 0) or (_whole(panel, 1) and min_hkmo > panel):
        errors.append(
            _problem(
                where,
                min_hkmo,
                f"第 {order} 阶段港澳专家数应在 0 与专家组人数之间",
                f"stage {order}: HK/Macao experts must be from 0 to the panel size",
            )
        )
    if not isinstance(spec.get("normalise", False), bool):
        errors.append(
            _problem(
                where,
                spec.get("normalise"),
                f"第 {order} 阶段 normalise 应为 true/false",
                f"stage {order}: normalise must be true or false",
            )
        )
    excluded = spec.get("exclude_experts_of", [])
    if not isinstance(excluded, list) or any(o not in earlier for o in excluded):
        errors.append(
            _problem(
                where,
                excluded,
                f"第 {order} 阶段 exclude_experts_of 只能列出之前的评分阶段序号",
                f"stage {order}: exclude_experts_of may list only earlier scored stages",
            )
        )
    try:
        raw = spec.get("rubric")
        if not isinstance(raw, list):
            raise WotuError("评分表应为指标列表", "the rubric must be a list of criteria")
        criteria = tuple(
            Criterion(
                code=str(c["code"]),
                label_zh=str(c.get("label_zh", "")),
                label_en=str(c.get("label_en", "")),
                weight=Decimal(str(c["weight"])),
                min=Decimal(str(c["min"])),
                max=Decimal(str(c["max"])),
            )
            for c in raw
        )
        rubric_validate(rubric=Rubric(code=f"stage{order}", criteria=criteria))
    except WotuError as exc:
        errors.append(
            _problem(
                where, None, f"第 {order} 阶段评分表：{exc.zh}", f"stage {order} rubric: {exc.en}"
            )
        )
    except (KeyError, TypeError, ArithmeticError):
        errors.append(
            _problem(
                where,
                None,
                f"第 {order} 阶段评分表的每项指标须有 code、weight、min、max",
                f"stage {order} rubric: every criterion needs code, weight, min and max",
            )
        )
    try:
        pass_rule_validate(rule=spec.get("pass_rule") or {})
    except WotuError as exc:
        errors.append(
            _problem(
                where,
                spec.get("pass_rule"),
                f"第 {order} 阶段晋级规则：{exc.zh}",
                f"stage {order} pass rule: {exc.en}",
            )
        )
    return errors
