"""The typed form fields and how one raw value is read (see :mod:`wotu.programmes.formschema`
for the JSON a programme's form is written in).

:class:`FieldSpec` and :class:`FormSpec` are a validated form, :class:`FieldError` one problem
with one answer. :func:`money_parse` reads an amount the way forms and budgets do: thousands
separators and full-width digits allowed, ≥ 0, at most 2 decimals, below 10^18.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

FIELD_TYPES = ("text", "number", "money", "date", "choice", "file")
TEXT_MAX_LENGTH = 10_000  # the default and the ceiling of ``max_length``
NUMBER_LIMIT = Decimal(10) ** 15  # exclusive; keeps integers exact in JavaScript too
NUMBER_PLACES = 6
MONEY_LIMIT = Decimal(10) ** 18  # exclusive; fits max_digits=20, decimal_places=2
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


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
