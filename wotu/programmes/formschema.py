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
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from wotu.core.errors import WotuError
from wotu.programmes.attachments import KINDS, LABELS, AttachmentInfo

FIELD_TYPES = ("text", "number", "money", "date", "choice", "file")
TEXT_MAX_LENGTH = 10_000  # the default and the ceiling of ``max_length``
NUMBER_LIMIT = Decimal(10) ** 15  # exclusive; keeps integers exact in JavaScript too
NUMBER_PLACES = 6
MONEY_LIMIT = Decimal(10) ** 18  # exclusive; fits max_digits=20, decimal_places=2

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
# Digits with optional thousands separators ("1,234,567.5"), after NFKC has turned full-width
# digits and punctuation typed with a Chinese input method into ASCII.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Choice:
    value: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class FieldSpec:
    """One validated field. ``min_value``/``max_value`` bound number and money fields,
    ``min_date``/``max_date`` date fields; the other attributes are as in the JSON."""

    name: str
    type: str
    label_zh: str
    label_en: str
    required: bool = False
    help_zh: str = ""
    help_en: str = ""
    max_length: int = TEXT_MAX_LENGTH
    integer: bool = False
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    min_date: dt.date | None = None
    max_date: dt.date | None = None
    choices: tuple[Choice, ...] = ()
    multiple: bool = False
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormSpec:
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class FieldError:
    """A problem with one answer. ``field`` is the field name (``budget.<code>`` and
    ``budget.total`` for budgets); ``value`` what was given; ``code`` one of ``required``,
    ``unknown`` (no such field), ``invalid`` (wrong type, format or range), ``sum`` (budget
    lines do not add up)."""

    field: str
    value: Any
    message_zh: str
    message_en: str
    code: str = "invalid"


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


# -- answers -------------------------------------------------------------------------------------


