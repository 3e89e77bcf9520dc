"""Files exchanged with the bank: the payment file Wotu writes for an exported batch, and the
bank's return file that says which lines were paid. Also the small table reader that the FX
rate import shares.

Payment file (CSV, UTF-8, header row), one row per line::

    payee, bank_account, amount, currency, purpose, reference, bank_name

Return file (CSV or XLSX, header row 1)::

    reference, status (paid | failed), message [, amount]

Reading is all-or-nothing: every bad cell is collected as a :class:`RowError` (``row N, column
C, value V: reason``, N = spreadsheet row with the header as row 1) and the whole file is
refused with :class:`FileRowsError`; nothing is booked.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from wotu.core.errors import WotuError

PAYMENT_COLUMNS = (
    "payee", "bank_account", "amount", "currency", "purpose", "reference", "bank_name",
)  # fmt: skip
RETURN_COLUMNS = ("reference", "status", "message")
RETURN_STATUSES = {"paid": "paid", "failed": "failed", "成功": "paid", "失败": "failed"}
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class RowError:
    """One bad cell: where it is, what it holds and why it is refused."""

    row: int
    column: str
    value: str
    zh: str
    en: str

    def text_zh(self) -> str:
        shown = self.value if self.value else "（空）"
        return f"第 {self.row} 行，列 {self.column}，值 {shown}：{self.zh}"

    def text_en(self) -> str:
        shown = self.value if self.value else '""'
        return f"row {self.row}, column {self.column}, value {shown}: {self.en}"

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value,
                "reason_zh": self.zh, "reason_en": self.en}  # fmt: skip


class FileRowsError(WotuError):
    """A file refused as a whole because of the listed bad cells; nothing was saved."""

    def __init__(self, errors: Sequence[RowError], *, what_zh: str, what_en: str) -> None:
        self.errors = list(errors)
        lines_zh = "；".join(e.text_zh() for e in self.errors[:20])
        lines_en = "; ".join(e.text_en() for e in self.errors[:20])
        more = len(self.errors) - 20
        super().__init__(
            f"{what_zh}有 {len(self.errors)} 处问题，未导入任何内容：{lines_zh}"
            + (f"；另有 {more} 处" if more > 0 else ""),
            f"{what_en} has {len(self.errors)} problem(s); nothing was imported: {lines_en}"
            + (f"; and {more} more" if more > 0 else ""),
        )


class FileUnreadable(WotuError):
    """The file as a whole cannot be used: wrong type, not UTF-8, empty, columns missing."""


@dataclass(frozen=True)
class Sheet:
    """A table as read: normalised header names and the data rows (row 2 onwards), each padded
    to the header's width; empty cells are None, other CSV cells stripped strings."""

    header: list[str]
    rows: list[list[Any]]


def cell_text(value: Any) -> str:
    """A cell as the user would see it, for error messages."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def sheet_read(*, data: bytes, name: str) -> Sheet:
    """Read CSV (UTF-8, BOM allowed) or XLSX (first sheet) bytes, chosen by ``name``'s
    extension and checked by content. Raises :class:`FileUnreadable` when the file as a whole is
    unreadable; cell values are not validated here."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        raise FileUnreadable(
            f"不支持的文件类型 {suffix or '（无扩展名）'}：请使用 .csv 或 .xlsx",
            f"unsupported file type {suffix or '(no extension)'}: use .csv or .xlsx",
        )
    if not data.strip():
        raise FileUnreadable("文件为空", "the file is empty")
    grid = _csv_grid(data) if suffix == ".csv" else _xlsx_grid(data)
    if not grid:
        raise FileUnreadable("文件为空", "the file is empty")
    header = [cell_text(c).replace("\ufeff", "").lower() for c in grid[0]]
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    rows = []
    for raw in grid[1:]:
        cells = [None if cell_text(c) == "" else c for c in list(raw[:width])]
        cells += [None] * (width - len(cells))
        if all(c is None for c in cells):
            continue  # blank lines and Excel's formatted but empty rows
        rows.append([c.strip() if isinstance(c, str) else c for c in cells])
    return Sheet(header=header, rows=rows)


