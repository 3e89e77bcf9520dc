"""The policy engine: rules as dated formulas over a facts table, evaluated as one lazy Polars
query, with the branch each enterprise took recorded for its explanation.

A policy is a set of rules. A rule's formula receives a :class:`Formula` context and returns
:class:`Branches`: an ordered list of (condition, value, label) where the first condition that
holds applies — like the articles of a regulation. The engine records, per enterprise, which
branch applied (column ``<rule>#branch``), so an explanation cites only the inputs, parameters
and rules of that branch (see :mod:`wotu.policies.explain`).

Dependencies between rules are read off the Polars expressions themselves
(``expr.meta.root_names()``): inputs are facts columns, parameters are literal columns named
``§<parameter>``, and other rules are columns named after them. Unknown names and cycles are
reported when the policy is built, before any data is read.

Money is integer fen (Int64) from the moment facts enter the engine; rates are exact fractions
applied with integer arithmetic and rounded half-up to the fen by :meth:`Formula.rate`.
Comparisons of ratios (R&D intensity ≥ 6 %) cross-multiply integers, so boundaries are exact.

The policy's parts and the :class:`Formula` context are :mod:`wotu.policies.formula`, importable
from here too; this module builds a policy into a plan and evaluates it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from typing import Any

import polars as pl

from wotu.policies.formula import BRANCH_SUFFIX as BRANCH_SUFFIX
from wotu.policies.formula import KEY as KEY
from wotu.policies.formula import MONEY_INPUTS as MONEY_INPUTS
from wotu.policies.formula import PARAM_PREFIX as PARAM_PREFIX
from wotu.policies.formula import Branch as Branch
from wotu.policies.formula import Branches as Branches
from wotu.policies.formula import Combination as Combination
from wotu.policies.formula import Formula as Formula
from wotu.policies.formula import History as History
from wotu.policies.formula import Policy as Policy
from wotu.policies.formula import PolicyError as PolicyError
from wotu.policies.formula import Rule as Rule
from wotu.policies.formula import RuleVersion as RuleVersion
from wotu.policies.formula import mul_fraction as mul_fraction
from wotu.policies.formula import ratio_at_least as ratio_at_least
from wotu.policies.parameters import (
    DatedValue,
    Parameter,
    ParameterError,
    ParameterSet,
    Reference,
)

# ---- building ---------------------------------------------------------------------------------


@dataclass
class BuiltRule:
    rule: Rule
    version: RuleVersion
    branches: Branches
    needs: list[list[str]]  # per branch: root names of its condition and value
    depends: set[str]


@dataclass
class Plan:
    """A policy resolved for one year: formulas in force, parameters used, evaluation order."""

    policy: Policy
    year: int
    parameters: ParameterSet
    rules: dict[str, BuiltRule]
    order: list[list[str]]  # layers of rule names; each layer depends only on earlier ones
    histories: dict[str, History]
    used_parameters: dict[str, DatedValue]
    literals: dict[str, Any]
    inputs: set[str]

    def parameter(self, name: str) -> Parameter:
        return self.parameters[name.removesuffix("@weighted")]


def plan_build(
    policy: Policy,
    *,
    year: int,
    available: Iterable[str],
    parameters: ParameterSet | None = None,
) -> Plan:
    """Resolve formulas and parameters for ``year``; check names and order the rules.

    ``available`` are the facts columns the input will have. Raises PolicyError for an unknown
    name or a cycle, naming the rule.
    """
    params = parameters or policy.parameters
    context = Formula(policy, params, year)
    built: dict[str, BuiltRule] = {}
    for name, rule in policy.rules.items():
        version = rule.version_at(context.instant)
        try:
            produced = version.formula(context)
        except ParameterError as exc:
            raise PolicyError(f"规则 {name}：{exc.zh}", f"rule {name}: {exc.en}") from exc
        branches = (
            produced
            if isinstance(produced, Branches)
            else Branches((Branch(None, produced, rule.zh, rule.en),))
        )
        built[name] = BuiltRule(rule, version, branches, _needs(branches), set())
    for combination in policy.combinations:
        built[combination.name] = _combination_rule(policy, combination, context)
    known_inputs = set(available)
    histories = context.histories
    for item in built.values():
        for name in {n for names in item.needs for n in names}:
            if name in built:
                item.depends.add(name)
            elif name in known_inputs or name in histories or name in context.literals:
                continue
            else:
                raise PolicyError(
                    f"规则 {item.rule.name} 引用了未知名称 {name}",
                    f"rule {item.rule.name} refers to an unknown name {name}"
                    " (not a facts column, a parameter or a rule)",
                )
    for history in histories.values():
        if history.source not in known_inputs:
            raise PolicyError(
                f"历史值引用了未知列 {history.source}",
                f"a history value refers to an unknown column {history.source}",
            )
    sorter = TopologicalSorter({name: item.depends for name, item in built.items()})
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = " → ".join(exc.args[1])
        raise PolicyError(
            f"规则循环依赖：{cycle}", f"rules depend on each other in a cycle: {cycle}"
        ) from exc
    order = []
    while sorter.is_active():
        layer = sorted(sorter.get_ready())
        order.append(layer)
        sorter.done(*layer)
    for output in policy.outputs:
        if output not in built:
            raise PolicyError(f"输出 {output} 不是规则", f"output {output} is not a rule")
    return Plan(
        policy,
        year,
        params,
        built,
        order,
        histories,
        context.used_parameters,
        context.literals,
        known_inputs,
    )


def _needs(branches: Branches) -> list[list[str]]:
    """Per branch, the names it depends on: its value, its condition, and the conditions of
    the branches before it (they were checked, and failed, for this branch to apply)."""
    needs = []
    checked: list[str] = []
    for branch in branches.items:
        if branch.when is not None:
            checked += branch.when.meta.root_names()
        needs.append(sorted({*branch.then.meta.root_names(), *checked}))
    return needs


def _combination_rule(policy: Policy, combination: Combination, context: Formula) -> BuiltRule:
    columns = [pl.col(name) for name in combination.rules]
    positive = [c.fill_null(0) > 0 for c in columns]
    if combination.mode == "priority":
        items = [
            Branch(p, c, f"优先适用 {n}", f"{n} applies first")
            for p, c, n in zip(positive, columns, combination.rules, strict=True)
        ]
        items.append(Branch(None, pl.lit(0), "均不适用", "none applies"))
        branches = Branches(tuple(items))
    else:
        total = pl.sum_horizontal([c.fill_null(0) for c in columns])
        if combination.mode == "sum" and combination.cap:
            cap = context.param(combination.cap)
            branches = Branches(
                (
                    Branch(
                        total > cap, cap, "合计超过上限，按上限", "the sum exceeds the cap: capped"
                    ),
                    Branch(None, total, "各项合计", "the sum of the parts"),
                )
            )
        else:
            branches = Branches((Branch(None, total, "各项合计", "the sum of the parts"),))
    rule = Rule(
        combination.name,
        f"合并：{', '.join(combination.rules)}",
        f"combined: {', '.join(combination.rules)}",
        "CNY",
        policy.reference or Reference(document=policy.id),
    )
    version = RuleVersion(dt.date(1900, 1, 1), lambda f: branches)
    return BuiltRule(rule, version, branches, _needs(branches), set())


# ---- evaluating -------------------------------------------------------------------------------


def plan_query(plan: Plan, facts: pl.LazyFrame) -> pl.LazyFrame:
    """One lazy query: the year's rows sorted by USCC, history joined, every rule computed.

    The result keeps the inputs, parameter literals, each rule's value and its branch index.
    """
    return _plan_rules(plan, _year_base(facts, plan.histories, plan.year))


def _year_base(facts: pl.LazyFrame, histories: Mapping[str, History], year: int) -> pl.LazyFrame:
    """The year's rows with the history values joined in, sorted by USCC (the rank tie-break)."""
    frame = facts.filter(pl.col("year") == year)
    if histories:
        frame = frame.join(_histories_frame(facts, histories, year), on=KEY, how="left")
    return frame.sort(KEY)


