"""Cleaning an applicant's answers against a validated form (:func:`form_answers_clean`).

Answers come back JSON-safe in one canonical form (see :mod:`wotu.programmes.formschema`) with
*every* problem as a :class:`~wotu.programmes.formfields.FieldError`; cleaning is idempotent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from wotu.programmes.attachments import LABELS, AttachmentInfo
from wotu.programmes.formfields import (
    NUMBER_LIMIT,
    NUMBER_PLACES,
    FieldError,
    FieldSpec,
    FormSpec,
    _amount_text,
    _date_parse,
    _decimal_parse,
    _decimal_text,
    _money_clean,
    _places,
    _quantize,
    _shown,
)

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
