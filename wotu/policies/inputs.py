"""Facts as the engine reads them: a Polars frame in the engine's exact types.

Money columns become integer fen (Int64), booleans are never null, counts default to 0,
``rd_expense_domestic`` and ``rd_deductible`` default to ``rd_expense`` (the facts contract).
Columns outside the contract (e.g. ``innovation_score``) pass through unchanged.

Files are read with Polars directly — vectorised, so a million rows take seconds — and a cell
that does not parse is reported like the importer does: ``row N, column C, value V: reason``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from wotu.organisations.facts import COLUMNS, FactError
from wotu.organisations.facts_io import TableFileError, table_format

MONEY = [c.name for c in COLUMNS if c.kind == "money"]
BOOLS = [c.name for c in COLUMNS if c.kind == "bool"]
COUNTS = ["employees", "st_staff", "ip_class1", "ip_class2", "conversions"]
YEARS = ["year", "hitech_cert_year", "hitech_first_cert_year"]
TEXT = ["uscc", "name", "district_code", "sector", "tech_sme_number"]
REQUIRED = [c.name for c in COLUMNS if c.required]
TRUE_WORDS = ["true", "1", "yes", "y", "t", "是"]
FALSE_WORDS = ["false", "0", "no", "n", "f", "否", ""]
MAX_REPORTED = 50


class FactsInputError(ValueError):
    """The facts cannot be read: the file as a whole, or listed cells."""

    def __init__(self, zh: str, en: str, errors: list[FactError] | None = None) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
        self.errors = errors or []


def facts_frame_from_file(path: Path) -> pl.DataFrame:
    """Read a facts file (CSV, XLSX, Parquet) into engine types."""
    try:
        fmt = table_format(path)
    except TableFileError as exc:
        raise FactsInputError(exc.zh, exc.en) from exc
    if not path.is_file():
        raise FactsInputError(f"找不到文件 {path}", f"file not found: {path}")
    try:
        if fmt == "parquet":
            raw = pl.read_parquet(path)
        elif fmt == "csv":
            raw = pl.read_csv(path, infer_schema=False)
        else:
            raw = pl.read_excel(path, engine="openpyxl", infer_schema_length=0)
    except Exception as exc:
        raise FactsInputError(f"无法读取文件：{exc}", f"cannot read the file: {exc}") from exc
    return facts_frame_normalise(raw)


def facts_frame_normalise(
    raw: pl.DataFrame, *, fen_columns: frozenset[str] = frozenset()
) -> pl.DataFrame:
    """Cast a raw frame (strings or typed) to engine types; report every bad cell.

    ``fen_columns`` names money columns that already hold integer fen (from the database)."""
    raw = raw.rename({name: name.replace("\ufeff", "").strip() for name in raw.columns})
    missing = [name for name in REQUIRED if name not in raw.columns]
    if missing:
        raise FactsInputError(
            f"缺少必填列：{', '.join(missing)}",
            f"required columns are missing: {', '.join(missing)}",
        )
    frame = raw.with_row_index("__row", offset=2)
    casts = {
        name: _cast(name, frame.schema.get(name), fen_columns) for name in _contract_present(frame)
    }
    typed = frame.with_columns(**casts)
    errors = _cast_errors(frame, typed, list(casts))
    if errors:
        raise FactsInputError(
            f"{len(errors)} 个单元格无法读取", f"{len(errors)} cells cannot be read", errors
        )
    typed = _defaults(typed)
    duplicates = typed.filter(pl.struct("uscc", "year").is_duplicated())
    if duplicates.height:
        row = duplicates.row(0, named=True)
        raise FactsInputError(
            f"第 {row['__row']} 行：统一社会信用代码 {row['uscc']} 的 {row['year']} 年度重复",
            f"row {row['__row']}: USCC {row['uscc']} has year {row['year']} more than once",
        )
    return typed.drop("__row")


def _contract_present(frame: pl.DataFrame) -> Iterable[str]:
    return [c.name for c in COLUMNS if c.name in frame.columns]


def _fen(decimal: pl.Expr) -> pl.Expr:
    """Yuan (a Decimal with 6 places) to integer fen, rounded half-up like the importer
    (Polars' own decimal casts round half to even: 0.125 would become 0.12)."""
    micro = (decimal * 1_000_000).cast(pl.Int128, strict=False)
    magnitude = (micro.abs() + 5_000) // 10_000
    negative = pl.lit(0, dtype=pl.Int128) - magnitude
    return pl.when(micro < 0).then(negative).otherwise(magnitude).cast(pl.Int64, strict=False)


def _cast(name: str, dtype: pl.DataType | None, fen_columns: frozenset[str]) -> pl.Expr:
    column = pl.col(name)
    is_text = dtype == pl.String
    if name in MONEY:
        if dtype in (pl.Int64, pl.Int32) and name in fen_columns:
            return column.cast(pl.Int64)
        if isinstance(dtype, pl.Decimal) and (dtype.scale or 0) <= 2:
            # A decimal with at most 2 places is already exact fen underneath (Parquet files).
            return column.cast(pl.Decimal(38, 2)).to_physical().cast(pl.Int64, strict=False)
        source = column.str.strip_chars().str.replace_all(",", "") if is_text else column
        return _fen(source.cast(pl.Decimal(38, 6), strict=False))
    if name in BOOLS:
        if is_text:
            lowered = column.str.strip_chars().str.to_lowercase()
            return (
                pl.when(lowered.is_in(TRUE_WORDS))
                .then(True)
                .when(lowered.is_in(FALSE_WORDS) | lowered.is_null())
                .then(False)
                .otherwise(None)
            )
        return column.cast(pl.Boolean, strict=False)
    if name in COUNTS or name in YEARS:
        if is_text:
            return (
                column.str.strip_chars().cast(pl.Float64, strict=False).cast(pl.Int64, strict=False)
            )
        return column.cast(pl.Int64, strict=False)
    if name == "registered_on":
        if is_text:
            # Excel cells read as text carry a time ("2016-04-18 00:00:00"); the importer also
            # accepts "/" and "." as separators.
            text = column.str.strip_chars().str.slice(0, 10).str.replace_all(r"[/.]", "-")
            return text.str.to_date("%Y-%m-%d", strict=False)
        return column.cast(pl.Date, strict=False)
    return column.cast(pl.String).str.strip_chars()


def _cast_errors(frame: pl.DataFrame, typed: pl.DataFrame, names: list[str]) -> list[FactError]:
    errors: list[FactError] = []
    for name in names:
        original = frame.get_column(name)
        # A typed column (Parquet, the database) whose cast lost nothing has no bad cells, and a
        # required one without nulls has no blanks either: skip the scan.
        lossless = original.dtype != pl.String and original.null_count() == typed[name].null_count()
        if lossless and (name not in REQUIRED or original.null_count() == 0):
            continue
        blank = original.is_null()
        if original.dtype == pl.String:
            blank = blank | (original.str.strip_chars() == "")
        bad = typed.get_column(name).is_null() & ~blank
        if name in REQUIRED:
            missing = blank
            for row in frame.filter(missing).get_column("__row").head(MAX_REPORTED).to_list():
                errors.append(FactError(row, name, "", "必填项为空", "a value is required"))
        rows = frame.filter(bad).select("__row", pl.col(name).cast(pl.String)).head(MAX_REPORTED)
        for row, value in rows.iter_rows():
            errors.append(
                FactError(
                    row,
                    name,
                    value,
                    "无法读取为该列的类型",
                    "cannot be read as this column's type",
                )
            )
    errors.sort(key=lambda e: (e.row, e.column))
    return errors[:MAX_REPORTED]


def _defaults(frame: pl.DataFrame) -> pl.DataFrame:
    fills: dict[str, pl.Expr] = {}
    for name in BOOLS:
        fills[name] = pl.col(name).fill_null(False) if name in frame.columns else pl.lit(False)
    for name in ("ip_class1", "ip_class2", "conversions"):
        fills[name] = (
            pl.col(name).fill_null(0) if name in frame.columns else pl.lit(0, dtype=pl.Int64)
        )
    for name in ("rd_expense_domestic", "rd_deductible"):
        source = (
            pl.col(name).fill_null(pl.col("rd_expense"))
            if name in frame.columns
            else pl.col("rd_expense")
        )
        fills[name] = source
    for name in ("total_costs", "total_assets", "net_assets", "hitech_revenue"):
        if name not in frame.columns:
            fills[name] = pl.lit(None, dtype=pl.Int64)
    for name in ("hitech_cert_year", "hitech_first_cert_year"):
        if name not in frame.columns:
            fills[name] = pl.lit(None, dtype=pl.Int64)
    for name in ("district_code", "sector", "tech_sme_number"):
        fills[name] = pl.col(name).fill_null("") if name in frame.columns else pl.lit("")
    return frame.with_columns(**fills)


def facts_frame_from_db(*, years: Iterable[int] | None = None) -> pl.DataFrame:
    """The registry's facts (enterprises with a USCC) in engine types."""
    from django.db.models import BigIntegerField, F
    from django.db.models.functions import Cast, Round

    from wotu.organisations.models import EnterpriseYear

    fields = [c.name for c in COLUMNS if c.name != "uscc"]
    queryset = EnterpriseYear.objects.filter(organisation__uscc__isnull=False)
    if years is not None:
        queryset = queryset.filter(year__in=sorted(set(years)))
    # Money comes out of the database as integer fen computed in SQL (exact: every stored
    # amount has at most 2 decimals and 15 significant digits), so no Decimal is built per cell.
    fen = {f"{name}__fen": Cast(Round(F(name) * 100), BigIntegerField()) for name in MONEY}
    names = [f"{name}__fen" if name in MONEY else name for name in fields]
    rows = list(
        queryset.annotate(**fen)
        .order_by("organisation__uscc", "year")
        .values_list("organisation__uscc", *names)
    )
    raw = pl.DataFrame(
        rows,
        schema={"uscc": pl.String, **{name: _db_type(name) for name in fields}},
        orient="row",
    )
    return facts_frame_normalise(raw, fen_columns=frozenset(MONEY))


def _db_type(name: str) -> pl.DataType:
    if name in MONEY:
        return pl.Int64()
    if name in BOOLS:
        return pl.Boolean()
    if name in COUNTS or name in YEARS:
        return pl.Int64()
    if name == "registered_on":
        return pl.Date()
    return pl.String()