def _plan_rules(plan: Plan, frame: pl.LazyFrame) -> pl.LazyFrame:
    """The plan's parameter literals and rule layers on top of a year base."""
    if plan.literals:
        frame = frame.with_columns(**plan.literals)
    for layer in plan.order:
        frame = frame.with_columns(
            _branch_index(plan.rules[name]).alias(name + BRANCH_SUFFIX) for name in layer
        )
        frame = frame.with_columns(_branch_value(plan.rules[name]).alias(name) for name in layer)
    return frame


def _branch_index(item: BuiltRule) -> pl.Expr:
    items = item.branches.items
    if len(items) == 1 and items[0].when is None:
        return pl.lit(0, dtype=pl.UInt8)
    chain: Any = None
    last = len(items)
    for index, branch in enumerate(items):
        if branch.when is None:
            last = index
            break
        condition = branch.when.fill_null(False)
        chain = (pl.when(condition) if chain is None else chain.when(condition)).then(
            pl.lit(index, dtype=pl.UInt8)
        )
    otherwise = pl.lit(last if last < len(items) else None, dtype=pl.UInt8)
    return chain.otherwise(otherwise) if chain is not None else otherwise


def _branch_value(item: BuiltRule) -> pl.Expr:
    items = item.branches.items
    if len(items) == 1:
        return items[0].then
    index = pl.col(item.rule.name + BRANCH_SUFFIX)
    chain: Any = None
    for number, branch in enumerate(items):
        chain = (pl.when(index == number) if chain is None else chain.when(index == number)).then(
            branch.then
        )
    result: pl.Expr = chain.otherwise(None)
    return result


