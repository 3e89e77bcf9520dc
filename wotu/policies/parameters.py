"""Policy parameters: dated values with a unit, a bilingual label and a legal reference.

One YAML file per scheme. Each parameter has one or more dated values; the value in force at
an instant is the latest one dated on or before it. Every value carries the reference (document
number, article, optional URL) that makes it law. Unknown keys are an error at load time.

Units and how values are held (all exact):
  CNY        integer fen (the YAML value is yuan, e.g. 150000 or "150000.00")
  rate       Fraction (YAML "0.10" or "10%")
  count, year, points, days, ratio
             int or Fraction as written
A ``scale`` parameter holds brackets instead of one value: ``[{at_least: 0.30, value: 20}, …]``
ordered from the highest threshold down; the first bracket whose threshold is met applies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

UNITS = ("CNY", "rate", "count", "year", "points", "days", "ratio", "list")
Number = int | Fraction


class ParameterError(ValueError):
    """A parameter file or an override is wrong. Says where and why, in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class Reference:
    document: str
    article: str = ""
    url: str = ""
    note: str = ""

    def short(self) -> str:
        return f"{self.document} {self.article}".strip()


@dataclass(frozen=True)
class Bracket:
    at_least: Fraction
    value: Number


@dataclass(frozen=True)
class DatedValue:
    since: dt.date
    value: Any  # Number, tuple[Bracket, ...] for scales, tuple[str, ...] for lists
    reference: Reference


@dataclass(frozen=True)
class Parameter:
    name: str
    label_zh: str
    label_en: str
    unit: str
    values: tuple[DatedValue, ...]
    scale: bool = False
    note: str = ""
    weighting: str = "days"  # how a value that changes within a year is averaged: days | months

    def at(self, instant: dt.date) -> DatedValue:
        """The dated value in force at ``instant`` (the latest dated on or before it)."""
        current = None
        for dated in self.values:
            if dated.since <= instant:
                current = dated
        if current is None:
            raise ParameterError(
                f"参数 {self.name} 在 {instant} 尚无生效值（最早 {self.values[0].since}）",
                f"parameter {self.name} has no value in force on {instant}"
                f" (the first is dated {self.values[0].since})",
            )
        return current

    def weighted(self, year: int) -> Fraction:
        """The year's average by this parameter's ``weighting`` (days or months in force)."""
        return self.month_weighted(year) if self.weighting == "months" else self.day_weighted(year)

    def month_weighted(self, year: int) -> Fraction:
        """The average over the 12 months of ``year`` of the value in force on each month's
        first day, exactly — proration by months, as 财政部 税务总局公告2022年第28号 第二条
        allows for the 2022 change of the R&D deduction rate."""
        total = sum(Fraction(self.at(dt.date(year, month, 1)).value) for month in range(1, 13))
        return Fraction(total) / 12

    def day_weighted(self, year: int) -> Fraction:
        """The average over the days of ``year`` of a value that changes within the year
        (e.g. a deduction rate raised on 1 October), exactly, weighted by days in force."""
        start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        total = Fraction(0)
        cuts = sorted({start, *(v.since for v in self.values if start < v.since < end)})
        for begin, finish in zip(cuts, [*cuts[1:], end], strict=True):
            total += Fraction(self.at(begin).value) * (finish - begin).days
        return total / (end - start).days


@dataclass(frozen=True)
class ParameterSet:
    """The parameters of one scheme file, by name."""

    scheme: str
    parameters: Mapping[str, Parameter]
    source: str = ""  # file text, for the version hash

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise ParameterError(
                f"未知参数 {name}", f"unknown parameter {name} in scheme {self.scheme}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.parameters

    def names(self) -> list[str]:
        return sorted(self.parameters)

    def with_overrides(self, overrides: Mapping[str, Any], *, since: dt.date) -> ParameterSet:
        """A copy in which each overridden parameter takes the given value from ``since`` on
        (a scenario: "what if the cap were 500,000 from 2023?")."""
        changed = dict(self.parameters)
        for name, raw in overrides.items():
            parameter = self[name]
            where = f"{self.scheme}: override {name}"
            value = _parse_value(raw, parameter.unit, parameter.scale, where)
            reference = Reference(document="情景假设 / scenario", note=f"override of {name}")
            kept = tuple(v for v in parameter.values if v.since < since)
            changed[name] = replace(
                parameter, values=(*kept, DatedValue(since=since, value=value, reference=reference))
            )
        return ParameterSet(scheme=self.scheme, parameters=changed, source=self.source)

    def version_hash(self) -> str:
        """A hash of every dated value and reference: changes when any parameter changes."""
        canonical = {
            name: [[str(v.since), _jsonable(v.value), v.reference.short()] for v in p.values]
            for name, p in sorted(self.parameters.items())
        }
        payload = json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(payload).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Bracket):
        return [str(value.at_least), str(value.value)]
    return str(value)


