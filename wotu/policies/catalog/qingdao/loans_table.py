"""Reading and checking a loans table (design.md contract: ``loan_id, uscc, bank, principal,
annual_rate, start_date, end_date, linkage``) for Qingdao's interest subsidy.

- ``principal``: yuan, as text or a number; held as integer fen, rounded half-up to the fen
  (the facts importer's rule). Negative is an error.
- ``annual_rate``: the contract rate, either a decimal fraction (``0.0385``) or a percentage
  with a sign (``3.85%``). Held exactly as an integer in units of 1e-8 (one millionth of a per
  cent); a value of 1 or more without ``%`` is refused (it is almost certainly a percentage
  written without the sign), as is one more precise than 1e-8.
- ``start_date``/``end_date``: ``YYYY-MM-DD`` (a date or datetime cell is accepted); end
  before start is an error.
- ``linkage``: ``invest`` (投贷联动), ``insure`` (保贷联动) or empty (neither), any case.
- ``loan_id``: required and unique; ``uscc``: a valid code (GB 32100-2015); ``bank``: free text.

Every bad cell is reported at once — spreadsheet row (header = row 1), column, value and the
reason in Chinese and English — as :class:`wotu.policies.inputs.FactsInputError`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import polars as pl

from wotu.core.money import round_fen
from wotu.organisations.facts import FactError
from wotu.organisations.uscc import uscc_problem
from wotu.policies.inputs import FactsInputError

LOAN_COLUMNS = (
    "loan_id",
    "uscc",
    "bank",
    "principal",
    "annual_rate",
    "start_date",
    "end_date",
    "linkage",
)
CONTRACT_LINKAGES = ("invest", "insure")  # and "" (no linkage)
RATE_SCALE = 10**8  # annual rates held as integers in units of 1e-8
MONEY_LIMIT = Decimal("1e13")
MAX_REPORTED = 50


def loans_parse(raw: pl.DataFrame) -> pl.DataFrame:
    """Check a loans table and return it typed: ``row`` (spreadsheet row), ``loan_id``,
    ``uscc``, ``bank``, ``principal_fen`` (Int64), ``annual_rate_e8`` (Int64), ``start_date``,
    ``end_date`` (Date), ``linkage`` ("invest", "insure" or "").

    Raises FactsInputError listing every bad cell (row, column, value, reason) — or naming the
    missing columns. A table with no columns and no rows (an empty list) is an empty table.
    """
    raw = raw.rename({name: name.replace("\ufeff", "").strip() for name in raw.columns})
    if raw.width == 0 and raw.height == 0:
        return _typed_empty()
    missing = [name for name in LOAN_COLUMNS if name not in raw.columns]
    if missing:
        raise FactsInputError(
            f"贷款表缺少列：{', '.join(missing)}（应有：{', '.join(LOAN_COLUMNS)}）",
            f"the loans table lacks columns: {', '.join(missing)}"
            f" (expected: {', '.join(LOAN_COLUMNS)})",
        )
    text = raw.select(
        pl.int_range(2, raw.height + 2, dtype=pl.Int64).alias("row"),
        *(_as_text(name, raw.schema[name]) for name in LOAN_COLUMNS),
    )
    errors: list[FactError] = []
    loan_id = _required(text, "loan_id", errors)
    uscc = _uscc(text, errors)
    principal = _mapped(text, "principal", _principal_fen, pl.Int64, errors)
    rate = _mapped(text, "annual_rate", _annual_rate_e8, pl.Int64, errors)
    start = _date(text, "start_date", errors)
    end = _date(text, "end_date", errors)
    linkage = _mapped(text, "linkage", _linkage, pl.String, errors, required=False)
    typed = text.select(
        "row",
        loan_id.alias("loan_id"),
        uscc.alias("uscc"),
        pl.col("bank").fill_null(""),
        principal.alias("principal_fen"),
        rate.alias("annual_rate_e8"),
        start.alias("start_date"),
        end.alias("end_date"),
        linkage.fill_null("").alias("linkage"),
    )
    errors += _end_before_start(typed)
    errors += _duplicate_ids(typed)
    if errors:
        errors.sort(key=lambda e: (e.row, LOAN_COLUMNS.index(e.column)))
        raise loans_error(errors)
    return typed


def _typed_empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "row": pl.Int64,
            "loan_id": pl.String,
            "uscc": pl.String,
            "bank": pl.String,
            "principal_fen": pl.Int64,
            "annual_rate_e8": pl.Int64,
            "start_date": pl.Date,
            "end_date": pl.Date,
            "linkage": pl.String,
        }
    )


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if dtype == pl.Datetime:
        column = column.dt.date()
    # A Float64 cell becomes its shortest round-trip text (0.0385 → "0.0385"), read exactly.
    return column.cast(pl.String).str.strip_chars().replace("", None).alias(name)


def loan_problem(row: int, column: str, value: str | None, zh: str, en: str) -> FactError:
    return FactError(row, column, value or "", zh, en)


def _required(text: pl.DataFrame, name: str, errors: list[FactError]) -> pl.Expr:
    for row in text.filter(pl.col(name).is_null()).get_column("row").head(MAX_REPORTED):
        errors.append(loan_problem(row, name, None, "必填项为空", "a value is required"))
    return pl.col(name)


def _uscc(text: pl.DataFrame, errors: list[FactError]) -> pl.Expr:
    codes = pl.col("uscc").str.to_uppercase()
    _required(text, "uscc", errors)
    problems = {
        code: problem
        for code in text.select(codes.unique().drop_nulls()).to_series().to_list()
        if (problem := uscc_problem(code)) is not None
    }
    if problems:
        bad = text.filter(codes.is_in(list(problems))).head(MAX_REPORTED)
        for row, value in bad.select("row", "uscc").iter_rows():
            zh, en = problems[value.upper()]
            errors.append(loan_problem(row, "uscc", value, zh, en))
    return codes


class _Bad(ValueError):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


def _mapped(
    text: pl.DataFrame,
    name: str,
    parse: Callable[[str], Any],
    dtype: pl.DataType | type[pl.DataType],
    errors: list[FactError],
    *,
    required: bool = True,
) -> pl.Expr:
    """Parse each distinct value once in Python (exactly, with Decimal); map the results back
    onto the column in Polars. Bad values become errors naming their rows."""
    if required:
        _required(text, name, errors)
    parsed: dict[str, Any] = {}
    bad: dict[str, _Bad] = {}
    for value in text.get_column(name).unique().drop_nulls().to_list():
        try:
            parsed[value] = parse(value)
        except _Bad as problem:
            bad[value] = problem
    if bad:
        rows = text.filter(pl.col(name).is_in(list(bad))).select("row", name).head(MAX_REPORTED)
        for row, value in rows.iter_rows():
            errors.append(loan_problem(row, name, value, bad[value].zh, bad[value].en))
    return pl.col(name).replace_strict(parsed, default=None, return_dtype=dtype)


def _decimal(value: str, zh: str, en: str) -> Decimal:
    cleaned = value.replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise _Bad(zh, en) from None
    if not number.is_finite():
        raise _Bad(zh, en)
    return number


def _principal_fen(value: str) -> int:
    amount = _decimal(
        value,
        "本金应为金额（元），如 5000000.00",
        "principal must be an amount in CNY such as 5000000.00",
    )
    if amount < 0:
        raise _Bad("本金不得为负数", "principal must not be negative")
    if amount >= MONEY_LIMIT:
        raise _Bad(
            "本金过大（须小于 10 万亿元）", "principal too large: must be below 10 trillion CNY"
        )
    return int(round_fen(amount) * 100)


def _annual_rate_e8(value: str) -> int:
    percent = value.endswith("%")
    number = _decimal(
        value.removesuffix("%"),
        "年利率应为数值：小数如 0.0385 或百分数如 3.85%",
        "annual_rate must be a number: a fraction such as 0.0385 or a percentage such as 3.85%",
    )
    rate = Fraction(number) / (100 if percent else 1)
    if rate < 0:
        raise _Bad("年利率不得为负数", "annual_rate must not be negative")
    if rate >= 1:
        raise _Bad(
            "年利率不小于 100%：如为百分数请加 % 号（3.85%）或写作小数（0.0385）",
            "annual_rate of 100% or more: for a percentage add the sign (3.85%)"
            " or write a fraction (0.0385)",
        )
    scaled = rate * RATE_SCALE
    if scaled.denominator != 1:
        raise _Bad(
            "年利率精度过高：最多精确到 0.000001%", "annual_rate too precise: at most 0.000001%"
        )
    return int(scaled)


def _linkage(value: str) -> str:
    word = value.strip().lower()
    if word not in CONTRACT_LINKAGES:
        raise _Bad(
            "联动方式应为 invest（投贷联动）、insure（保贷联动）或留空",
            "linkage must be invest (投贷联动), insure (保贷联动) or empty",
        )
    return word


def _date(text: pl.DataFrame, name: str, errors: list[FactError]) -> pl.Expr:
    _required(text, name, errors)
    cleaned = pl.col(name).str.replace(r"[ T]00:00:00(\.0+)?$", "")
    parsed = cleaned.str.to_date("%Y-%m-%d", strict=False)
    bad = text.filter(pl.col(name).is_not_null() & parsed.is_null()).head(MAX_REPORTED)
    for row, value in bad.select("row", name).iter_rows():
        errors.append(
            loan_problem(
                row, name, value, "应为日期，格式 YYYY-MM-DD", "must be a date written YYYY-MM-DD"
            )
        )
    return parsed


def _end_before_start(typed: pl.DataFrame) -> list[FactError]:
    bad = typed.filter(pl.col("end_date") < pl.col("start_date")).head(MAX_REPORTED)
    return [
        loan_problem(
            row,
            "end_date",
            end.isoformat(),
            f"到期日早于起始日 {start.isoformat()}",
            f"end_date is before start_date {start.isoformat()}",
        )
        for row, start, end in bad.select("row", "start_date", "end_date").iter_rows()
    ]


def _duplicate_ids(typed: pl.DataFrame) -> list[FactError]:
    first = pl.col("row").min().over("loan_id")
    bad = (
        typed.filter(pl.col("loan_id").is_not_null())
        .filter(pl.col("row") > first)
        .select("row", "loan_id", first.alias("first"))
        .head(MAX_REPORTED)
    )
    return [
        loan_problem(
            row,
            "loan_id",
            loan_id,
            f"贷款编号重复（第 {first_row} 行已有）",
            f"duplicate loan_id (already on row {first_row})",
        )
        for row, loan_id, first_row in bad.iter_rows()
    ]


def loans_error(errors: list[FactError]) -> FactsInputError:
    """One error for a list of bad cells, naming the first in its message."""
    first = errors[0]
    return FactsInputError(
        f"贷款表有 {len(errors)} 处错误，例如{first.text_zh()}",
        f"the loans table has {len(errors)} problem(s), e.g. {first.text_en()}",
        errors[:MAX_REPORTED],
    )