def _histories_frame(
    facts: pl.LazyFrame, histories: Mapping[str, History], year: int
) -> pl.LazyFrame:
    """Every history value, one row per enterprise, from one group-by over the rows they read:
    the years the windows and previous-year values reach back to, and, before those, only the
    rows where an "any earlier year" flag is true (a false or missing flag changes nothing).

    Relies on the facts contract — one row per (USCC, year), as ``wotu.policies.inputs``
    checks — so an enterprise's previous-year value is the only value of that year and can be
    taken with ``max``; each value is a plain aggregation of a masked column, which Polars
    computes far faster than a filter inside the group. Every enterprise with a row in
    ``year`` has a group (that row), so "any earlier year" is never null where it is joined."""
    yr = pl.col("year")
    earliest = year
    flags: list[pl.Expr] = []
    aggregations: list[pl.Expr] = []
    for history in sorted(histories.values(), key=_history_order):
        source = pl.col(history.source)
        if history.kind == "prev":
            value = pl.when(yr == year - 1).then(source).max()
            earliest = min(earliest, year - 1)
        elif history.kind == "sum":
            value = pl.when(yr > year - history.years).then(source).sum()
            earliest = min(earliest, year - history.years + 1)
        elif history.kind == "count":
            value = (yr > year - history.years).sum().cast(pl.Int64)
            earliest = min(earliest, year - history.years + 1)
        elif history.kind == "any_before":
            value = pl.when(yr < year).then(source.fill_null(False)).max().fill_null(False)
            flags.append(source.fill_null(False))
        else:  # pragma: no cover - History kinds are created only by Formula
            raise PolicyError(
                f"未知历史类型 {history.kind}", f"unknown history kind {history.kind}"
            )
        aggregations.append(value.alias(history.column))
    rows = yr.is_between(earliest, year)
    if flags:
        rows = rows | ((yr < earliest) & pl.any_horizontal(flags))
    return facts.filter(rows).group_by(KEY).agg(aggregations)


def _history_order(history: History) -> tuple[str, int]:
    """The order history columns come in: flags, previous-year values, then the windows by
    length (each in the order the formulas asked for them)."""
    if history.kind in {"sum", "count"}:
        return ("window", history.years)
    return (history.kind, 0)


def evaluate(
    policy: Policy,
    facts: pl.LazyFrame,
    *,
    year: int,
    parameters: ParameterSet | None = None,
    tables: Mapping[str, pl.LazyFrame] | None = None,
) -> tuple[Plan, pl.DataFrame]:
    """Build the plan for ``year`` and run it; returns the plan and the full result frame.

    ``tables`` supplies the extra inputs the policy names in ``Policy.tables`` (e.g. loans);
    ``prepare`` decides what a missing one means (the rules that need it give nothing).
    """
    if policy.prepare is not None:
        facts = policy.prepare(facts, tables or {}, year)
    plan = plan_build(
        policy, year=year, available=facts.collect_schema().names(), parameters=parameters
    )
    result = plan_query(plan, facts).collect()
    _check_exclusive(plan, result)
    return plan, result


def evaluate_many(
    policies: Sequence[Policy],
    facts: pl.LazyFrame,
    *,
    year: int,
    parameters: Mapping[str, ParameterSet] | None = None,
    tables: Mapping[str, pl.LazyFrame] | None = None,
) -> list[tuple[Plan, pl.DataFrame]]:
    """Several policies for one year over the same facts, sharing the year filter, the history
    joins and the sort, all collected together. Each result holds what :func:`evaluate` would
    give for that policy (plus, harmlessly, the history columns the other policies asked for).

    ``parameters`` maps a policy id to its parameter set (scenario overrides); ``tables`` as
    for :func:`evaluate`.
    """
    for policy in policies:
        if policy.prepare is not None:
            facts = policy.prepare(facts, tables or {}, year)
    available = facts.collect_schema().names()
    plans = [
        plan_build(
            policy, year=year, available=available, parameters=(parameters or {}).get(policy.id)
        )
        for policy in policies
    ]
    histories: dict[str, History] = {}
    for plan in plans:
        histories.update(plan.histories)
    base = _year_base(facts, histories, year)
    results = pl.collect_all([_plan_rules(plan, base) for plan in plans])
    for plan, result in zip(plans, results, strict=True):
        _check_exclusive(plan, result)
    return list(zip(plans, results, strict=True))


def _check_exclusive(plan: Plan, result: pl.DataFrame) -> None:
    for combination in plan.policy.combinations:
        if combination.mode != "exclusive":
            continue
        positive = sum((pl.col(n).fill_null(0) > 0).cast(pl.Int32) for n in combination.rules)
        clash = result.filter(positive > 1).get_column(KEY).to_list()
        if clash:
            shown = ", ".join(clash[:10]) + (" …" if len(clash) > 10 else "")
            raise PolicyError(
                f"{combination.name}：以下企业同时适用多项互斥规则"
                f" {', '.join(combination.rules)}：{shown}",
                f"{combination.name}: these enterprises qualify under more than one of the mutually"
                f" exclusive rules {', '.join(combination.rules)}: {shown}",
            )