def form_answers_clean(
    *,
    spec: FormSpec,
    answers: Mapping[str, Any],
    files: Mapping[str, AttachmentInfo] | None,
    final: bool,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Cleaned answers and every problem, in the spec's field order (unknown keys last).

    A draft (``final=False``) may leave required fields empty; every value that *is* given is
    checked in full (type, format, range, length) either way. On submission (``final=True``)
    required fields must be answered. A value with a problem is left out of the result.

    File fields are answered through ``files`` (field name → the checked attachment; pass every
    attachment the application already has), never through ``answers``; they are not in the
    result. A file must be of one of the field's kinds.
    """
    files = files or {}
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field in spec.fields:
        if field.type == "file":
            error = _file_check(field, answers.get(field.name), files.get(field.name), final)
        else:
            value, error = _answer_clean(field, answers.get(field.name), final)
            if value is not None:
                cleaned[field.name] = value
        if error is not None:
            errors.append(error)
    known = {f.name for f in spec.fields}
    file_fields = {f.name for f in spec.fields if f.type == "file"}
    errors += [_unknown(str(k), v, "") for k, v in answers.items() if k not in known]
    errors += [_unknown(str(k), v, "file ") for k, v in files.items() if k not in file_fields]
    return cleaned, errors


def _unknown(key: str, value: Any, what: str) -> FieldError:
    return FieldError(
        key,
        value,
        f"表单中没有{'文件' if what else ''}字段 {key!r}",
        f"the form has no {what}field {key!r}",
        code="unknown",
    )


def _is_empty(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | tuple) and not value)


def _answer_clean(field: FieldSpec, value: Any, final: bool) -> tuple[Any, FieldError | None]:
    if _is_empty(value):
        return None, _required(field) if field.required and final else None
    cleaned, problem = _VALUE_CLEANERS[field.type](field, value)
    if problem is not None:
        return None, FieldError(field.name, value, *problem)
    return cleaned, None


def _required(field: FieldSpec) -> FieldError:
    return FieldError(
        field.name,
        None,
        f"「{field.label_zh}」为必填项",
        f"'{field.label_en}' is required",
        code="required",
    )


def _file_check(
    field: FieldSpec, answer: Any, info: AttachmentInfo | None, final: bool
) -> FieldError | None:
    if not _is_empty(answer):
        return FieldError(
            field.name,
            answer,
            f"「{field.label_zh}」须上传文件，不能填写",
            f"'{field.label_en}' takes an uploaded file, not a typed value",
        )
    if info is None:
        return _required(field) if field.required and final else None
    if info.kind not in field.kinds:
        wanted_zh = "、".join(LABELS[k][0] for k in field.kinds)
        wanted_en = " or ".join(LABELS[k][1] for k in field.kinds)
        return FieldError(
            field.name,
            info.kind,
            f"「{field.label_zh}」应为 {wanted_zh}，上传的文件为：{LABELS[info.kind][0]}",
            f"'{field.label_en}' must be {wanted_en}; the upload is {LABELS[info.kind][1]}",
        )
    return None


_Problem = tuple[str, str] | None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _clean_text(field: FieldSpec, value: Any) -> tuple[Any, _Problem]:
    if not isinstance(value, str):
        return None, (f"「{field.label_zh}」应为文本", f"'{field.label_en}' must be text")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in text:
        return None, (
            f"「{field.label_zh}」含有 NUL 字符，请删除后重试",
            f"'{field.label_en}' contains a NUL character; remove it",
        )
    if len(text) > field.max_length:
        return None, (
            f"「{field.label_zh}」有 {len(text):,} 个字符，最多 {field.max_length:,} 个",
            f"'{field.label_en}' has {len(text):,} characters; at most {field.max_length:,}",
        )
    return text, None


def _clean_number(field: FieldSpec, value: Any) -> tuple[Any, _Problem]:
    number = _decimal_parse(value)
    if number is None:
        return None, (
            f"「{field.label_zh}」应为数字，收到 {_shown(value)}",
            f"'{field.label_en}' must be a number, got {_shown(value)}",
        )
    if abs(number) >= NUMBER_LIMIT:
        return None, (
            f"「{field.label_zh}」的绝对值应小于 10^15",
            f"'{field.label_en}' must be less than 10^15 in absolute value",
        )
    places = _places(number)
    if field.integer and places:
        return None, (
            f"「{field.label_zh}」应为整数，收到 {_shown(value)}",
            f"'{field.label_en}' must be a whole number, got {_shown(value)}",
        )
    if places > NUMBER_PLACES:
        return None, (
            f"「{field.label_zh}」最多 {NUMBER_PLACES} 位小数",
            f"'{field.label_en}' takes at most {NUMBER_PLACES} decimals",
        )
    number = _quantize(number, places)
    problem = _range_problem(field, number, field.min_value, field.max_value, str)
    if problem is not None:
        return None, problem
    return (int(number) if field.integer else _decimal_text(number)), None


def _clean_money(field: FieldSpec, value: Any) -> tuple[Any, _Problem]:
    amount = _money_clean(value, field.label_zh, field.label_en)
    if isinstance(amount, tuple):
        return None, amount
    problem = _range_problem(field, amount, field.min_value, field.max_value, _amount_text)
    return (None, problem) if problem else (str(amount), None)


def _clean_date(field: FieldSpec, value: Any) -> tuple[Any, _Problem]:
    day = _date_parse(value)
    if day is None:
        return None, (
            f"「{field.label_zh}」应为 YYYY-MM-DD 格式的有效日期，收到 {_shown(value)}",
            f"'{field.label_en}' must be a valid date as YYYY-MM-DD, got {_shown(value)}",
        )
    problem = _range_problem(field, day, field.min_date, field.max_date, dt.date.isoformat)
    return (None, problem) if problem else (day.isoformat(), None)


def _clean_choice(field: FieldSpec, value: Any) -> tuple[Any, _Problem]:
    allowed = [c.value for c in field.choices]
    options = ", ".join(repr(v) for v in allowed)
    if field.multiple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            return None, (
                f"「{field.label_zh}」应为选项值的列表",
                f"'{field.label_en}' must be a list of choice values",
            )
        picked = set(value)
        wrong = sorted(picked - set(allowed))
        if not wrong:
            return [v for v in allowed if v in picked], None
        shown = ", ".join(repr(v) for v in wrong)
    else:
        if isinstance(value, str) and value in allowed:
            return value, None
        shown = _shown(value)
    return None, (
        f"「{field.label_zh}」没有选项 {shown}，可选：{options}",
        f"'{field.label_en}' has no choice {shown}; choose from {options}",
    )


def _range_problem(
    field: FieldSpec, value: Any, low: Any, high: Any, show: Callable[[Any], str]
) -> _Problem:
    if low is not None and value < low:
        return (
            f"「{field.label_zh}」不能小于 {show(low)}，收到 {show(value)}",
            f"'{field.label_en}' must be at least {show(low)}, got {show(value)}",
        )
    if high is not None and value > high:
        return (
            f"「{field.label_zh}」不能大于 {show(high)}，收到 {show(value)}",
            f"'{field.label_en}' must be at most {show(high)}, got {show(value)}",
        )
    return None


_VALUE_CLEANERS: dict[str, Callable[[FieldSpec, Any], tuple[Any, _Problem]]] = {
    "text": _clean_text,
    "number": _clean_number,
    "money": _clean_money,
    "date": _clean_date,
    "choice": _clean_choice,
}


# -- numbers, money, dates -----------------------------------------------------------------------


def _decimal_parse(value: Any) -> Decimal | None:
    """A finite Decimal from an int, float, Decimal or numeric text; None for anything else.

    Text may use thousands separators and full-width digits; floats go through their shortest
    repr, so 0.1 is 0.1 (never 0.1000000000000000055…).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if not _DECIMAL.fullmatch(text):
            return None
        number = Decimal(text.replace(",", ""))
    else:
        return None
    return number if number.is_finite() else None


def _places(number: Decimal) -> int:
    """Decimal places that matter: 1.50 has 1, 100 has 0 (exact, whatever the precision)."""
    digits, exponent = number.as_tuple().digits, number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing)) if any(digits) else 0


