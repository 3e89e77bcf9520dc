"""Budget breakdowns that must add up: a programme's budget lines and an application's budget.

A programme lists its budget lines as JSON ``[{code, label_zh, label_en}]``
(:func:`budget_spec_validate`). An application gives an amount per line and the total it
requests; :func:`budget_clean` checks each line (money ≥ 0, at most 2 decimals, only the
programme's codes) and that the lines add up *exactly* to the requested total, which must not
exceed the programme's maximum. Amounts are read as the application form reads money
(:func:`wotu.programmes.formschema.money_parse`: thousands separators and full-width digits
allowed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wotu.core.errors import WotuError
from wotu.programmes.formanswers import _is_empty
from wotu.programmes.formfields import _money_clean
from wotu.programmes.formschema import (
    _NAME,
    FieldError,
    _Problems,
    _text_key,
)


@dataclass(frozen=True)
class BudgetItem:
    code: str
    label_zh: str
    label_en: str


def budget_spec_validate(*, items: Any) -> tuple[BudgetItem, ...]:
    """A programme's budget lines (JSON: ``[{code, label_zh, label_en}]``) checked and typed;
    :class:`WotuError` names every bad line (position from 1 and code)."""
    if not isinstance(items, list):
        raise WotuError(
            f"预算科目应为列表，收到 {type(items).__name__}",
            f"budget lines must be a list, got {type(items).__name__}",
        )
    problems = _Problems()
    lines: list[BudgetItem] = []
    for index, raw in enumerate(items):
        code = raw.get("code") if isinstance(raw, dict) else None
        where = (f"第 {index + 1} 个预算科目（{code}）", f"budget line {index + 1} ({code!r})")
        if not isinstance(raw, dict) or set(raw) - {"code", "label_zh", "label_en"}:
            problems.add(
                where,
                "应为只含 code、label_zh、label_en 的对象",
                "must be an object {code, label_zh, label_en}",
            )
            continue
        if not isinstance(code, str) or not _NAME.fullmatch(code):
            problems.add(
                where,
                "code 须以小写字母开头，只含小写字母、数字和下划线",
                "code must be a lowercase letter, then lowercase letters, digits and underscores",
            )
            continue
        if any(line.code == code for line in lines):
            problems.add(where, "code 重复", "the code is used by an earlier line")
        label_zh = _text_key(raw, "label_zh", where, problems, required=True)
        label_en = _text_key(raw, "label_en", where, problems, required=True)
        lines.append(BudgetItem(code=code, label_zh=label_zh, label_en=label_en))
    problems.raise_any("预算科目定义有误", "the budget lines are invalid")
    return tuple(lines)


def budget_clean(
    *,
    items: Sequence[BudgetItem] | Sequence[Mapping[str, Any]],
    lines: Mapping[str, str | Decimal],
    total: Decimal | str,
    max_total: Decimal | None,
) -> tuple[dict[str, str], list[FieldError]]:
    """The budget lines as ``{code: "1234.50"}`` in the programme's order, and every problem.

    ``items`` are the programme's lines (raw JSON is validated first: a bad spec raises
    :class:`WotuError`). Each line is money ≥ 0 with at most 2 decimals; empty lines are left
    out; a code the programme does not have is refused. ``total`` (the amount requested) must
    equal the sum of the lines exactly — checked only when every line is valid, and the error
    states both sums and the difference — and must not exceed ``max_total`` when one is set.
    Errors name the field ``budget.<code>`` or ``budget.total``.
    """
    budget = tuple(item for item in items if isinstance(item, BudgetItem))
    if len(budget) != len(items):
        budget = budget_spec_validate(items=list(items))
    cleaned: dict[str, str] = {}
    errors: list[FieldError] = []
    amounts: list[Decimal] = []
    for item in budget:
        value = lines.get(item.code)
        if _is_empty(value):
            continue
        amount = _money_clean(value, item.label_zh, item.label_en)
        if isinstance(amount, tuple):
            errors.append(FieldError(f"budget.{item.code}", value, *amount))
            continue
        cleaned[item.code] = str(amount)
        amounts.append(amount)
    codes = {item.code for item in budget}
    errors += [_budget_unknown(code, lines[code]) for code in lines if code not in codes]
    requested = _money_clean(total, "申请总额", "the requested total")
    if isinstance(requested, tuple):
        errors.append(FieldError("budget.total", total, *requested))
        return cleaned, errors
    if not errors and sum(amounts, Decimal(0)) != requested:
        errors.append(_budget_sum_error(sum(amounts, Decimal(0)), requested))
    if max_total is not None and requested > max_total:
        errors.append(
            FieldError(
                "budget.total",
                str(requested),
                f"申请总额 {requested:,.2f} 元超过本计划的上限 {max_total:,.2f} 元",
                f"the requested total CNY {requested:,.2f} exceeds the programme's maximum "
                f"CNY {max_total:,.2f}",
            )
        )
    return cleaned, errors


def _budget_unknown(code: str, value: Any) -> FieldError:
    return FieldError(
        f"budget.{code}",
        value,
        f"本计划没有预算科目 {code!r}",
        f"the programme has no budget line {code!r}",
        code="unknown",
    )


def _budget_sum_error(lines_sum: Decimal, requested: Decimal) -> FieldError:
    difference = lines_sum - requested
    return FieldError(
        "budget.total",
        str(requested),
        f"预算明细合计 {lines_sum:,.2f} 元，与申请总额 {requested:,.2f} 元不符，"
        f"相差 {difference:+,.2f} 元",
        f"the budget lines add up to CNY {lines_sum:,.2f}, not the requested total "
        f"CNY {requested:,.2f}: a difference of CNY {difference:+,.2f}",
        code="sum",
    )
