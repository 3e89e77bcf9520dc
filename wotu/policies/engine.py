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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from graphlib import CycleError, TopologicalSorter
from typing import Any

import polars as pl

from wotu.policies.parameters import (
    Bracket,
    DatedValue,
    Parameter,
    ParameterError,
    ParameterSet,
    Reference,
)

PARAM_PREFIX = "§"
BRANCH_SUFFIX = "#branch"
KEY = "uscc"
MONEY_INPUTS = (
    "revenue",
    "total_costs",
    "total_assets",
    "net_assets",
    "rd_expense",
    "rd_expense_domestic",
    "rd_deductible",
    "hitech_revenue",
)


class PolicyError(ValueError):
    """A policy cannot be built or run: names the rule and why, in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class Branch:
    when: pl.Expr | None  # None: otherwise
    then: pl.Expr
    zh: str
    en: str


@dataclass(frozen=True)
class Branches:
    items: tuple[Branch, ...]


@dataclass(frozen=True)
class History:
    """A value derived from other years of the same enterprise, joined in by the engine."""

    column: str  # the name of the joined column
    source: str  # facts column
    kind: str  # "prev", "sum", "count", "any_before", "first_year"
    years: int = 1


@dataclass(frozen=True)
class RuleVersion:
    since: dt.date
    formula: Callable[[Formula], Branches | pl.Expr]


@dataclass
class Rule:
    name: str
    zh: str
    en: str
    unit: str  # "CNY" (fen), "points", "bool", "ratio", "count", "year", "text"
    reference: Reference
    versions: list[RuleVersion] = field(default_factory=list)

    def version_at(self, instant: dt.date) -> RuleVersion:
        current = None
        for version in sorted(self.versions, key=lambda v: v.since):
            if version.since <= instant:
                current = version
        if current is None:
            raise PolicyError(
                f"规则 {self.name} 在 {instant} 尚未生效",
                f"rule {self.name} has no formula in force on {instant}",
            )
        return current


@dataclass(frozen=True)
class Combination:
    """How overlapping award rules combine for one enterprise.

    mode "exclusive": at most one may be positive (two → a conflict error naming the firms);
    "sum": all add up, capped by the parameter ``cap`` when given;
    "priority": the first positive rule in ``rules`` order wins, the others become 0.
    """

    name: str
    rules: tuple[str, ...]
    mode: str
    cap: str | None = None


@dataclass
class Policy:
    """A set of rules with its parameters. ``kind`` is "evaluate" (awards) or "assess"."""

    id: str
    zh: str
    en: str
    kind: str
    parameters: ParameterSet
    outputs: tuple[str, ...] = ()
    years: tuple[int, int] | None = None  # the years the policy runs for, inclusive
    rules: dict[str, Rule] = field(default_factory=dict)
    combinations: list[Combination] = field(default_factory=list)
    reference: Reference | None = None
    description_zh: str = ""
    description_en: str = ""
    instant_of: Callable[[int], dt.date] = lambda year: dt.date(year, 12, 31)
    # Extra tables a policy reads besides facts (e.g. "loans"), turned into per-enterprise
    # columns by ``prepare`` before the rules run: prepare(facts, tables, year) -> facts.
    tables: tuple[str, ...] = ()
    prepare: Callable[[pl.LazyFrame, Mapping[str, pl.LazyFrame], int], pl.LazyFrame] | None = None

    def rule(
        self,
        name: str,
        *,
        zh: str,
        en: str,
        unit: str,
        reference: Reference,
        since: dt.date = dt.date(1900, 1, 1),
    ) -> Callable[
        [Callable[[Formula], Branches | pl.Expr]], Callable[[Formula], Branches | pl.Expr]
    ]:
        """Register a formula for ``name`` in force from ``since`` (older versions are kept)."""

        def register(
            function: Callable[[Formula], Branches | pl.Expr],
        ) -> Callable[[Formula], Branches | pl.Expr]:
            rule = self.rules.setdefault(name, Rule(name, zh, en, unit, reference))
            rule.versions.append(RuleVersion(since=since, formula=function))
            return function

        return register

    def combine(
        self, name: str, *, rules: Sequence[str], mode: str, cap: str | None = None
    ) -> None:
        if mode not in {"exclusive", "sum", "priority"}:
            raise PolicyError(f"未知的叠加方式 {mode}", f"unknown combination mode {mode}")
        self.combinations.append(Combination(name, tuple(rules), mode, cap))


class Formula:
    """What a formula may use. Each accessor returns a Polars expression and records the need."""

    def __init__(self, policy: Policy, parameters: ParameterSet, year: int) -> None:
        self.policy = policy
        self.parameters = parameters
        self.year_value = year
        self.instant = policy.instant_of(year)
        self.histories: dict[str, History] = {}
        self.used_parameters: dict[str, DatedValue] = {}
        self.literals: dict[str, Any] = {}

    # -- values -----------------------------------------------------------------------------
    @property
    def year(self) -> pl.Expr:
        return pl.lit(self.year_value, dtype=pl.Int64)

    def input(self, name: str) -> pl.Expr:
        return pl.col(name)

    def rule(self, name: str) -> pl.Expr:
        return pl.col(name)

    def param(self, name: str, *, weighted: bool = False) -> pl.Expr:
        """The parameter in force at the policy's instant for this year, as a literal column.
        Money comes as Int64 fen; a rate as a Float64 for display only — use :meth:`rate` to
        apply it to money and :meth:`at_least` to compare with it."""
        parameter = self.parameters[name]
        column = PARAM_PREFIX + name + ("@weighted" if weighted else "")
        if weighted:
            value: Any = parameter.weighted(self.year_value)
            dated = parameter.at(self.instant)
            self.used_parameters[name + "@weighted"] = DatedValue(
                dated.since, value, dated.reference
            )
        else:
            dated = parameter.at(self.instant)
            value = dated.value
            self.used_parameters[name] = dated
        if isinstance(value, tuple):
            self.literals[column] = pl.lit(len(value), dtype=pl.Int64)
        elif isinstance(value, Fraction):
            self.literals[column] = pl.lit(float(value), dtype=pl.Float64)
        else:
            self.literals[column] = pl.lit(int(value), dtype=pl.Int64)
        return pl.col(column)

    def param_value(self, name: str, *, weighted: bool = False) -> Any:
        """The parameter's Python value (Fraction, fen, brackets, list); also records its use."""
        self.param(name, weighted=weighted)
        parameter = self.parameters[name]
        return parameter.weighted(self.year_value) if weighted else parameter.at(self.instant).value

    @staticmethod
    def _column(name: str, weighted: bool = False) -> str:
        return PARAM_PREFIX + name + ("@weighted" if weighted else "")

    # -- history ----------------------------------------------------------------------------
    def prev(self, name: str) -> pl.Expr:
        """The enterprise's value of ``name`` in the previous year (null when no row)."""
        return self._history(History(f"{name}@prev", name, "prev"))

    def has_prev(self) -> pl.Expr:
        return self._history(History("year@prev", "year", "prev")).is_not_null()

    def sum_years(self, name: str, years: int) -> pl.Expr:
        """Sum of ``name`` over this year and the ``years - 1`` before it (rows present)."""
        return self._history(History(f"{name}@sum{years}", name, "sum", years))

    def count_years(self, years: int) -> pl.Expr:
        """How many of this year and the ``years - 1`` before it have a row."""
        return self._history(History(f"year@count{years}", "year", "count", years))

    def any_before(self, name: str) -> pl.Expr:
        """Whether ``name`` was true in any earlier year."""
        return self._history(History(f"{name}@any_before", name, "any_before"))

    def _history(self, history: History) -> pl.Expr:
        self.histories[history.column] = history
        return pl.col(history.column)

    # -- exact arithmetic -------------------------------------------------------------------
    def rate(self, money: pl.Expr, name: str, *, weighted: bool = False) -> pl.Expr:
        """``money`` (fen) × the rate parameter, rounded half-up to the fen, exactly."""
        value = Fraction(self.param_value(name, weighted=weighted))
        return _cites(mul_fraction(money, value), self._column(name, weighted))

    def at_least(self, numerator: pl.Expr, denominator: pl.Expr, name: str) -> pl.Expr:
        """numerator / denominator ≥ the ratio parameter, compared exactly (false when the
        denominator is 0 or null)."""
        value = Fraction(self.param_value(name))
        return _cites(ratio_at_least(numerator, denominator, value), self._column(name))

    def band(
        self,
        numerator: pl.Expr,
        denominator: pl.Expr,
        name: str,
        *,
        unit_zh: str = "",
        unit_en: str = "",
    ) -> Branches:
        """Points from a scale parameter: the first bracket whose threshold the ratio meets.
        Each bracket is a branch, so the explanation names the band that applied."""
        brackets: tuple[Bracket, ...] = self.param_value(name)
        items = []
        for bracket in brackets:
            pct = _pct(bracket.at_least)
            items.append(
                Branch(
                    _cites(
                        ratio_at_least(numerator, denominator, bracket.at_least), self._column(name)
                    ),
                    pl.lit(_int_or_float(bracket.value)),
                    f"比值 ≥ {pct}{unit_zh}",
                    f"ratio ≥ {pct}{unit_en}",
                )
            )
        return Branches(
            (*tuple(items), Branch(None, pl.lit(0), "低于最低档", "below the lowest band"))
        )

    def count_band(self, count: pl.Expr, name: str) -> Branches:
        """Points from a scale over a count (e.g. Class II IP: ≥4 → 24, 3 → 18…)."""
        brackets: tuple[Bracket, ...] = self.param_value(name)
        items = [
            Branch(
                count >= int(b.at_least),
                pl.lit(_int_or_float(b.value)),
                f"数量 ≥ {b.at_least}",
                f"count ≥ {b.at_least}",
            )
            for b in brackets
        ]
        return Branches(
            (*tuple(items), Branch(None, pl.lit(0), "低于最低档", "below the lowest band"))
        )

    # -- branches ---------------------------------------------------------------------------
    @staticmethod
    def when(condition: pl.Expr, then: pl.Expr | int, *, zh: str, en: str) -> Branch:
        return Branch(condition, then if isinstance(then, pl.Expr) else pl.lit(then), zh, en)

    @staticmethod
    def otherwise(then: pl.Expr | int | None, *, zh: str, en: str) -> Branch:
        value = then if isinstance(then, pl.Expr) else pl.lit(then)
        return Branch(None, value, zh, en)

    @staticmethod
    def branches(*items: Branch) -> Branches:
        return Branches(tuple(items))

    # -- cross-enterprise -------------------------------------------------------------------
    @staticmethod
    def rank_desc(
        value: pl.Expr, *, where: pl.Expr | None = None, over: Sequence[str] = ()
    ) -> pl.Expr:
        """1-based rank by ``value`` descending among rows where ``where`` holds (null
        elsewhere); ties go to the smaller USCC first (rows are sorted by USCC and ranked
        ordinally), so the order is total and reproducible."""
        ranked = value if where is None else pl.when(where).then(value)
        expr = ranked.rank("ordinal", descending=True)
        return expr.over(list(over)) if over else expr

    @staticmethod
    def minimum(*values: pl.Expr | int) -> pl.Expr:
        return pl.min_horizontal([v if isinstance(v, pl.Expr) else pl.lit(v) for v in values])

    @staticmethod
    def maximum(*values: pl.Expr | int) -> pl.Expr:
        return pl.max_horizontal([v if isinstance(v, pl.Expr) else pl.lit(v) for v in values])

    def budget_cap(self, amount: pl.Expr, name: str) -> pl.Expr:
        """Scale awards down pro rata when their total exceeds the budget parameter: each
        becomes floor(amount × budget / total), so the total never exceeds the budget."""
        budget = self.param(name)
        total = amount.sum()
        return (
            pl.when(total > budget)
            .then((amount.cast(pl.Int128) * budget // total).cast(pl.Int64))
            .otherwise(amount)
        )

    # -- added for qingdao-wotu-2021: ranking by several keys (general) ---------------------
    @staticmethod
    def rank_by(
        keys: Sequence[pl.Expr],
        *,
        descending: Sequence[bool],
        where: pl.Expr | None = None,
        over: Sequence[str] = (),
    ) -> pl.Expr:
        """1-based ordinal rank by ``keys`` in order (each ``descending`` or not), a tie on one
        key broken by the next and, last, by USCC ascending — so the order is total and does
        not depend on row order. Rows where ``where`` does not hold get null and take no
        place; a null key sorts after every value. Int64."""
        if len(keys) != len(descending):
            raise PolicyError(
                "rank_by：keys 与 descending 的个数须相同",
                "rank_by: keys and descending must have the same length",
            )
        held = pl.lit(True) if where is None else where.fill_null(False)
        # One ordinal rank of a struct whose fields sort ascending: rows that take part
        # first, then per key "is null" (nulls last) and its dense rank in the wanted
        # direction (works for any orderable type), then the USCC.
        fields = [held.not_().alias("_held")]
        for number, (key, down) in enumerate(zip(keys, descending, strict=True)):
            fields += [
                key.is_null().alias(f"_null{number}"),
                key.rank("dense", descending=down).alias(f"_key{number}"),
            ]
        # The USCC enters as its ordinal rank: the same order, but an integer to compare (and
        # free to compute on the engine's rows, already sorted by USCC).
        uscc = pl.col(KEY).rank("ordinal").alias("_uscc")
        rank = pl.struct(*fields, uscc).rank("ordinal").cast(pl.Int64)
        ranked = rank.over(list(over)) if over else rank
        return pl.when(held).then(ranked)

    # -- end of qingdao-wotu-2021 additions ---------------------------------------------------


def _cites(expr: pl.Expr, column: str) -> pl.Expr:
    """``expr`` unchanged, but naming the parameter column it was built from, so that the
    dependency reader and the explanation see a parameter applied as exact integers."""
    return pl.when(pl.col(column).is_not_null()).then(expr)


def _pct(value: Fraction) -> str:
    text = f"{float(value * 100):.4f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _int_or_float(value: int | Fraction) -> int | float:
    return int(value) if Fraction(value).denominator == 1 else float(value)


def mul_fraction(money: pl.Expr, value: Fraction) -> pl.Expr:
    """money × value rounded half away from zero (half-up on the amount) in integer fen.
    Intermediate products are Int128, so no overflow for any amount the registry holds."""
    num, den = value.numerator, value.denominator
    big = money.cast(pl.Int128)
    magnitude = (big.abs() * (2 * num) + den) // (2 * den)
    negative = pl.lit(0, dtype=pl.Int128) - magnitude  # Int128 has no unary minus in Polars
    return pl.when(big < 0).then(negative).otherwise(magnitude).cast(pl.Int64)


def ratio_at_least(numerator: pl.Expr, denominator: pl.Expr, value: Fraction) -> pl.Expr:
    num, den = value.numerator, value.denominator
    exact = numerator.cast(pl.Int128) * den >= denominator.cast(pl.Int128) * num
    return (denominator > 0) & exact.fill_null(False)


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