def _quantize(number: Decimal, places: int) -> Decimal:
    """``number`` with exactly ``places`` decimals and no negative zero (exact: callers have
    checked that no non-zero digit is lost and that the size fits the 28-digit context)."""
    result = number.quantize(Decimal(1).scaleb(-places))
    return result if result else abs(result)


def _decimal_text(number: Decimal) -> str:
    return format(number, "f")


def money_parse(*, value: Any) -> Decimal | None:
    """``value`` as an amount in CNY with two places, exactly as the form and budget read it
    (thousands separators and full-width digits allowed; ≥ 0; at most 2 decimals; < 10^18),
    or None when it is not one."""
    amount = _money_clean(value, "", "")
    return None if isinstance(amount, tuple) else amount


def _money_clean(value: Any, label_zh: str, label_en: str) -> Decimal | tuple[str, str]:
    """An amount in CNY with two places, or why not (zh, en): ≥ 0, at most 2 decimals, < 10^18."""
    amount = _decimal_parse(value)
    if amount is None:
        return (
            f"「{label_zh}」应为金额（如 1234.50），收到 {_shown(value)}",
            f"'{label_en}' must be an amount such as 1234.50, got {_shown(value)}",
        )
    if amount < 0:
        return (
            f"「{label_zh}」不能为负数，收到 {_shown(value)}",
            f"'{label_en}' must not be negative, got {_shown(value)}",
        )
    if amount >= MONEY_LIMIT:
        return (f"「{label_zh}」金额过大", f"'{label_en}' is too large an amount")
    if _places(amount) > 2:
        return (
            f"「{label_zh}」最多两位小数（到分），收到 {_shown(value)}",
            f"'{label_en}' takes at most 2 decimals (fen), got {_shown(value)}",
        )
    return _quantize(amount, 2)


def _amount_text(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _date_parse(value: Any) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None
