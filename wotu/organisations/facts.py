"""The enterprise-year facts contract (design.md): columns, parsing and validation.

Validation never raises on bad data. It returns every problem it finds as a
:class:`FactError` — spreadsheet row (header = row 1), column, the value as written, and the
reason in Chinese and English — so a user can fix a whole file in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from wotu.core.money import round_fen
from wotu.organisations.facts_io import Table
from wotu.organisations.uscc import uscc_problem

# 15 significant digits: what SQLite keeps exactly (it stores decimals as REAL); 10 trillion
# CNY is far above any enterprise's figures.
MONEY_LIMIT = Decimal("1e13")
MIN_YEAR, MAX_YEAR = 1949, 2100


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str, int, money, bool, date, year, sector, district, uscc, year_or_empty
    required: bool = False
    zh: str = ""


# The contract, in its order. Export writes exactly these columns in this order.
COLUMNS: tuple[Column, ...] = (
    Column("uscc", "uscc", True, "统一社会信用代码"),
    Column("name", "str", True, "名称"),
    Column("year", "year", True, "年度"),
    Column("district_code", "district", False, "区划代码"),
    Column("registered_on", "date", True, "注册日期"),
    Column("sector", "sector", False, "行业类别"),
    Column("manufacturing", "bool", False, "制造业"),
    Column("above_designated_size", "bool", False, "规模以上"),
    Column("employees", "int", True, "职工总数"),
    Column("st_staff", "int", True, "科技人员数"),
    Column("revenue", "money", True, "销售收入"),
    Column("total_costs", "money", False, "成本费用总额"),
    Column("total_assets", "money", False, "资产总额"),
    Column("net_assets", "money", False, "净资产"),
    Column("rd_expense", "money", True, "研发费用"),
    Column("rd_expense_domestic", "money", False, "境内研发费用"),
    Column("rd_deductible", "money", False, "可加计扣除研发费用"),
    Column("hitech_revenue", "money", False, "高新技术产品（服务）收入"),
    Column("ip_class1", "int", False, "I 类知识产权"),
    Column("ip_class2", "int", False, "II 类知识产权"),
    Column("conversions", "int", False, "成果转化数"),
    Column("hitech_cert_year", "year_or_empty", False, "高企证书年度"),
    Column("hitech_first_cert_year", "year_or_empty", False, "首次认定年度"),
    Column("tech_sme_number", "str", False, "科技型中小企业入库登记编号"),
    Column("in_listing_pool", "bool", False, "上市培育库"),
    Column("listed", "bool", False, "已上市"),
    Column("incident", "bool", False, "重大事故"),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
BY_NAME = {c.name: c for c in COLUMNS}
WRITE_KINDS = {
    "uscc": "str", "str": "str", "year": "int", "district": "str", "date": "date",
    "sector": "str", "bool": "bool", "int": "int", "money": "money", "year_or_empty": "int",
}  # fmt: skip
EXPORT_COLUMNS = tuple((c.name, WRITE_KINDS[c.kind]) for c in COLUMNS)

SECTORS = {"industrial": "industrial", "service": "service", "other": "other",
           "工业": "industrial", "服务业": "service", "其他": "other"}  # fmt: skip
TRUE_WORDS = {"true", "1", "yes", "y", "t", "是", "√"}
FALSE_WORDS = {"false", "0", "no", "n", "f", "否"}


@dataclass(frozen=True)
class FactError:
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


@dataclass
class Validated:
    """Clean records (dicts keyed by column name, contract defaults not yet applied)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[FactError] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    present: frozenset[str] = frozenset()


class _Bad(Exception):
    def __init__(self, zh: str, en: str) -> None:
        self.zh = zh
        self.en = en


def show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_str(value: Any) -> str:
    text = show(value).strip()
    if len(text) > 200:
        raise _Bad("过长（最多 200 个字符）", "too long (at most 200 characters)")
    return text


