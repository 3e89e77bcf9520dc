"""Application forms built from typed fields.

A programme stores its form as JSON: a list of field specs such as ::

    {"name": "summary", "type": "text", "label_zh": "项目摘要", "label_en": "Summary",
     "required": true, "max_length": 2000}

Every field has ``name`` (``[a-z][a-z0-9_]*``, at most 60 characters, unique), ``type``,
``label_zh``, ``label_en`` and optionally ``required`` (default false), ``help_zh``,
``help_en``. By type:

==========  ==================================================================================
``text``    ``max_length`` (characters, default 10,000)
``number``  ``integer`` (bool, default false), ``min``, ``max``; |x| < 10^15, ≤ 6 decimals
``money``   CNY, ≥ 0, at most 2 decimals (fen); ``min``, ``max``
``date``    ISO ``YYYY-MM-DD``; ``min``, ``max``
``choice``  ``choices`` ``[{value, label_zh, label_en}]`` (required), ``multiple`` (bool)
``file``    ``kinds`` (default ``["pdf"]``), from :data:`wotu.programmes.attachments.KINDS`
==========  ==================================================================================

:func:`form_spec_validate` turns that JSON into a :class:`FormSpec` or refuses it naming every
problem. :func:`form_answers_clean` checks an applicant's answers against it and returns
JSON-safe values in one canonical form (integers as ``int``; decimals and money as strings,
money always with two places, ``"1234.50"``; dates ISO; choices as their values, several in
the spec's order) plus *every* problem as a :class:`FieldError`. Cleaning is idempotent:
cleaning cleaned answers changes nothing and finds nothing new. Empty answers (``None``,
blank text, an empty list) are left out of the result.

:func:`money_parse` reads one amount the way the form does; budgets that must add up (which
read amounts the same way) are :mod:`wotu.programmes.budget`.

This module validates specs; the field types and value readers are
:mod:`wotu.programmes.formfields` and answer cleaning :mod:`wotu.programmes.formanswers`, all
importable from here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from wotu.core.errors import WotuError
from wotu.programmes.attachments import KINDS
from wotu.programmes.formanswers import form_answers_clean as form_answers_clean
from wotu.programmes.formfields import FIELD_TYPES as FIELD_TYPES
from wotu.programmes.formfields import MONEY_LIMIT as MONEY_LIMIT
from wotu.programmes.formfields import NUMBER_LIMIT as NUMBER_LIMIT
from wotu.programmes.formfields import NUMBER_PLACES as NUMBER_PLACES
from wotu.programmes.formfields import TEXT_MAX_LENGTH as TEXT_MAX_LENGTH
from wotu.programmes.formfields import Choice as Choice
from wotu.programmes.formfields import FieldError as FieldError
from wotu.programmes.formfields import FieldSpec as FieldSpec
from wotu.programmes.formfields import FormSpec as FormSpec
from wotu.programmes.formfields import (
    _date_parse,
    _decimal_parse,
    _places,
    _quantize,
)
from wotu.programmes.formfields import money_parse as money_parse

_NAME = re.compile(r"[a-z][a-z0-9_]{0,59}")
_COMMON_KEYS = frozenset({"name", "type", "label_zh", "label_en", "required", "help_zh", "help_en"})
_TYPE_KEYS = {
    "text": frozenset({"max_length"}),
    "number": frozenset({"integer", "min", "max"}),
    "money": frozenset({"min", "max"}),
    "date": frozenset({"min", "max"}),
    "choice": frozenset({"choices", "multiple"}),
    "file": frozenset({"kinds"}),
}
_Raw = dict[str, Any]
_Where = tuple[str, str]  # (zh, en): "第 3 个字段（summary）", "field 3 ('summary')"
_CHOICE_KEYS = frozenset({"value", "label_zh", "label_en"})


# -- the form spec -------------------------------------------------------------------------------


class _Problems:
    """Problems found in a spec, each prefixed with where it is; raised together at the end."""

    def __init__(self) -> None:
        self.zh: list[str] = []
        self.en: list[str] = []

    def add(self, where: _Where, zh: str, en: str) -> None:
        self.zh.append(f"{where[0]}：{zh}")
        self.en.append(f"{where[1]}: {en}")

    def raise_any(self, zh_title: str, en_title: str) -> None:
        if self.zh:
            raise WotuError(
                f"{zh_title}：" + "；".join(self.zh), f"{en_title}: " + "; ".join(self.en)
            )


def form_spec_validate(*, spec: Any) -> FormSpec:
    """The form ``spec`` (JSON: a list of field dicts) checked and typed.

    Raises :class:`WotuError` naming every problem with its field's position (from 1) and
    name: not a list or not a dict, unknown type, unknown key, missing or empty label, bad or
    duplicate name, wrong value types, a choice field without choices, min above max.
    """
    if not isinstance(spec, list):
        raise WotuError(
            f"表单定义应为字段列表，收到 {type(spec).__name__}",
            f"a form spec must be a list of fields, got {type(spec).__name__}",
        )
    problems = _Problems()
    fields: list[FieldSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(spec):
        field = _field_parse(index, raw, problems)
        if field is None:
            continue
        if field.name in seen:
            problems.add(_where(index, raw), "字段名重复", "the name is used by an earlier field")
        seen.add(field.name)
        fields.append(field)
    problems.raise_any("表单定义有误", "the form spec is invalid")
    return FormSpec(fields=tuple(fields))


def _where(index: int, raw: Any) -> tuple[str, str]:
    name = raw.get("name") if isinstance(raw, dict) else None
    if isinstance(name, str) and name:
        return f"第 {index + 1} 个字段（{name}）", f"field {index + 1} ({name!r})"
    return f"第 {index + 1} 个字段", f"field {index + 1}"


def _field_parse(index: int, raw: Any, problems: _Problems) -> FieldSpec | None:
    where = _where(index, raw)
    if not isinstance(raw, dict):
        problems.add(where, "应为对象（dict）", f"must be an object, got {type(raw).__name__}")
        return None
    count = len(problems.zh)
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.add(
            where,
            f"字段名 {name!r} 无效：须以小写字母开头，只含小写字母、数字和下划线，最多 60 个字符",
            f"bad name {name!r}: use a lowercase letter, then lowercase letters, digits and "
            "underscores, at most 60 characters",
        )
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _TYPE_KEYS:
        problems.add(
            where,
            f"未知类型 {kind!r}，可用：{'、'.join(FIELD_TYPES)}",
            f"unknown type {kind!r}; use one of {', '.join(FIELD_TYPES)}",
        )
        return None
    unknown = sorted(set(raw) - _COMMON_KEYS - _TYPE_KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(_COMMON_KEYS | _TYPE_KEYS[kind]))
        problems.add(
            where,
            f"{kind} 类型字段不认识的键 {', '.join(unknown)}（可用：{allowed}）",
            f"unknown key(s) {', '.join(unknown)} for a {kind} field (allowed: {allowed})",
        )
    common: _Raw = {
        "name": name if isinstance(name, str) else "",
        "type": kind,
        "label_zh": _text_key(raw, "label_zh", where, problems, required=True),
        "label_en": _text_key(raw, "label_en", where, problems, required=True),
        "required": _bool_key(raw, "required", where, problems),
        "help_zh": _text_key(raw, "help_zh", where, problems),
        "help_en": _text_key(raw, "help_en", where, problems),
    }
    extra = _TYPE_PARSERS[kind](raw, where, problems)
    if len(problems.zh) > count:
        return None
    return FieldSpec(**common, **extra)


def _text_key(
    raw: _Raw,
    key: str,
    where: _Where,
    problems: _Problems,
    *,
    required: bool = False,
) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        problems.add(where, f"{key} 应为非空文本", f"{key} must be non-empty text")
        return ""
    return value.strip()


def _bool_key(raw: _Raw, key: str, where: _Where, problems: _Problems) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        problems.add(where, f"{key} 应为 true 或 false", f"{key} must be true or false")
        return False
    return value


def _bounds(
    raw: _Raw,
    where: _Where,
    problems: _Problems,
    parse: Callable[[Any], Any],
    what: tuple[str, str],
) -> tuple[Any, Any]:
    """``min`` and ``max`` through ``parse`` (None when absent; raises nothing)."""
    found: list[Any] = []
    for key in ("min", "max"):
        value = raw.get(key)
        parsed = None if value is None else parse(value)
        if value is not None and parsed is None:
            problems.add(
                where,
                f"{key} 应为{what[0]}，收到 {value!r}",
                f"{key} must be {what[1]}, got {value!r}",
            )
        found.append(parsed)
    low, high = found
    if low is not None and high is not None and low > high:
        problems.add(
            where,
            f"min（{low}）大于 max（{high}）",
            f"min ({low}) is greater than max ({high})",
        )
    return low, high


def _spec_text(raw: _Raw, where: _Where, problems: _Problems) -> _Raw:
    value = raw.get("max_length", TEXT_MAX_LENGTH)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= TEXT_MAX_LENGTH:
        problems.add(
            where,
            f"max_length 应为 1 到 {TEXT_MAX_LENGTH:,} 的整数，收到 {value!r}",
            f"max_length must be a whole number from 1 to {TEXT_MAX_LENGTH:,}, got {value!r}",
        )
        return {}
    return {"max_length": value}


def _spec_number(raw: _Raw, where: _Where, problems: _Problems) -> _Raw:
    integer = _bool_key(raw, "integer", where, problems)

    def parse(value: Any) -> Decimal | None:
        number = _decimal_parse(value)
        if number is None or abs(number) >= NUMBER_LIMIT:
            return None
        places = _places(number)
        return None if places > (0 if integer else NUMBER_PLACES) else _quantize(number, places)

    what = ("整数", "a whole number") if integer else ("数字", "a number")
    low, high = _bounds(raw, where, problems, parse, what)
    return {"integer": integer, "min_value": low, "max_value": high}


def _spec_money(raw: _Raw, where: _Where, problems: _Problems) -> _Raw:
    what = ("不小于 0、最多两位小数的金额", "an amount ≥ 0 with at most 2 decimals")
    low, high = _bounds(raw, where, problems, lambda value: money_parse(value=value), what)
    return {"min_value": low, "max_value": high}


def _spec_date(raw: _Raw, where: _Where, problems: _Problems) -> _Raw:
    what = ("YYYY-MM-DD 格式的日期", "a date as YYYY-MM-DD")
    low, high = _bounds(raw, where, problems, _date_parse, what)
    return {"min_date": low, "max_date": high}


def _spec_choice(raw: _Raw, where: _Where, problems: _Problems) -> _Raw:
    multiple = _bool_key(raw, "multiple", where, problems)
    items = raw.get("choices")
    if not isinstance(items, list) or not items:
        problems.add(
            where,
            "choice 类型字段须有非空的 choices 列表",
            "a choice field needs a non-empty list of choices",
        )
        return {}
    choices: list[Choice] = []
    for number, item in enumerate(items, start=1):
        at = (f"{where[0]}的第 {number} 个选项", f"{where[1]} choice {number}")
        if not isinstance(item, dict) or set(item) - _CHOICE_KEYS:
            problems.add(
                at,
                "应为只含 value、label_zh、label_en 的对象",
                "must be an object {value, label_zh, label_en}",
            )
            continue
        value = item.get("value")
        if not isinstance(value, str) or not value:
            problems.add(at, "value 应为非空文本", "value must be non-empty text")
            continue
        if any(c.value == value for c in choices):
            problems.add(at, f"value {value!r} 重复", f"value {value!r} is repeated")
        label_zh = _text_key(item, "label_zh", at, problems, required=True)
        label_en = _text_key(item, "label_en", at, problems, required=True)
        choices.append(Choice(value=value, label_zh=label_zh, label_en=label_en))
    return {"choices": tuple(choices), "multiple": multiple}


def _spec_file(raw: _Raw, where: _Where, problems: _Problems) -> _Raw:
    kinds = raw.get("kinds", ["pdf"])
    if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds):
        problems.add(
            where,
            f"kinds 应为非空列表，取自 {'、'.join(KINDS)}，收到 {kinds!r}",
            f"kinds must be a non-empty list from {', '.join(KINDS)}, got {kinds!r}",
        )
        return {}
    return {"kinds": tuple(k for k in KINDS if k in kinds)}


_TYPE_PARSERS: dict[str, Callable[[dict[str, Any], tuple[str, str], _Problems], dict[str, Any]]] = {
    "text": _spec_text,
    "number": _spec_number,
    "money": _spec_money,
    "date": _spec_date,
    "choice": _spec_choice,
    "file": _spec_file,
}
