"""Reading and writing tabular files (CSV, XLSX, Parquet), chosen by extension.

The contract (design.md): CSV is UTF-8 with a header row, XLSX uses the first sheet with the
header in row 1, Parquet is read as is. Readers return the header and the raw cell values so
that validation can quote each bad value exactly as the user wrote it.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")


class TableFileError(Exception):
    """The file as a whole cannot be read. Carries a Chinese and an English message."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass(frozen=True)
class Table:
    """Header names and columns of raw cell values (None for an empty cell)."""

    header: list[str]
    columns: dict[str, list[Any]]
    height: int


def table_format(path: Path | str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise TableFileError(
            f"不支持的文件类型 {suffix or '（无扩展名）'}：请使用 .csv、.xlsx 或 .parquet",
            f"unsupported file type {suffix or '(no extension)'}: use .csv, .xlsx or .parquet",
        )
    return suffix[1:]


def table_read(path: Path) -> Table:
    """Read a CSV, XLSX or Parquet file into a :class:`Table`."""
    fmt = table_format(path)
    if fmt == "csv":
        return _read_csv(path)
    if fmt == "xlsx":
        return _read_xlsx(path)
    return _read_parquet(path)


def _normalise_header(names: Sequence[Any]) -> list[str]:
    header = []
    for name in names:
        text = "" if name is None else str(name)
        header.append(text.replace("\ufeff", "").strip())
    return header


def _read_csv(path: Path) -> Table:
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TableFileError(
            f"文件不是 UTF-8 编码（第 {exc.start} 字节）：请在 Excel 中另存为“CSV UTF-8”",
            f"the file is not UTF-8 (byte {exc.start}): save it as 'CSV UTF-8' in Excel",
        ) from exc
    if not raw.strip():
        raise TableFileError("文件为空", "the file is empty")
    try:
        frame = pl.read_csv(raw, infer_schema=False, has_header=True, truncate_ragged_lines=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise TableFileError(
            f"无法读取 CSV 文件：{exc}", f"cannot read the CSV file: {exc}"
        ) from exc
    header = _normalise_header(frame.columns)
    columns = {}
    for name, series in zip(header, frame.get_columns(), strict=True):
        columns[name] = [None if v is None or v.strip() == "" else v for v in series.to_list()]
    return Table(header=header, columns=columns, height=frame.height)


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableFileError(
            f"无法读取 Excel 文件：{exc}", f"cannot read the Excel file: {exc}"
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise TableFileError("文件为空", "the file is empty")
        header = _normalise_header(first)
        while header and header[-1] == "":
            header.pop()
        width = len(header)
        data: list[list[Any]] = [[] for _ in range(width)]
        height = 0
        for row in rows:
            cells = list(row[:width]) + [None] * (width - len(row))
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue  # Excel often leaves formatted but empty rows at the end
            height += 1
            for index, cell in enumerate(cells):
                if isinstance(cell, str) and not cell.strip():
                    cell = None
                data[index].append(cell)
    finally:
        workbook.close()
    return Table(header=header, columns=dict(zip(header, data, strict=True)), height=height)


def _read_parquet(path: Path) -> Table:
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise TableFileError(
            f"无法读取 Parquet 文件：{exc}", f"cannot read the Parquet file: {exc}"
        ) from exc
    header = _normalise_header(frame.columns)
    columns = {
        name: series.to_list() for name, series in zip(header, frame.get_columns(), strict=True)
    }
    return Table(header=header, columns=columns, height=frame.height)


# Column kinds for writing: "str", "int", "money", "bool", "date".
def table_write(
    path: Path, *, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]
) -> int:
    """Write rows to ``path`` in the format its extension names. Returns the row count.

    Money is written exactly: as text with two decimals in CSV, as Decimal(20, 2) in Parquet
    and as a number formatted ``0.00`` in XLSX. Output is deterministic for the same rows.
    """
    fmt = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    materialised = [list(r) for r in rows]
    if fmt == "xlsx":
        _write_xlsx(path, columns, materialised)
    else:
        frame = _frame(columns, materialised)
        if fmt == "csv":
            frame.write_csv(path, null_value="", date_format="%Y-%m-%d")
        else:
            frame.write_parquet(path, compression="zstd", statistics=False)
    return len(materialised)


_POLARS_TYPES: dict[str, Any] = {
    "str": pl.String,
    "int": pl.Int64,
    "money": pl.Decimal(20, 2),
    "bool": pl.Boolean,
    "date": pl.Date,
}


def _frame(columns: Sequence[tuple[str, str]], rows: list[list[Any]]) -> pl.DataFrame:
    data = {}
    for index, (name, kind) in enumerate(columns):
        values = [row[index] for row in rows]
        if kind == "str":
            # An empty text cell is written empty, not as "" in quotes.
            data[name] = pl.Series(name, [v or None for v in values], dtype=pl.String)
        elif kind == "bool":
            # Written as the words true/false in CSV, as booleans in Parquet.
            data[name] = pl.Series(name, values, dtype=pl.Boolean)
        else:
            data[name] = pl.Series(name, values, dtype=_POLARS_TYPES[kind])
    return pl.DataFrame(data)


def _write_xlsx(path: Path, columns: Sequence[tuple[str, str]], rows: list[list[Any]]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("facts")
    sheet.append([name for name, _ in columns])
    kinds = [kind for _, kind in columns]
    for row in rows:
        out: list[Any] = []
        for kind, value in zip(kinds, row, strict=True):
            if kind == "money" and value is not None:
                cell = WriteOnlyCell(sheet, value=float(Decimal(value)))
                cell.number_format = "0.00"
                out.append(cell)
            elif kind == "date" and isinstance(value, dt.date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
    workbook.save(path)
    _fix_xlsx_timestamps(path)


def _fix_xlsx_timestamps(path: Path) -> None:
    """openpyxl stamps the current time into docProps/core.xml; pin it for identical output."""
    fixed = "2000-01-01T00:00:00Z"
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, payload in items:
            if info.filename == "docProps/core.xml":
                text = payload.decode()
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(<)", rf"\g<1>{fixed}\3", text
                )
                payload = text.encode()
            stable = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            stable.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(stable, payload)
