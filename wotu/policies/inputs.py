"""Facts as the engine reads them: a Polars frame in the engine's exact types.

Money columns become integer fen (Int64), booleans are never null, counts default to 0,
``rd_expense_domestic`` and ``rd_deductible`` default to ``rd_expense`` (the facts contract).
Columns outside the contract (e.g. ``innovation_score``) pass through unchanged.

Files are read with Polars directly — vectorised, so a million rows take seconds — and a cell
that does not parse is reported like the importer does: ``row N, column C, value V: reason``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
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
RAW = "__raw:"  # prefix of the original cells beside the cast ones
PROBLEM = "__problem"  # per row: a cell the typed Parquet pass cannot vouch for


class FactsInputError(ValueError):
    """The facts cannot be read: the file as a whole, or listed cells."""

    def __init__(self, zh: str, en: str, errors: list[FactError] | None = None) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
        self.errors = errors or []


def facts_frame_from_file(path: Path) -> pl.DataFrame:
    """Read a facts file (CSV, XLSX, Parquet) into engine types, every row validated.

    A Parquet file with typed columns is read and cast in one pass; anything that pass cannot
    vouch for goes through :func:`facts_frame_normalise`, which names each bad cell. Raises
    FactsInputError (bilingual) for an unreadable file, bad cells or a duplicated year."""
    try:
        fmt = table_format(path)
    except TableFileError as exc:
        raise FactsInputError(exc.zh, exc.en) from exc
    if not path.is_file():
        raise FactsInputError(f"找不到文件 {path}", f"file not found: {path}")
    try:
        if fmt == "parquet":
            typed = _parquet_typed(path)
            if typed is not None:
                return typed
            raw = pl.read_parquet(path)
        elif fmt == "csv":
            raw = pl.read_csv(path, infer_schema=False)
        else:
            raw = pl.read_excel(path, engine="openpyxl", infer_schema_length=0)
    except FactsInputError:
        raise
    except Exception as exc:
        raise FactsInputError(f"无法读取文件：{exc}", f"cannot read the file: {exc}") from exc
    return facts_frame_normalise(raw)


def facts_frame_normalise(
    raw: pl.DataFrame, *, fen_columns: frozenset[str] = frozenset()
) -> pl.DataFrame:
    """Cast a raw frame (strings or typed) to engine types; report every bad cell.

    ``fen_columns`` names money columns that already hold integer fen (from the database).
    Raises FactsInputError for a missing required column, unreadable or blank required cells
    (up to 50, by row) and a (USCC, year) pair given twice."""
    raw = raw.rename({name: name.replace("\ufeff", "").strip() for name in raw.columns})
    missing = [name for name in REQUIRED if name not in raw.columns]
    if missing:
        raise FactsInputError(
            f"缺少必填列：{', '.join(missing)}",
            f"required columns are missing: {', '.join(missing)}",
        )
    casts = {
        name: _cast(name, raw.schema.get(name), fen_columns) for name in _contract_present(raw)
    }
    typed = raw.with_columns(**casts)
    errors = _cast_errors(raw, typed, list(casts))
    if errors:
        raise FactsInputError(
            f"{len(errors)} 个单元格无法读取", f"{len(errors)} cells cannot be read", errors
        )
    typed = typed.with_columns(**_defaults(typed.columns))
    _duplicates_check(typed)
    return typed


def _parquet_typed(path: Path) -> pl.DataFrame | None:
    """A Parquet file whose columns are typed, read and cast in one pass; ``None`` when a
    cell may be unreadable or blank, or a column is text that needs parsing — then
    :func:`facts_frame_normalise` reads it again and reports each such cell by row.

    The same casts and defaults as :func:`facts_frame_normalise`, so the same frame; only the
    raw file is never held in memory beside the typed one (Parquet money arrives as 128-bit
    decimals). The pass flags, per row, a value the cast lost (a decimal too large for fen)
    and a blank required cell; such a file goes the slow way."""
    lazy = pl.scan_parquet(path)
    schema = lazy.collect_schema()
    names = {name: name.replace("\ufeff", "").strip() for name in schema.names()}
    lazy = lazy.rename(names)
    columns = list(names.values())
    present = [c.name for c in COLUMNS if c.name in columns]
    types = {names[name]: dtype for name, dtype in schema.items()}
    if any(name not in columns for name in REQUIRED) or any(
        types[name] == pl.String and name not in TEXT for name in present
    ):
        return None
    casts = {name: _cast(name, types[name], frozenset()) for name in present}
    problems = [
        casts[name].is_null() & pl.col(name).is_not_null()
        for name in present
        if not _cast_keeps_every_value(name, types[name])
    ]
    problems += [pl.col(name).is_null() for name in REQUIRED]
    problems += [casts[name] == "" for name in REQUIRED if name in TEXT]
    typed = (
        lazy.with_columns(**casts, **{PROBLEM: pl.any_horizontal(problems)})
        .with_columns(**_defaults(columns))
        .collect()
    )
    if typed.get_column(PROBLEM).any():
        return None
    typed = typed.drop(PROBLEM)
    _duplicates_check(typed)
    return typed


def _cast_keeps_every_value(name: str, dtype: pl.DataType) -> bool:
    """Whether casting a typed column of ``dtype`` to the engine's type cannot turn a value
    into null: text to text, a column already of the engine's type, or a decimal with at most
    2 places and few enough digits that its fen fit in Int64."""
    if name in MONEY:
        if not isinstance(dtype, pl.Decimal) or dtype.precision is None:
            return False
        scale = dtype.scale or 0
        return scale <= 2 and dtype.precision + 2 - scale <= 18
    if name in BOOLS:
        return dtype == pl.Boolean
    if name in COUNTS or name in YEARS:
        return dtype == pl.Int64
    if name == "registered_on":
        return dtype == pl.Date
    return True  # text: any value has a text form


def _duplicates_check(typed: pl.DataFrame) -> None:
    """Raise for the first (USCC, year) pair that occurs twice.

    A 64-bit hash of the pair rules duplicates out in one cheap pass; only when two rows share
    a hash (a duplicate, or very rarely a collision) are the pairs themselves compared."""
    key = pl.col("uscc").hash(seed=1) ^ pl.col("year").hash(seed=2)
    if typed.select(key.n_unique()).item() == typed.height:
        return
    duplicates = typed.with_row_index("__row", offset=2).filter(
        pl.struct("uscc", "year").is_duplicated()
    )
    if duplicates.height:
        row = duplicates.row(0, named=True)
        raise FactsInputError(
            f"第 {row['__row']} 行：统一社会信用代码 {row['uscc']} 的 {row['year']} 年度重复",
            f"row {row['__row']}: USCC {row['uscc']} has year {row['year']} more than once",
        )


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


def _cast_errors(raw: pl.DataFrame, typed: pl.DataFrame, names: list[str]) -> list[FactError]:
    """Every unreadable cell and blank required cell (the first 50 by row and column)."""
    suspects = _suspect_columns(raw, typed, names)
    if not suspects:
        return []
    frame = raw.with_row_index("__row", offset=2)
    errors: list[FactError] = []
    for name in suspects:
        original = frame.get_column(name)
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


def _suspect_columns(raw: pl.DataFrame, typed: pl.DataFrame, names: list[str]) -> list[str]:
    """The columns that may hold a bad or blank required cell, found in one pass.

    No scan at all for a typed column (Parquet, the database) whose cast lost nothing and, if
    required, holds no null (null counts are metadata); a text column cast to text cannot hold
    a bad cell, only a blank one when required. Every other column is checked cell by cell in
    one query and only the columns with a problem are scanned again for their rows."""
    checks: dict[str, pl.Expr] = {}
    for name in names:
        original, cast = raw.get_column(name), typed.get_column(name)
        required = name in REQUIRED
        if original.dtype != pl.String:
            if original.null_count() == cast.null_count() and not (
                required and original.null_count()
            ):
                continue
            checks[name] = pl.lit(True)
        elif cast.dtype == pl.String:
            if required:
                checks[name] = (pl.col(name).is_null() | (pl.col(name) == "")).any()
        else:
            blank = pl.col(RAW + name).is_null() | (pl.col(RAW + name).str.strip_chars() == "")
            unreadable = (pl.col(name).is_null() & ~blank).any()
            checks[name] = unreadable | blank.any() if required else unreadable
    if not checks:
        return []
    originals = raw.select(pl.col(name).alias(RAW + name) for name in checks)
    both = typed.select(list(checks)).hstack(originals)
    found = both.select(**checks).row(0)
    return [name for name, problem in zip(checks, found, strict=True) if problem]


def _defaults(columns: Collection[str]) -> dict[str, pl.Expr]:
    """The facts contract's defaults, for a frame with ``columns``: absent or null booleans
    are false, IP and conversion counts 0, domestic and deductible R&D the R&D expense, text
    empty; absent optional columns are added as nulls."""
    fills: dict[str, pl.Expr] = {}
    for name in BOOLS:
        fills[name] = pl.col(name).fill_null(False) if name in columns else pl.lit(False)
    for name in ("ip_class1", "ip_class2", "conversions"):
        fills[name] = pl.col(name).fill_null(0) if name in columns else pl.lit(0, dtype=pl.Int64)
    for name in ("rd_expense_domestic", "rd_deductible"):
        source = (
            pl.col(name).fill_null(pl.col("rd_expense"))
            if name in columns
            else pl.col("rd_expense")
        )
        fills[name] = source
    for name in ("total_costs", "total_assets", "net_assets", "hitech_revenue"):
        if name not in columns:
            fills[name] = pl.lit(None, dtype=pl.Int64)
    for name in ("hitech_cert_year", "hitech_first_cert_year"):
        if name not in columns:
            fills[name] = pl.lit(None, dtype=pl.Int64)
    for name in ("district_code", "sector", "tech_sme_number"):
        fills[name] = pl.col(name).fill_null("") if name in columns else pl.lit("")
    return fills


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
