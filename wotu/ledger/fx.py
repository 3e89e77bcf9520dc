"""Exchange rates for paying Hong Kong and Macao payees in HKD or MOP.

A rate is CNY per one unit of the foreign currency on a date, from a named source (e.g. the
PBoC central parity). Which rate the bureau must use is unconfirmed (policy-facts §7), so the
rule here is simple and recorded on every payment line: **the latest rate on or before the
payment date**. A CNY amount converts to ``round_fen(amount_cny / rate)``, half-up to the cent.

The rate table is imported from CSV or XLSX (header row 1)::

    date (YYYY-MM-DD), currency (HKD | MOP), rate (CNY per unit, > 0, ≤ 6 decimals)[, source]

All rows or none: every bad cell is reported as ``row N, column C, value V: reason``. Importing
the same file again changes nothing; a *different* rate for a day already recorded is refused
(payments may already have used the first one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from django.db import transaction

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.money import round_fen
from wotu.ledger.bankfiles import (
    FileRowsError,
    FileUnreadable,
    RowError,
    Sheet,
    cell_text,
    sheet_read,
)
from wotu.ledger.models import Currency, FxRate

FOREIGN = (Currency.HKD.value, Currency.MOP.value)
RATE_PLACES = Decimal("0.000001")
RATE_LIMIT = Decimal("1000000")  # max_digits 12, 6 places
ALIASES = {"日期": "date", "币种": "currency", "汇率": "rate", "来源": "source"}

Progress = Callable[[int, int], None]


class FxRateMissing(WotuError):
    """No rate on or before the payment date for a payee who is paid in HKD/MOP."""


def fx_convert(*, amount_cny: Decimal, rate: Decimal) -> Decimal:
    """``amount_cny`` in the foreign currency at ``rate`` (CNY per unit), half-up to 0.01.

    Computed with 60 significant digits before the one rounding, so the result is the exact
    quotient rounded once."""
    if rate <= 0:
        raise WotuError(
            f"汇率必须大于零，收到 {rate}", f"a rate must be greater than zero; got {rate}"
        )
    with localcontext() as context:
        context.prec = 60
        quotient = amount_cny / rate
    return round_fen(quotient)


def fx_rate_on(*, currency: str, on: dt.date) -> FxRate:
    """The rate to use for a payment in ``currency`` made on ``on``: the latest recorded on or
    before that date. Raises :class:`FxRateMissing` (zh/en, naming the currency and date)."""
    rate = FxRate.objects.filter(currency=currency, date__lte=on).order_by("-date").first()
    if rate is None:
        raise FxRateMissing(
            f"没有 {currency} 在 {on.isoformat()} 或之前的汇率：请先导入汇率表（wotu ledger"
            " fx-import），或改用人民币账户付款",
            f"there is no {currency} rate on or before {on.isoformat()}: import the rate table"
            " first (wotu ledger fx-import), or pay into the payee's RMB account",
        )
    return rate


def fx_rates_list(*, currency: str | None = None) -> list[FxRate]:
    """Recorded rates, newest first."""
    rates = FxRate.objects.all()
    if currency:
        rates = rates.filter(currency=currency)
    return list(rates.order_by("-date", "currency"))


# --- the rate table -------------------------------------------------------------------------


@dataclass(frozen=True)
class FxRow:
    row: int
    date: dt.date
    currency: str
    rate: Decimal
    source: str


@dataclass(frozen=True)
class FxImportResult:
    rows: int
    created: int
    unchanged: int


def _date_parse(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = cell_text(value).replace("/", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError("日期应为 YYYY-MM-DD", "a date must be YYYY-MM-DD") from exc


def _rate_parse(value: Any) -> Decimal:
    try:
        rate = Decimal(cell_text(value).replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError("不是数字", "not a number") from exc
    if not rate.is_finite():
        raise ValueError("不是数字", "not a number")
    if rate <= 0:
        raise ValueError("汇率必须大于零", "a rate must be greater than zero")
    if rate != rate.quantize(RATE_PLACES):
        raise ValueError("汇率最多六位小数", "a rate has at most six decimals")
    if rate >= RATE_LIMIT:
        raise ValueError("汇率过大（每单位外币的人民币数）", "the rate is too large (CNY per unit)")
    return rate


def _header(sheet: Sheet) -> dict[str, int]:
    names = [ALIASES.get(h, h) for h in sheet.header]
    missing = [c for c in ("date", "currency", "rate") if c not in names]
    if missing:
        raise FileUnreadable(
            f"汇率表缺少列：{', '.join(missing)}（第 1 行应为表头 date, currency, rate[, source]）",
            f"the rate table lacks the column(s) {', '.join(missing)} (row 1 must be the header"
            " date, currency, rate[, source])",
        )
    return {name: i for i, name in enumerate(names) if name}


def _row_parse(
    number: int, cells: list[Any], index: dict[str, int], source: str
) -> tuple[FxRow | None, list[RowError]]:
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    for column, parse in (("date", _date_parse), ("rate", _rate_parse)):
        raw = cells[index[column]]
        if raw is None:
            errors.append(RowError(number, column, "", "必填项为空", "a value is required"))
            continue
        try:
            values[column] = parse(raw)
        except ValueError as exc:
            errors.append(RowError(number, column, cell_text(raw), *exc.args))
    currency = cell_text(cells[index["currency"]]).upper()
    if currency not in FOREIGN:
        errors.append(RowError(
            number, "currency", cell_text(cells[index["currency"]]),
            "币种应为 HKD 或 MOP（汇率为每单位外币折合人民币）",
            "the currency must be HKD or MOP (rates are CNY per unit)",
        ))  # fmt: skip
    row_source = cell_text(cells[index["source"]]) if "source" in index else ""
    row_source = row_source or source
    if not row_source:
        errors.append(RowError(
            number, "source", "", "请注明汇率来源（source 列或 --source）",
            "name the rate's source (a source column, or --source)",
        ))  # fmt: skip
    elif len(row_source) > 100:
        errors.append(RowError(number, "source", row_source[:40] + "…", "来源不能超过 100 个字符",
                               "the source may be at most 100 characters"))  # fmt: skip
    if errors:
        return None, errors
    return FxRow(number, values["date"], currency, values["rate"], row_source), []


def fx_rows_parse(*, data: bytes, name: str, source: str = "") -> list[FxRow]:
    """Every row of a rate table, checked; :class:`FileRowsError` lists every bad cell and each
    day/currency given twice. ``source`` applies to rows without a source of their own."""
    sheet = sheet_read(data=data, name=name)
    index = _header(sheet)
    if not sheet.rows:
        raise FileUnreadable("汇率表没有数据行", "the rate table has no data rows")
    rows: list[FxRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[dt.date, str], int] = {}
    for offset, cells in enumerate(sheet.rows):
        row, row_errors = _row_parse(offset + 2, cells, index, source)
        errors += row_errors
        if row is None:
            continue
        first = seen.setdefault((row.date, row.currency), row.row)
        if first != row.row:
            errors.append(RowError(
                row.row, "date", row.date.isoformat(),
                f"{row.currency} 在这一天的汇率与第 {first} 行重复",
                f"duplicates row {first}: one {row.currency} rate per day",
            ))  # fmt: skip
            continue
        rows.append(row)
    if errors:
        raise FileRowsError(errors, what_zh="汇率表", what_en="the rate table")
    return rows


def fx_rates_import(
    *,
    data: bytes,
    name: str,
    source: str = "",
    actor: Any = None,
    progress: Progress | None = None,
) -> FxImportResult:
    """Import a rate table (CSV or XLSX bytes; ``name`` gives the extension): all rows or none.

    A row equal to a recorded rate (same day, currency and rate) is left as is; a different rate
    for a recorded day is an error of that row. Writes one ``fx.import`` audit event with the
    file's SHA-256. ``progress(done, total)`` is called as rows are checked and saved. The
    caller checks the actor's role (``permissions.can_prepare_payments``)."""
    rows = fx_rows_parse(data=data, name=name, source=source)
    total = len(rows)
    with transaction.atomic():
        known = {
            (r.date, r.currency): r
            for r in FxRate.objects.select_for_update().filter(date__in={row.date for row in rows})
        }
        errors: list[RowError] = []
        new: list[FxRate] = []
        for done, row in enumerate(rows, start=1):
            recorded = known.get((row.date, row.currency))
            if recorded is None:
                new.append(FxRate(date=row.date, currency=row.currency, rate=row.rate,
                                  source=row.source))  # fmt: skip
            elif recorded.rate != row.rate:
                errors.append(RowError(
                    row.row, "rate", str(row.rate),
                    f"该日已记录不同的 {row.currency} 汇率 {recorded.rate}（{recorded.source}），"
                    "付款可能已使用该汇率，不能更改",
                    f"a different {row.currency} rate {recorded.rate} ({recorded.source}) is"
                    " already recorded for this day; payments may have used it, so it cannot"
                    " change",
                ))  # fmt: skip
            if progress is not None and (done % 500 == 0 or done == total):
                progress(done, total)
        if errors:
            raise FileRowsError(errors, what_zh="汇率表", what_en="the rate table")
        FxRate.objects.bulk_create(new, batch_size=1000)
        result = FxImportResult(rows=total, created=len(new), unchanged=total - len(new))
        audit_record(
            actor=actor,
            action="fx.import",
            subject=("ledger.fxrate", "table"),
            data={"file": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": total,
                  "created": result.created, "unchanged": result.unchanged},
        )  # fmt: skip
    return result
