"""The facts contract's validation, as a table: each bad cell gives one clear, bilingual error."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from wotu.conftest import make_uscc
from wotu.organisations.facts import COLUMN_NAMES, facts_validate
from wotu.organisations.facts_io import Table

TODAY = dt.date(2026, 11, 26)
GOOD: dict[str, Any] = {
    "uscc": make_uscc(42), "name": "青岛海川智能装备有限公司", "year": "2023",
    "district_code": "370212", "registered_on": "2016-04-18", "sector": "industrial",
    "manufacturing": "true", "above_designated_size": "1", "employees": "180", "st_staff": "45",
    "revenue": "62000000.00", "total_costs": "55000000", "total_assets": "80000000",
    "net_assets": "41000000", "rd_expense": "2500000", "rd_expense_domestic": "2400000",
    "rd_deductible": "2300000", "hitech_revenue": "40000000", "ip_class1": "2", "ip_class2": "7",
    "conversions": "3", "hitech_cert_year": "2022", "hitech_first_cert_year": "2019",
    "tech_sme_number": "2023370212A0001234", "in_listing_pool": "false", "listed": "否",
    "incident": "",
}  # fmt: skip


def table_of(*rows: dict[str, Any], header: list[str] | None = None) -> Table:
    names = header or list(COLUMN_NAMES)
    return Table(
        header=names,
        columns={name: [row.get(name) for row in rows] for name in names},
        height=len(rows),
    )


def errors_of(*rows: dict[str, Any], header: list[str] | None = None) -> list[tuple[int, str, str]]:
    result = facts_validate(table_of(*rows, header=header), today=TODAY)
    return [(e.row, e.column, e.value) for e in result.errors]


def test_a_good_row_is_parsed_into_typed_values() -> None:
    result = facts_validate(table_of(GOOD), today=TODAY)

    assert result.errors == []
    record = result.records[0]
    assert record["year"] == 2023
    assert record["revenue"] == Decimal("62000000.00")
    assert record["registered_on"] == dt.date(2016, 4, 18)
    assert record["above_designated_size"] is True
    assert record["listed"] is False
    assert record["incident"] is False


BAD_CELLS = [
    # (column, bad value, words the English reason must contain)
    ("uscc", "91370212MA3C0000X1", "check character"),
    ("uscc", "9137021200000010", "18 characters"),
    ("uscc", "91370212OOOOOOOOO1", "not allowed"),
    ("year", "二〇二三", "4-digit"),
    ("year", "1800", "within"),
    ("district_code", "3702", "6 digits"),
    ("registered_on", "2016-02-30", "no such date"),
    ("registered_on", "18/04/2016", "YYYY-MM-DD"),
    ("registered_on", "2027-01-01", "future"),
    ("registered_on", "2024-01-01", "after the fiscal year"),
    ("sector", "agriculture", "unknown sector"),
    ("manufacturing", "maybe", "true or false"),
    ("employees", "12.5", "whole number"),
    ("employees", "-3", "negative"),
    ("st_staff", "181", "cannot exceed"),
    ("revenue", "-1", "negative"),
    ("revenue", "lots", "amount"),
    ("total_assets", "-0.01", "negative"),
    ("rd_expense", "-100", "negative"),
    ("rd_expense_domestic", "2500000.01", "cannot exceed"),
    ("hitech_revenue", "62000000.01", "cannot exceed"),
    ("ip_class1", "two", "whole number"),
    ("hitech_cert_year", "2020", "valid 3 years"),
    ("hitech_cert_year", "2024", "valid 3 years"),
    ("hitech_first_cert_year", "2023", "later than the certificate year"),
    ("name", "", "required"),
    ("revenue", "", "required"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_CELLS)
def test_each_bad_cell_is_reported_with_row_column_value_and_reason(
    column: str, value: str, reason: str
) -> None:
    row = GOOD | {"uscc": make_uscc(43)} | {column: value}

    result = facts_validate(table_of(GOOD, row), today=TODAY)

    assert [(e.row, e.column, e.value) for e in result.errors] == [(3, column, value)]
    error = result.errors[0]
    assert reason in error.en
    assert error.zh and error.zh != error.en
    assert error.text_en().startswith(f"row 3, column {column}, value ")
    assert error.text_zh().startswith(f"第 3 行，列 {column}，值 ")
    assert result.records == []


def test_duplicate_uscc_and_year_names_the_first_occurrence() -> None:
    result = facts_validate(table_of(GOOD, GOOD | {"name": "other"}, GOOD), today=TODAY)

    assert [(e.row, e.column) for e in result.errors] == [(3, "year"), (4, "year")]
    assert "row 2" in result.errors[0].en


def test_a_registration_date_that_changes_between_years_is_refused() -> None:
    later = GOOD | {"year": "2022", "hitech_cert_year": "2022", "registered_on": "2016-04-19"}

    assert errors_of(GOOD, later) == [(3, "registered_on", "2016-04-19")]


def test_every_missing_required_column_is_reported_on_the_header_row() -> None:
    header = [n for n in COLUMN_NAMES if n not in {"revenue", "st_staff"}]

    assert errors_of(GOOD, header=header) == [(1, "st_staff", ""), (1, "revenue", "")]


def test_missing_optional_columns_take_the_contract_defaults() -> None:
    header = ["uscc", "name", "year", "registered_on", "employees", "st_staff", "revenue",
              "rd_expense"]  # fmt: skip

    result = facts_validate(table_of(GOOD, header=header), today=TODAY)

    assert result.errors == []
    record = result.records[0]
    assert record["rd_expense_domestic"] is None
    assert record["in_listing_pool"] is False
    assert record["tech_sme_number"] == ""


def test_unknown_columns_are_ignored_with_a_warning() -> None:
    header = [*COLUMN_NAMES, "innovation_score"]

    result = facts_validate(table_of(GOOD, header=header), today=TODAY)

    assert result.errors == []
    assert any("innovation_score" in en for _, en in result.warnings)


def test_a_file_without_data_rows_is_an_error() -> None:
    assert errors_of() == [(2, "", "")]


def test_all_problems_of_a_file_are_reported_together_in_row_order() -> None:
    rows = [GOOD | {"revenue": "-5"}, GOOD | {"uscc": "X"}, GOOD | {"employees": "", "year": "x"}]

    assert errors_of(*rows) == [
        (2, "revenue", "-5"),
        (3, "uscc", "X"),
        (4, "year", "x"),
        (4, "employees", ""),
    ]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("1234.565", Decimal("1234.57")),
        ("1234.564", Decimal("1234.56")),
        ("1,234,567.8", Decimal("1234567.80")),
        (1234.5, Decimal("1234.50")),
        (0.1 + 0.2, Decimal("0.30")),
        (Decimal("9.995"), Decimal("10.00")),
    ],
)
def test_money_is_rounded_half_up_to_the_fen(written: Any, stored: Decimal) -> None:
    result = facts_validate(
        table_of(GOOD | {"revenue": written, "hitech_revenue": None}), today=TODAY
    )

    assert result.records[0]["revenue"] == stored


def test_typed_cells_from_excel_and_parquet_are_accepted() -> None:
    typed = GOOD | {
        "year": 2023, "registered_on": dt.datetime(2016, 4, 18), "employees": 180.0,
        "manufacturing": True, "revenue": 62000000, "hitech_cert_year": 2022.0,
        "district_code": 370212,
    }  # fmt: skip

    result = facts_validate(table_of(typed), today=TODAY)

    assert result.errors == []
    assert result.records[0]["district_code"] == "370212"


def test_lower_case_uscc_is_read_as_upper_case() -> None:
    result = facts_validate(table_of(GOOD | {"uscc": GOOD["uscc"].lower()}), today=TODAY)

    assert result.records[0]["uscc"] == GOOD["uscc"]
