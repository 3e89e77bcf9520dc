"""Importing and exporting facts files: all rows or none, idempotent, every format."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.conftest import make_uscc
from wotu.organisations.facts import EXPORT_COLUMNS
from wotu.organisations.facts_io import table_write
from wotu.organisations.models import EnterpriseYear, ImportBatch, Organisation
from wotu.organisations.selectors import facts_export_rows
from wotu.organisations.services import facts_import


def record(serial: int, year: int = 2023, **overrides: Any) -> list[Any]:
    values: dict[str, Any] = {
        "uscc": make_uscc(serial), "name": f"青岛测试{serial}号科技有限公司", "year": year,
        "district_code": "370212", "registered_on": dt.date(2012, 5, 20), "sector": "industrial",
        "manufacturing": True, "above_designated_size": False, "employees": 80, "st_staff": 20,
        "revenue": Decimal("12000000.00"), "total_costs": Decimal("10000000.00"),
        "total_assets": None, "net_assets": None, "rd_expense": Decimal("700000.00"),
        "rd_expense_domestic": None, "rd_deductible": Decimal("650000.00"),
        "hitech_revenue": None, "ip_class1": 0, "ip_class2": 3, "conversions": None,
        "hitech_cert_year": None, "hitech_first_cert_year": None,
        "tech_sme_number": f"{year}370212A{serial:07d}", "in_listing_pool": False,
        "listed": False, "incident": False,
    }  # fmt: skip
    values.update(overrides)
    return [values[name] for name, _ in EXPORT_COLUMNS]


def write(path: Path, rows: list[list[Any]]) -> Path:
    table_write(path, columns=EXPORT_COLUMNS, rows=rows)
    return path


def snapshot() -> list[tuple[Any, ...]]:
    return list(EnterpriseYear.objects.order_by("id").values_list("id", "updated_at", "revenue"))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_a_valid_file_in_each_format_creates_organisations_and_years(
    db: None, tmp_path: Path, suffix: str
) -> None:
    path = write(tmp_path / f"facts{suffix}", [record(1), record(1, 2022), record(2)])

    result = facts_import(path=path)

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert Organisation.objects.count() == 2
    haichuan = Organisation.objects.get(uscc=make_uscc(1))
    assert list(haichuan.years.values_list("year", "revenue")) == [
        (2022, Decimal("12000000.00")),
        (2023, Decimal("12000000.00")),
    ]


def test_importing_the_same_file_twice_changes_nothing(db: None, tmp_path: Path) -> None:
    path = write(tmp_path / "facts.csv", [record(1), record(2)])
    facts_import(path=path)
    before = snapshot()

    again = facts_import(path=path)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert snapshot() == before
    assert again.batch_id is None
    assert ImportBatch.objects.count() == 1


def test_a_corrected_file_updates_only_the_changed_rows(db: None, tmp_path: Path) -> None:
    facts_import(path=write(tmp_path / "v1.csv", [record(1), record(2)]))
    before = dict((r[0], r[1]) for r in snapshot())

    result = facts_import(
        path=write(tmp_path / "v2.csv", [record(1), record(2, revenue=Decimal("13000000.50"))])
    )

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    changed = EnterpriseYear.objects.get(organisation__uscc=make_uscc(2))
    assert changed.revenue == Decimal("13000000.50")
    untouched = EnterpriseYear.objects.get(organisation__uscc=make_uscc(1))
    assert untouched.updated_at == before[untouched.pk]


def test_one_bad_row_among_many_saves_nothing(db: None, tmp_path: Path) -> None:
    rows = [record(n) for n in range(1, 50)]
    rows[30] = record(31, revenue=Decimal("-1.00"))

    result = facts_import(path=write(tmp_path / "facts.csv", rows))

    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(32, "revenue")]
    assert EnterpriseYear.objects.count() == 0
    assert Organisation.objects.count() == 0
    assert ImportBatch.objects.count() == 0


def test_a_file_that_is_not_utf8_is_refused_with_advice(db: None, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("uscc,name\n1,青岛\n".encode("gbk"))

    result = facts_import(path=path)

    assert result.file_error is not None
    assert "UTF-8" in result.file_error[1]


@pytest.mark.parametrize("name", ["facts.txt", "facts"])
def test_an_unsupported_extension_is_refused(db: None, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("uscc\n")

    result = facts_import(path=path)

    assert result.file_error is not None
    assert ".csv" in result.file_error[1]


def test_a_corrupt_xlsx_is_refused_not_a_traceback(db: None, tmp_path: Path) -> None:
    path = tmp_path / "facts.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")

    result = facts_import(path=path)

    assert result.file_error is not None


def test_an_older_year_does_not_overwrite_the_current_name(db: None, tmp_path: Path) -> None:
    facts_import(path=write(tmp_path / "2023.csv", [record(1, 2023, name="新名称有限公司")]))

    facts_import(path=write(tmp_path / "2021.csv", [record(1, 2021, name="旧名称有限公司")]))

    assert Organisation.objects.get(uscc=make_uscc(1)).name == "新名称有限公司"
    assert EnterpriseYear.objects.get(year=2021).name == "旧名称有限公司"


def test_columns_missing_from_a_file_keep_the_registry_values(db: None, tmp_path: Path) -> None:
    facts_import(path=write(tmp_path / "full.csv", [record(1)]))
    narrow = tmp_path / "narrow.csv"
    pl.DataFrame(
        {
            "uscc": [make_uscc(1)],
            "name": ["青岛测试1号科技有限公司"],
            "year": [2023],
            "registered_on": ["2012-05-20"],
            "employees": [90],
            "st_staff": [20],
            "revenue": ["12000000.00"],
            "rd_expense": ["700000.00"],
        }
    ).write_csv(narrow)

    result = facts_import(path=narrow)

    assert result.updated == 1
    row = EnterpriseYear.objects.get()
    assert row.employees == 90
    assert row.rd_deductible == Decimal("650000.00")
    assert row.tech_sme_number == "2023370212A0000001"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_export_writes_back_what_was_imported(db: None, tmp_path: Path, suffix: str) -> None:
    rows = [record(2), record(1, hitech_cert_year=2022, hitech_first_cert_year=2019)]
    facts_import(path=write(tmp_path / "in.csv", rows))

    call_command("export", "facts", "--year", "2023", "--out", str(tmp_path / f"out{suffix}"))

    exported = facts_import(path=tmp_path / f"out{suffix}")
    assert (exported.created, exported.updated, exported.unchanged) == (0, 0, 2)
    assert [r[0] for r in facts_export_rows(user=None, year=2023)] == sorted(
        [make_uscc(1), make_uscc(2)]
    )


def test_the_exported_csv_has_exactly_the_contract_columns(db: None, tmp_path: Path) -> None:
    facts_import(path=write(tmp_path / "in.csv", [record(1)]))
    out = tmp_path / "out.csv"

    call_command("export", "facts", "--year", "2023", "--out", str(out))

    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == [name for name, _ in EXPORT_COLUMNS]


def test_the_import_command_prints_every_error_in_both_languages(
    db: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "bad.csv", [record(1, st_staff=81), record(2, sector="farming")])

    with pytest.raises(CommandError, match="2 problems, nothing was imported"):
        call_command("import", "facts", str(path), "--quiet")

    err = capsys.readouterr().err
    assert "row 2, column st_staff, value 81: S&T staff cannot exceed the 80 employees" in err
    assert "第 2 行，列 st_staff，值 81：科技人员数不得超过职工总数 80" in err
    assert "row 3, column sector, value farming: unknown sector" in err
    assert EnterpriseYear.objects.count() == 0


def test_the_import_command_reports_counts(
    db: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "good.csv", [record(1), record(2)])

    call_command("import", "facts", str(path), "--quiet")

    assert "imported 2 rows: 2 created, 0 updated, 0 unchanged" in capsys.readouterr().out


def test_the_import_command_names_a_missing_file(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="file not found"):
        call_command("import", "facts", str(tmp_path / "nope.csv"))


money = st.decimals(min_value=0, max_value=Decimal("1e12"), places=2, allow_nan=False)


@st.composite
def valid_rows(draw: st.DrawFn) -> list[list[Any]]:
    count = draw(st.integers(min_value=1, max_value=6))
    rows = []
    for serial in range(1, count + 1):
        employees = draw(st.integers(min_value=0, max_value=10_000))
        rd = draw(money)
        revenue = draw(money)
        rows.append(
            record(
                serial,
                draw(st.integers(min_value=2013, max_value=2025)),
                employees=employees,
                st_staff=draw(st.integers(min_value=0, max_value=employees)),
                revenue=revenue,
                rd_expense=rd,
                rd_expense_domestic=draw(st.none() | st.just(rd)),
                hitech_revenue=draw(st.none() | st.just(revenue)),
                tech_sme_number=draw(st.sampled_from(["", "2023370212A0000009"])),
                listed=draw(st.booleans()),
            )
        )
    return rows


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=valid_rows(), suffix=st.sampled_from([".csv", ".xlsx", ".parquet"]))
def test_any_valid_file_imports_and_reimports_as_unchanged(
    db: None, tmp_path: Path, rows: list[list[Any]], suffix: str
) -> None:
    EnterpriseYear.objects.all().delete()
    path = write(tmp_path / f"h{suffix}", rows)

    first = facts_import(path=path)
    second = facts_import(path=path)

    assert first.ok, first.errors
    assert first.created == len(rows)
    assert (second.created, second.updated, second.unchanged) == (0, 0, len(rows))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=valid_rows(),
    column=st.sampled_from(["uscc", "year", "employees", "revenue", "registered_on", "sector"]),
    data=st.data(),
)
def test_any_single_bad_cell_rejects_the_whole_file(
    db: None, tmp_path: Path, rows: list[list[Any]], column: str, data: st.DataObject
) -> None:
    EnterpriseYear.objects.all().delete()
    bad = {"uscc": "91370212000000000X", "year": "20x3", "employees": "-1", "revenue": "abc",
           "registered_on": "2020-13-01", "sector": "mining"}[column]  # fmt: skip
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    position = [name for name, _ in EXPORT_COLUMNS].index(column)
    broken = [list(r) for r in rows]
    broken[index][position] = bad
    path = tmp_path / "bad.csv"
    pl.DataFrame(
        {
            name: [None if r[i] is None else str(r[i]) for r in broken]
            for i, (name, _) in enumerate(EXPORT_COLUMNS)
        }
    ).write_csv(path)

    result = facts_import(path=path)

    assert (index + 2, column) in [(e.row, e.column) for e in result.errors]
    assert EnterpriseYear.objects.count() == 0


def test_facts_for_a_uscc_registered_as_a_bank_are_refused(
    db: None, tmp_path: Path, laoshan_bank: Organisation
) -> None:
    assert laoshan_bank.uscc is not None
    path = write(tmp_path / "facts.csv", [record(7), record(8, uscc=laoshan_bank.uscc)])

    result = facts_import(path=path)

    assert [(e.row, e.column) for e in result.errors] == [(3, "uscc")]
    assert "not an enterprise" in result.errors[0].en
    assert EnterpriseYear.objects.count() == 0
    laoshan_bank.refresh_from_db()
    assert laoshan_bank.name == "崂山农商银行"
