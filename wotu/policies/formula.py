"""What a policy is made of — rules, their branches and dated versions, the parameters'
histories — and the :class:`Formula` context a rule's formula is written against, with the exact
integer arithmetic it uses (see :mod:`wotu.policies.engine` for how a policy is built and
evaluated)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import polars as pl

from wotu.policies.parameters import (
    Bracket,
    DatedValue,
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
