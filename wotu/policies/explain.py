"""Branch-aware explanations: for one enterprise, the branch each rule took, and only the
inputs, parameters (with their legal references) and rules that branch used.

Three forms from the same plan and result frame: a tree (JSON for the API), text (for
``wotu explain``) and a compact ``basis`` string column computed for every row at once with
Polars (for exports of whole runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from wotu.policies.engine import BRANCH_SUFFIX, PARAM_PREFIX, BuiltRule, Plan
from wotu.policies.parameters import display

MONEY_COLUMNS = {
    "revenue",
    "total_costs",
    "total_assets",
    "net_assets",
    "rd_expense",
    "rd_expense_domestic",
    "rd_deductible",
    "hitech_revenue",
}


def is_money(plan: Plan, name: str) -> bool:
    base = name.split("@", 1)[0]
    if base in MONEY_COLUMNS:
        return True
    item = plan.rules.get(name)
    return item is not None and item.rule.unit == "CNY"


def value_text(plan: Plan, name: str, value: Any) -> str:
    if value is None:
        return "—"
    if is_money(plan, name) and isinstance(value, int):
        return f"¥{Decimal(value) / 100:,.2f}"
    if isinstance(value, bool):
        return "是 / yes" if value else "否 / no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass
class _Walker:
    plan: Plan
    row: dict[str, Any]

    def node(self, name: str, seen: set[str]) -> dict[str, Any]:
        item = self.plan.rules[name]
        index = self.row.get(name + BRANCH_SUFFIX)
        value = self.row.get(name)
        node: dict[str, Any] = {
            "rule": name,
            "label_zh": item.rule.zh,
            "label_en": item.rule.en,
            "unit": item.rule.unit,
            "value": _jsonable(self.plan, name, value),
            "value_text": value_text(self.plan, name, value),
            "reference": _reference(item.rule.reference),
            "branch": None,
            "inputs": [],
            "parameters": [],
            "rules": [],
        }
        if index is None:
            return node
        branch = item.branches.items[index]
        node["branch"] = {
            "index": index,
            "zh": branch.zh,
            "en": branch.en,
            "of": len(item.branches.items),
        }
        for used in item.needs[index]:
            if used.startswith(PARAM_PREFIX):
                node["parameters"].append(self.parameter(used.removeprefix(PARAM_PREFIX)))
            elif used in self.plan.rules:
                if used in seen:
                    node["rules"].append({"rule": used, "see_above": True})
                else:
                    seen.add(used)
                    node["rules"].append(self.node(used, seen))
            else:
                node["inputs"].append(
                    {
                        "name": used,
                        "value": _jsonable(self.plan, used, self.row.get(used)),
                        "value_text": value_text(self.plan, used, self.row.get(used)),
                    }
                )
        return node

    def parameter(self, name: str) -> dict[str, Any]:
        parameter = self.plan.parameter(name)
        dated = self.plan.used_parameters[name]
        return {
            "name": name,
            "label_zh": parameter.label_zh,
            "label_en": parameter.label_en,
            "unit": parameter.unit,
            "value_text": display(dated.value, parameter.unit)
            + (_WEIGHTING[parameter.weighting] if name.endswith("@weighted") else ""),
            "since": dated.since.isoformat(),
            "reference": _reference(dated.reference),
        }


_WEIGHTING = {
    "days": "（全年按生效天数加权 / averaged over the year by days in force）",
    "months": "（全年按月份比例加权 / averaged over the year by months in force）",
}


def _reference(reference: Any) -> dict[str, str]:
    return {
        "document": reference.document,
        "article": reference.article,
        "url": reference.url,
        "note": reference.note,
    }


def _jsonable(plan: Plan, name: str, value: Any) -> Any:
    if value is None:
        return None
    if is_money(plan, name) and isinstance(value, int):
        return f"{Decimal(value) / 100:.2f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def explain_rows(
    plan: Plan, result: pl.DataFrame, *, uscc: str, outputs: list[str] | None = None
) -> dict[str, Any]:
    """The explanation tree for one enterprise. Raises KeyError when it has no row this year."""
    rows = result.filter(pl.col("uscc") == uscc)
    if rows.height == 0:
        raise KeyError(uscc)
    row = rows.row(0, named=True)
    walker = _Walker(plan, row)
    seen: set[str] = set()
    names = outputs or list(plan.policy.outputs)
    return {
        "policy": plan.policy.id,
        "year": plan.year,
        "uscc": uscc,
        "name": row.get("name"),
        "outputs": [_walk_output(walker, name, seen) for name in names],
    }


def _walk_output(walker: _Walker, name: str, seen: set[str]) -> dict[str, Any]:
    """An output explained in full once; a later rule that uses it says "see above"."""
    seen.add(name)
    return walker.node(name, seen)


def explain_text(tree: dict[str, Any]) -> str:
    lines = [
        f"{tree['policy']} · {tree['year']} · {tree['uscc']} {tree.get('name') or ''}".rstrip()
    ]
    for node in tree["outputs"]:
        _text(node, lines, 0)
    return "\n".join(lines) + "\n"


def _text(node: dict[str, Any], lines: list[str], depth: int) -> None:
    pad = "  " * depth
    if node.get("see_above"):
        lines.append(f"{pad}- {node['rule']}（见上 / see above）")
        return
    ref = node["reference"]
    lines.append(
        f"{pad}- {node['rule']} = {node['value_text']}  {node['label_zh']} / {node['label_en']}"
        f"  [{ref['document']} {ref['article']}]".rstrip()
    )
    branch = node["branch"]
    if branch is not None and branch["of"] > 1:
        lines.append(f"{pad}    适用 / applies: {branch['zh']} / {branch['en']}")
    for item in node["inputs"]:
        lines.append(f"{pad}    输入 / input {item['name']} = {item['value_text']}")
    for item in node["parameters"]:
        ref = item["reference"]
        lines.append(
            f"{pad}    参数 / parameter {item['name']} = {item['value_text']}"
            f"  {item['label_zh']} / {item['label_en']}"
            f"  (自 / since {item['since']}; {ref['document']} {ref['article']})".rstrip()
        )
    for child in node["rules"]:
        _text(child, lines, depth + 2)


# ---- basis: a one-line explanation for every row, vectorised ---------------------------------


def basis_expr(plan: Plan, outputs: list[str] | None = None) -> pl.Expr:
    """A String expression: for each output, its value, the branch taken, and that branch's
    inputs and parameters (with references). Evaluated on the result frame of the plan."""
    parts = [_rule_basis(plan, plan.rules[name]) for name in (outputs or plan.policy.outputs)]
    return pl.concat_str(parts, separator=" | ")


def basis_series(plan: Plan, frame: pl.DataFrame, outputs: list[str] | None = None) -> pl.Series:
    """The same text as :func:`basis_expr`, for every row of ``frame``, but each branch's text
    is built only on the rows that took that branch (a when/then chain would build every
    branch's text on every row). All pieces run in one ``collect_all``."""
    names = outputs or list(plan.policy.outputs)
    if frame.height == 0:
        return pl.Series("basis", [], dtype=pl.String)
    indexed = frame.lazy().with_row_index("__row")
    queries: list[pl.LazyFrame] = []
    spans: list[tuple[str, int, int]] = []
    for name in names:
        item = plan.rules[name]
        index = pl.col(name + BRANCH_SUFFIX)
        start = len(queries)
        for number in range(len(item.branches.items)):
            queries.append(
                indexed.filter(index == number).select("__row", _branch_text(plan, item, number))
            )
        queries.append(indexed.filter(index.is_null()).select("__row", pl.lit(f"{name}=—")))
        spans.append((name, start, len(queries)))
    collected = pl.collect_all(queries)
    columns = []
    for name, start, end in spans:
        part = pl.concat([c.rename({c.columns[1]: "text"}) for c in collected[start:end]])
        columns.append(part.sort("__row").get_column("text").alias(name))
    if len(columns) == 1:
        return columns[0].alias("basis")
    return (
        pl.DataFrame(columns)
        .select(pl.concat_str(pl.all(), separator=" | "))
        .to_series()
        .alias("basis")
    )


def basis_columns(plan: Plan, outputs: list[str] | None = None) -> list[str]:
    """The result columns the ``basis`` of ``outputs`` reads: each output, its branch index
    and every input, history value and rule its branches cite (parameters are text)."""
    columns: dict[str, None] = {}
    for name in outputs or plan.policy.outputs:
        item = plan.rules[name]
        columns.update(dict.fromkeys([name, name + BRANCH_SUFFIX]))
        for needs in item.needs:
            columns.update(dict.fromkeys(n for n in needs if not n.startswith(PARAM_PREFIX)))
    return list(columns)


def _branch_text(plan: Plan, item: BuiltRule, number: int) -> pl.Expr:
    name = item.rule.name
    branch = item.branches.items[number]
    pieces: list[pl.Expr] = [
        pl.lit(f"{name}="),
        _fmt(plan, name),
        pl.lit(f" ← {branch.zh} / {branch.en}"),
    ]
    for used in item.needs[number]:
        if used.startswith(PARAM_PREFIX):
            key = used.removeprefix(PARAM_PREFIX)
            dated = plan.used_parameters[key]
            parameter = plan.parameter(key)
            pieces.append(
                pl.lit(
                    f"; {key}={display(dated.value, parameter.unit)} [{dated.reference.short()}]"
                )
            )
        else:
            pieces += [pl.lit(f"; {used}="), _fmt(plan, used)]
    return pl.concat_str(pieces, ignore_nulls=False).fill_null(pl.lit(f"{name}=—")).alias("text")


def _rule_basis(plan: Plan, item: BuiltRule) -> pl.Expr:
    name = item.rule.name
    index = pl.col(name + BRANCH_SUFFIX)
    chain: Any = None
    for number in range(len(item.branches.items)):
        text = _branch_text(plan, item, number)
        condition = index == number
        chain = (pl.when(condition) if chain is None else chain.when(condition)).then(text)
    result: pl.Expr = chain.otherwise(pl.lit(f"{name}=—"))
    return result


def _fmt(plan: Plan, name: str) -> pl.Expr:
    column = pl.col(name)
    if is_money(plan, name):
        fen = column.cast(pl.Int64)
        sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        magnitude = fen.abs()
        cents = (magnitude % 100).cast(pl.String).str.zfill(2)
        text = pl.concat_str([sign, (magnitude // 100).cast(pl.String), pl.lit("."), cents])
        return text.fill_null("—")
    return column.cast(pl.String).fill_null("—")