def _parse_uscc(value: Any) -> str:
    code = show(value).strip().upper()
    problem = uscc_problem(code)
    if problem:
        raise _Bad(*problem)
    return code


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad("应为整数", "must be a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        if value != int(value):
            raise _Bad("应为整数", "must be a whole number")
        number = int(value)
    else:
        text = str(value).strip().replace(",", "")
        if not re.fullmatch(r"[+-]?\d+(\.0+)?", text):
            raise _Bad("应为整数", "must be a whole number")
        number = int(Decimal(text))
    if number < 0:
        raise _Bad("不得为负数", "must not be negative")
    if number > 2_000_000_000:
        raise _Bad("数值过大", "is too large")
    return number


def _parse_year(value: Any) -> int:
    try:
        year = _parse_int(value)
    except _Bad as bad:
        raise _Bad(
            "年度应为四位整数，如 2023", "a year must be a 4-digit number such as 2023"
        ) from bad
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _Bad(
            f"年度应在 {MIN_YEAR}–{MAX_YEAR} 之间", f"the year must be within {MIN_YEAR}–{MAX_YEAR}"
        )
    return year


def _parse_money(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Bad("应为金额（元）", "must be an amount in CNY")
    try:
        if isinstance(value, float):
            amount = Decimal(repr(value))
        elif isinstance(value, int | Decimal):
            amount = Decimal(value)
        else:
            text = str(value).strip().replace(",", "").replace("¥", "").replace("￥", "")
            amount = Decimal(text)
    except InvalidOperation as exc:
        raise _Bad(
            "应为金额（元），如 1234567.89", "must be an amount in CNY, such as 1234567.89"
        ) from exc
    if not amount.is_finite():
        raise _Bad("应为金额（元），如 1234567.89", "must be an amount in CNY, such as 1234567.89")
    if amount < 0:
        raise _Bad("金额不得为负数", "money must not be negative")
    if amount >= MONEY_LIMIT:
        raise _Bad("金额过大（须小于 10 万亿元）", "too large: must be below 10 trillion CNY")
    return round_fen(amount)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _Bad("应为 true 或 false（也可写 1/0、是/否）", "must be true or false (or 1/0, yes/no)")


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if not match:
        raise _Bad("日期格式应为 YYYY-MM-DD", "a date must be written YYYY-MM-DD")
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        raise _Bad("不存在的日期", "no such date") from exc


def _parse_sector(value: Any) -> str:
    text = str(value).strip()
    sector = SECTORS.get(text.lower()) or SECTORS.get(text)
    if sector is None:
        raise _Bad(
            "未知行业类别：应为 industrial、service 或 other",
            "unknown sector: use industrial, service or other",
        )
    return sector


def _parse_district(value: Any) -> str:
    text = show(value).strip()
    if not re.fullmatch(r"\d{6}", text):
        raise _Bad("区划代码应为 6 位数字", "a district code has 6 digits")
    return text


PARSERS: dict[str, Callable[[Any], Any]] = {
    "uscc": _parse_uscc, "str": _parse_str, "year": _parse_year, "year_or_empty": _parse_year,
    "district": _parse_district, "date": _parse_date, "sector": _parse_sector,
    "bool": _parse_bool, "int": _parse_int, "money": _parse_money,
}  # fmt: skip
EMPTY: dict[str, Any] = {"str": "", "district": "", "sector": "", "bool": False}


def facts_validate(table: Table, *, today: dt.date | None = None) -> Validated:
    """Parse and check a table against the facts contract; collect every problem."""
    result = Validated(present=frozenset(n for n in table.header if n in BY_NAME))
    _check_header(table, result)
    if result.errors:
        return result
    if table.height == 0:
        result.errors.append(FactError(2, "", "", "文件中没有数据行", "the file has no data rows"))
        return result
    records: list[dict[str, Any]] = [{} for _ in range(table.height)]
    row_ok = [True] * table.height
    for column in COLUMNS:
        values = table.columns.get(column.name)
        if values is None:
            empty = EMPTY.get(column.kind)
            for record in records:
                record[column.name] = empty
            continue
        _parse_column(column, values, records, row_ok, result.errors)
    _check_rows(records, row_ok, result.errors, today or dt.date.today())
    if not result.errors:
        result.records = records
    result.errors.sort(
        key=lambda e: (e.row, COLUMN_NAMES.index(e.column) if e.column in BY_NAME else -1)
    )
    return result


def _check_header(table: Table, result: Validated) -> None:
    seen: set[str] = set()
    for name in table.header:
        if name in seen:
            result.errors.append(FactError(1, name, name, "列名重复", "the column appears twice"))
        seen.add(name)
        if name and name not in BY_NAME:
            result.warnings.append(
                (
                    f"未识别的列 {name} 已忽略",
                    f"column {name} is not part of the contract and was ignored",
                )
            )
    for column in COLUMNS:
        if column.required and column.name not in seen:
            result.errors.append(
                FactError(
                    1,
                    column.name,
                    "",
                    f"缺少必填列 {column.name}（{column.zh}）",
                    f"the required column {column.name} is missing",
                )
            )


def _parse_column(
    column: Column,
    values: list[Any],
    records: list[dict[str, Any]],
    row_ok: list[bool],
    errors: list[FactError],
) -> None:
    parse = PARSERS[column.kind]
    empty = EMPTY.get(column.kind)
    for index, value in enumerate(values):
        if value is None or (isinstance(value, str) and not value.strip()):
            if column.required:
                errors.append(
                    FactError(index + 2, column.name, "", "必填项为空", "a value is required")
                )
                row_ok[index] = False
            records[index][column.name] = empty
            continue
        try:
            records[index][column.name] = parse(value)
        except _Bad as bad:
            errors.append(FactError(index + 2, column.name, show(value), bad.zh, bad.en))
            records[index][column.name] = None
            row_ok[index] = False


def _check_rows(
    records: list[dict[str, Any]], row_ok: list[bool], errors: list[FactError], today: dt.date
) -> None:
    first_row: dict[tuple[str, int], int] = {}
    registration: dict[str, tuple[dt.date, int]] = {}
    for index, record in enumerate(records):
        if not row_ok[index]:
            continue
        row = index + 2
        for problem in _row_problems(record, today):
            errors.append(FactError(row, *problem))
        key = (record["uscc"], record["year"])
        if key in first_row:
            errors.append(
                FactError(
                    row,
                    "year",
                    str(record["year"]),
                    f"重复：统一社会信用代码 {key[0]} 的 {key[1]} 年度"
                    f"已在第 {first_row[key]} 行出现",
                    f"duplicate: USCC {key[0]} already has year {key[1]} on row {first_row[key]}",
                )
            )
        else:
            first_row[key] = row
        registered = record["registered_on"]
        earlier = registration.setdefault(record["uscc"], (registered, row))
        if earlier[0] != registered:
            errors.append(
                FactError(
                    row,
                    "registered_on",
                    registered.isoformat(),
                    f"与第 {earlier[1]} 行的注册日期 {earlier[0].isoformat()} 不一致",
                    f"differs from the registration date {earlier[0].isoformat()}"
                    f" on row {earlier[1]}",
                )
            )


def _row_problems(record: dict[str, Any], today: dt.date) -> list[tuple[str, str, str, str]]:
    problems = []
    year = record["year"]
    if record["st_staff"] > record["employees"]:
        problems.append(
            (
                "st_staff",
                str(record["st_staff"]),
                f"科技人员数不得超过职工总数 {record['employees']}",
                f"S&T staff cannot exceed the {record['employees']} employees",
            )
        )
    domestic = record.get("rd_expense_domestic")
    if domestic is not None and domestic > record["rd_expense"]:
        problems.append(
            (
                "rd_expense_domestic",
                str(domestic),
                f"境内研发费用不得超过研发费用 {record['rd_expense']}",
                f"domestic R&D cannot exceed the R&D expense {record['rd_expense']}",
            )
        )
    hitech = record.get("hitech_revenue")
    if hitech is not None and hitech > record["revenue"]:
        problems.append(
            (
                "hitech_revenue",
                str(hitech),
                f"高新技术产品（服务）收入不得超过销售收入 {record['revenue']}",
                f"high-tech revenue cannot exceed the revenue {record['revenue']}",
            )
        )
    registered = record["registered_on"]
    if registered > today:
        problems.append(
            (
                "registered_on",
                registered.isoformat(),
                "注册日期不能晚于今天",
                "the registration date cannot be in the future",
            )
        )
    elif registered.year > year:
        problems.append(
            (
                "registered_on",
                registered.isoformat(),
                f"注册日期晚于该行的年度 {year}",
                f"registered after the fiscal year {year} of this row",
            )
        )
    cert, first = record.get("hitech_cert_year"), record.get("hitech_first_cert_year")
    if cert is not None and not year - 2 <= cert <= year:
        problems.append(
            (
                "hitech_cert_year",
                str(cert),
                f"高企证书有效期 3 年：{year} 年度有效的证书应在 {year - 2}–{year} 年颁发",
                f"a high-tech certificate is valid 3 years: one valid in {year}"
                f" was issued in {year - 2}–{year}",
            )
        )
    if first is not None and first > year:
        problems.append(
            (
                "hitech_first_cert_year",
                str(first),
                f"首次认定年度晚于该行的年度 {year}",
                f"the first certification is later than the fiscal year {year}",
            )
        )
    elif first is not None and cert is not None and first > cert:
        problems.append(
            (
                "hitech_first_cert_year",
                str(first),
                f"首次认定年度不得晚于证书年度 {cert}",
                f"the first certification cannot be later than the certificate year {cert}",
            )
        )
    return problems