PARAMETER_KEYS = {"label", "unit", "values", "scale", "note", "weighting"}
VALUE_KEYS = {"since", "value", "brackets", "reference"}
REFERENCE_KEYS = {"document", "article", "url", "note"}
BRACKET_KEYS = {"at_least", "value"}


def parameters_load(path: Path) -> ParameterSet:
    """Load one scheme's YAML file. Raises ParameterError naming the key and why."""
    text = path.read_text(encoding="utf-8")
    try:
        # The safe C loader when libyaml is there (8× faster on the catalogue), else the Python one.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise ParameterError(
            f"{path.name}: YAML 格式错误：{exc}", f"{path.name}: bad YAML: {exc}"
        ) from exc
    if not isinstance(data, dict) or set(data) - {"scheme", "parameters"}:
        raise ParameterError(
            f"{path.name}：顶层只能有 scheme 与 parameters",
            f"{path.name}: the top level holds only 'scheme' and 'parameters'",
        )
    scheme = str(data.get("scheme") or path.stem)
    parameters = {}
    for name, spec in (data.get("parameters") or {}).items():
        parameters[name] = _parameter(f"{path.name}: {name}", name, spec)
    return ParameterSet(scheme=scheme, parameters=parameters, source=text)


def _unknown(where: str, given: Iterable[str], allowed: set[str]) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise ParameterError(
            f"{where}：未知的键 {', '.join(extra)}（允许：{', '.join(sorted(allowed))}）",
            f"{where}: unknown key(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})",
        )


def _parameter(where: str, name: str, spec: Any) -> Parameter:
    if not isinstance(spec, dict):
        raise ParameterError(f"{where}：应为映射", f"{where}: must be a mapping")
    _unknown(where, spec, PARAMETER_KEYS)
    label = spec.get("label") or {}
    if not isinstance(label, dict) or not label.get("zh") or not label.get("en"):
        raise ParameterError(
            f"{where}：缺少中英文标签 label.zh / label.en", f"{where}: needs label.zh and label.en"
        )
    _unknown(f"{where}.label", label, {"zh", "en"})
    unit = spec.get("unit")
    if unit not in UNITS:
        raise ParameterError(
            f"{where}：单位 {unit!r} 无效（{', '.join(UNITS)}）",
            f"{where}: unit {unit!r} is not one of {', '.join(UNITS)}",
        )
    scale = bool(spec.get("scale", False))
    raw_values = spec.get("values")
    if not isinstance(raw_values, list) or not raw_values:
        raise ParameterError(
            f"{where}：至少需要一个带日期的值", f"{where}: needs at least one dated value"
        )
    values = tuple(
        sorted(
            (_dated(f"{where}.values[{i}]", v, unit, scale) for i, v in enumerate(raw_values)),
            key=lambda v: v.since,
        )
    )
    if len({v.since for v in values}) != len(values):
        raise ParameterError(f"{where}：同一日期有两个值", f"{where}: two values share a date")
    weighting = str(spec.get("weighting", "days"))
    if weighting not in {"days", "months"}:
        raise ParameterError(
            f"{where}：weighting 只能是 days 或 months", f"{where}: weighting is days or months"
        )
    return Parameter(
        weighting=weighting,
        name=name,
        label_zh=str(label["zh"]),
        label_en=str(label["en"]),
        unit=unit,
        values=values,
        scale=scale,
        note=str(spec.get("note", "")),
    )


