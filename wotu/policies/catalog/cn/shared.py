"""What the national policies share: optional input columns, bands labelled with their range,
and the validity of a high-tech certificate.

Optional columns are inputs outside the facts contract (``innovation_score``,
``ic_or_mother_machine``…). A policy lists them and :func:`optional_columns_prepare` makes them
present and typed before the rules run: a column the file does not have becomes all null, and a
rule reads null as "not given" (and says so in its branch label). A value that cannot be read is
an error naming the column, the enterprise and the value — never silently null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from wotu.policies.engine import Branch, Formula, PolicyError
from wotu.policies.inputs import FALSE_WORDS, TRUE_WORDS
from wotu.policies.parameters import Bracket, display

Prepare = Callable[[pl.LazyFrame, Mapping[str, pl.LazyFrame], int], pl.LazyFrame]
KINDS: dict[str, pl.DataType] = {"bool": pl.Boolean(), "number": pl.Float64(), "text": pl.String()}
MAX_SHOWN = 5


@dataclass(frozen=True)
class OptionalColumn:
    """An input column a policy uses when the facts have it (kind: bool, number or text)."""

    name: str
    kind: str
    zh: str
    en: str


def optional_columns_prepare(columns: Sequence[OptionalColumn]) -> Prepare:
    """A ``Policy.prepare`` that adds each absent optional column as nulls and parses the
    present ones (text cells as written in CSV/XLSX: booleans as true/false/是/否, numbers).
    Raises PolicyError naming the column, enterprise, year and value of unreadable cells."""

    def prepare(facts: pl.LazyFrame, tables: Mapping[str, pl.LazyFrame], year: int) -> pl.LazyFrame:
        schema = facts.collect_schema()
        parsed = []
        for column in columns:
            if column.name not in schema:
                parsed.append(pl.lit(None, dtype=KINDS[column.kind]).alias(column.name))
                continue
            expr = _parse(column, schema[column.name])
            _check_readable(facts, column, expr)
            parsed.append(expr.alias(column.name))
        return facts.with_columns(parsed)

    return prepare


def _parse(column: OptionalColumn, dtype: pl.DataType) -> pl.Expr:
    source = pl.col(column.name)
    if dtype != pl.String:
        return source.cast(KINDS[column.kind], strict=False)
    text = source.str.strip_chars()
    if column.kind == "bool":
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(TRUE_WORDS))
            .then(True)
            .when(lowered.is_in([w for w in FALSE_WORDS if w]))
            .then(False)
            .otherwise(None)
        )
    if column.kind == "number":
        return text.str.replace_all(",", "").cast(pl.Float64, strict=False)
    return pl.when(text == "").then(None).otherwise(text)


def _check_readable(facts: pl.LazyFrame, column: OptionalColumn, parsed: pl.Expr) -> None:
    source = pl.col(column.name)
    given = source.is_not_null()
    if facts.collect_schema()[column.name] == pl.String:
        given = given & (source.str.strip_chars() != "")
    bad = (
        facts.filter(given & parsed.is_null())
        .select("uscc", "year", source.cast(pl.String))
        .head(MAX_SHOWN)
        .collect()
    )
    if bad.height:
        shown = "; ".join(f"{uscc} {year}: {value!r}" for uscc, year, value in bad.iter_rows())
        raise PolicyError(
            f"列 {column.name}（{column.zh}）有无法读取的值：{shown}",
            f"column {column.name} ({column.en}) has values that cannot be read: {shown}",
        )


# ---- bands labelled with the range that applied ---------------------------------------------


def band_labelled(
    f: Formula,
    numerator: pl.Expr,
    denominator: pl.Expr,
    name: str,
    *,
    what_zh: str,
    what_en: str,
) -> tuple[Branch, ...]:
    """:meth:`Formula.band`, with each branch labelled by its range and points (e.g.
    "[25%, 30%): 16 points"), so an explanation names exactly the band that applied."""
    brackets: tuple[Bracket, ...] = f.param_value(name)
    band = f.band(numerator, denominator, name)
    labels = _ratio_labels(brackets, what_zh, what_en)
    return tuple(
        Branch(b.when, b.then.cast(pl.Int64), zh, en)
        for b, (zh, en) in zip(band.items, labels, strict=True)
    )


def _ratio_labels(brackets: Sequence[Bracket], what_zh: str, what_en: str) -> list[tuple[str, str]]:
    labels = []
    upper: Fraction | None = None
    for bracket in brackets:
        low, points = _rate(bracket.at_least), _points(bracket.value)
        if upper is None:
            labels.append(
                (f"{what_zh} ≥ {low}：{points} 分", f"{what_en} ≥ {low}: {points} points")
            )
        else:
            high = _rate(upper)
            labels.append(
                (
                    f"{what_zh}在 {low}（含）至 {high} 之间：{points} 分",
                    f"{what_en} in [{low}, {high}): {points} points",
                )
            )
        upper = bracket.at_least
    lowest = _rate(brackets[-1].at_least)
    labels.append((f"{what_zh}低于 {lowest}：0 分", f"{what_en} below {lowest}: 0 points"))
    return labels


def _rate(value: Fraction) -> str:
    return display(value, "rate")


def _points(value: int | Fraction) -> str:
    return display(value, "points")


# ---- certificates ---------------------------------------------------------------------------


def hitech_certificate_valid(f: Formula) -> pl.Expr:
    """A high-tech certificate issued in ``hitech_cert_year`` is valid in that year and the
    years up to ``hitech.cert_valid_years`` − 1 after it (null when there is none)."""
    issued = f.input("hitech_cert_year")
    return (issued <= f.year) & (issued > f.year - f.param("hitech.cert_valid_years"))


def changes_within_year(f: Formula, name: str) -> bool:
    """Whether parameter ``name`` takes a new value strictly inside the formula's year (then a
    rate for the whole year is the average of the values in force, by the parameter's weighting)."""
    start, end = dt.date(f.year_value, 1, 1), dt.date(f.year_value + 1, 1, 1)
    return any(start < dated.since < end for dated in f.parameters[name].values)