def _csv_grid(data: bytes) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileUnreadable(
            f"文件不是 UTF-8 编码（第 {exc.start} 字节）：请在 Excel 中另存为“CSV UTF-8”",
            f"the file is not UTF-8 (byte {exc.start}): save it as 'CSV UTF-8' in Excel",
        ) from exc
    try:
        return [list(row) for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise FileUnreadable(
            f"无法读取 CSV 文件：{exc}", f"cannot read the CSV file: {exc}"
        ) from exc


def _xlsx_grid(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    if not data.startswith(XLSX_MAGIC):
        raise FileUnreadable(
            "文件内容不是 XLSX 格式，与扩展名 .xlsx 不符",
            "the content is not XLSX, although the name ends in .xlsx",
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileUnreadable(
            f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}"
        ) from exc
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def columns_check(*, sheet: Sheet, required: Iterable[str], what_zh: str, what_en: str) -> None:
    """Refuse a file whose header lacks a required column (named in both languages)."""
    missing = [c for c in required if c not in sheet.header]
    if missing:
        raise FileUnreadable(
            f"{what_zh}缺少列：{', '.join(missing)}（第 1 行应为表头）",
            f"{what_en} lacks the column(s) {', '.join(missing)} (row 1 must be the header)",
        )


def money_parse(value: Any) -> Decimal:
    """A positive amount with at most two decimals; ValueError (zh, en) otherwise."""
    try:
        amount = Decimal(cell_text(value).replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError("不是数字", "not a number") from exc
    if not amount.is_finite():
        raise ValueError("不是数字", "not a number")
    if amount <= 0:
        raise ValueError("金额必须大于零", "the amount must be greater than zero")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("金额最多两位小数", "the amount has more than two decimals")
    return amount


# --- the payment file ---------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentRow:
    payee: str
    bank_account: str
    amount: Decimal
    currency: str
    purpose: str
    reference: str
    bank_name: str


def _safe(text: str) -> str:
    """Keep spreadsheet programs from reading a cell as a formula (CSV injection)."""
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def payment_file_write(*, rows: Iterable[PaymentRow]) -> bytes:
    """The bank payment file: UTF-8 CSV with a header row, amounts with two decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PAYMENT_COLUMNS)
    for row in rows:
        writer.writerow([
            _safe(row.payee), _safe(row.bank_account), f"{row.amount:.2f}", row.currency,
            _safe(row.purpose), row.reference, _safe(row.bank_name),
        ])  # fmt: skip
    return out.getvalue().encode("utf-8")


# --- the return file ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReturnRow:
    row: int
    reference: str
    status: str  # "paid" or "failed"
    message: str
    amount: Decimal | None


def return_file_parse(*, data: bytes, name: str = "return.csv") -> list[ReturnRow]:
    """The bank's return file, checked on its own (see :func:`return_file_read`); raises
    :class:`FileRowsError` listing every bad cell."""
    rows, errors = return_file_read(data=data, name=name)
    if errors:
        raise FileRowsError(errors, what_zh=RETURN_ZH, what_en=RETURN_EN)
    return rows


RETURN_ZH, RETURN_EN = "银行回单文件", "the bank's return file"


def return_file_read(
    *, data: bytes, name: str = "return.csv"
) -> tuple[list[ReturnRow], list[RowError]]:
    """The good rows of a return file and every bad cell: each row needs a reference, a status
    of ``paid`` or ``failed`` (成功/失败 accepted) and, when an ``amount`` column is present, a
    positive amount; a reference may appear once only. Raises :class:`FileUnreadable` when the
    file as a whole is unreadable. Whether references belong to a batch is the service's
    check, which adds its errors to these so every bad row is reported at once."""
    sheet = sheet_read(data=data, name=name)
    columns_check(sheet=sheet, required=RETURN_COLUMNS, what_zh=RETURN_ZH, what_en=RETURN_EN)
    index = {name: sheet.header.index(name) for name in sheet.header if name}
    has_amount = "amount" in index
    errors: list[RowError] = []
    rows: list[ReturnRow] = []
    first_seen: dict[str, int] = {}
    for offset, cells in enumerate(sheet.rows):
        number = offset + 2
        reference = cell_text(cells[index["reference"]])
        status_text = cell_text(cells[index["status"]])
        message = cell_text(cells[index["message"]])
        ok = True
        if not reference:
            errors.append(RowError(number, "reference", "", "必填项为空", "a value is required"))
            ok = False
        elif reference in first_seen:
            errors.append(RowError(
                number, "reference", reference,
                f"与第 {first_seen[reference]} 行重复：每笔付款只能回复一次",
                f"duplicates row {first_seen[reference]}: each payment may be answered once",
            ))  # fmt: skip
            ok = False
        else:
            first_seen[reference] = number
        status = RETURN_STATUSES.get(status_text.lower())
        if status is None:
            errors.append(RowError(
                number, "status", status_text, "应为 paid（成功）或 failed（失败）",
                "must be paid or failed",
            ))  # fmt: skip
            ok = False
        if len(message) > 200:
            errors.append(RowError(
                number, "message", message[:40] + "…", "说明不能超过 200 个字符",
                "the message may be at most 200 characters",
            ))  # fmt: skip
            ok = False
        amount = None
        if has_amount and cells[index["amount"]] is not None:
            try:
                amount = money_parse(cells[index["amount"]])
            except ValueError as exc:
                zh, en = exc.args
                errors.append(RowError(number, "amount", cell_text(cells[index["amount"]]), zh, en))
                ok = False
        if ok and status is not None:
            rows.append(ReturnRow(number, reference, status, message, amount))
    if not sheet.rows:
        raise FileUnreadable(f"{RETURN_ZH}没有数据行", f"{RETURN_EN} has no data rows")
    return rows, errors