def _dated(where: str, spec: Any, unit: str, scale: bool) -> DatedValue:
    if not isinstance(spec, dict):
        raise ParameterError(f"{where}：应为映射", f"{where}: must be a mapping")
    _unknown(where, spec, VALUE_KEYS)
    since = spec.get("since")
    if not isinstance(since, dt.date):
        raise ParameterError(
            f"{where}：since 应为日期 YYYY-MM-DD", f"{where}: 'since' must be a date"
        )
    reference = spec.get("reference")
    if not isinstance(reference, dict) or not reference.get("document"):
        raise ParameterError(
            f"{where}：每个值都要有法律依据 reference.document",
            f"{where}: every value needs a legal reference (reference.document)",
        )
    _unknown(f"{where}.reference", reference, REFERENCE_KEYS)
    raw = spec.get("brackets") if scale else spec.get("value")
    if raw is None:
        key = "brackets" if scale else "value"
        raise ParameterError(f"{where}：缺少 {key}", f"{where}: '{key}' is missing")
    return DatedValue(
        since=since,
        value=_parse_value(raw, unit, scale, where),
        reference=Reference(**{k: str(v) for k, v in reference.items()}),
    )


def _parse_value(raw: Any, unit: str, scale: bool, where: str) -> Any:
    if scale:
        if not isinstance(raw, list) or not raw:
            raise ParameterError(
                f"{where}：brackets 应为非空列表", f"{where}: brackets must be a list"
            )
        brackets = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise ParameterError(f"{where}[{i}]：应为映射", f"{where}[{i}]: must be a mapping")
            _unknown(f"{where}[{i}]", item, BRACKET_KEYS)
            brackets.append(
                Bracket(
                    at_least=Fraction(_number(item.get("at_least"), "ratio", where)),
                    value=_number(item.get("value"), "points", where),
                )
            )
        thresholds = [b.at_least for b in brackets]
        if thresholds != sorted(thresholds, reverse=True):
            raise ParameterError(
                f"{where}：档位须按门槛从高到低排列",
                f"{where}: brackets must run from the highest threshold down",
            )
        return tuple(brackets)
    if unit == "list":
        if not isinstance(raw, list):
            raise ParameterError(f"{where}：应为列表", f"{where}: must be a list")
        return tuple(str(item) for item in raw)
    return _number(raw, unit, where)


def _number(raw: Any, unit: str, where: str) -> Number:
    if isinstance(raw, bool) or raw is None:
        raise ParameterError(f"{where}：应为数值", f"{where}: must be a number")
    text = str(raw).strip().replace(",", "")
    percent = text.endswith("%")
    try:
        amount = Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise ParameterError(
            f"{where}：{raw!r} 不是数值", f"{where}: {raw!r} is not a number"
        ) from None
    exact = Fraction(amount) / (100 if percent else 1)
    if unit == "CNY":
        fen = exact * 100
        if fen.denominator != 1:
            raise ParameterError(
                f"{where}：金额最多两位小数", f"{where}: money has at most 2 decimals"
            )
        return int(fen)
    if exact.denominator == 1 and unit in {"count", "year", "days", "points"}:
        return int(exact)
    return exact


def display(value: Any, unit: str) -> str:
    """A value as a person reads it: ¥150,000.00, 10%, 20 points, brackets as ≥30%→20."""
    if isinstance(value, tuple) and value and isinstance(value[0], Bracket):
        return "; ".join(
            f"≥{display(b.at_least, 'rate')}→{display(b.value, 'points')}" for b in value
        )
    if isinstance(value, tuple):
        return ", ".join(value)
    if unit == "CNY":
        return f"¥{Decimal(value) / 100:,.2f}"
    if unit == "rate":
        percent = Fraction(value) * 100
        text = f"{float(percent):.4f}".rstrip("0").rstrip(".")
        return f"{text}%"
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):.6g}"
    return str(value)


@dataclass
class ResolvedParameters:
    """Parameters in force at one instant, with the dated value each came from."""

    instant: dt.date
    values: dict[str, tuple[Parameter, DatedValue]] = field(default_factory=dict)
