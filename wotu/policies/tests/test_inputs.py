"""Facts as the engine reads them: the same numbers from a file, posted rows or the registry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from wotu.organisations.models import Organisation
from wotu.organisations.services import facts_import
from wotu.policies.inputs import FactsInputError, facts_frame_from_db, facts_frame_from_file
from wotu.policies.tests.test_specs import spec_frame


@pytest.mark.parametrize(
    ("written", "fen"),
    [("1234.445", 123445), ("0.125", 13), ("0.124", 12), ("1,000.005", 100001), ("7", 700)],
)
def test_money_with_more_than_two_decimals_rounds_half_up_like_the_importer(
    written: str, fen: int
) -> None:
    frame = spec_frame([{"uscc": "A", "year": 2023, "revenue": written}])

    assert frame["revenue"].item() == fen


def test_a_cell_that_is_not_money_is_reported_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "facts.csv"
    pl.DataFrame(
        {
            "uscc": ["A", "B"],
            "name": ["甲", "乙"],
            "year": ["2023", "2023"],
            "registered_on": ["2010-01-01", "2010-01-01"],
            "employees": ["1", "1"],
            "st_staff": ["0", "0"],
            "revenue": ["10", "lots"],
            "rd_expense": ["0", "0"],
        }
    ).write_csv(path)

    with pytest.raises(FactsInputError) as caught:
        facts_frame_from_file(path)

    assert [(e.row, e.column, e.value) for e in caught.value.errors] == [(3, "revenue", "lots")]


def test_the_registry_gives_the_same_frame_as_the_file_it_was_imported_from(
    db: None, tmp_path: Path
) -> None:
    from wotu.organisations.synth import city_generate, city_write

    path = tmp_path / "city.csv"
    city_write(
        rows=city_generate(enterprises=60, first_year=2021, last_year=2023, seed=5), path=path
    )
    assert facts_import(path=path).ok
    assert Organisation.objects.count() >= 60

    from_file = facts_frame_from_file(path).sort("uscc", "year")
    from_db = facts_frame_from_db().sort("uscc", "year")

    shared = [c for c in from_file.columns if c in from_db.columns]
    assert from_db.select(shared).equals(from_file.select(shared))


def test_csv_xlsx_and_parquet_files_give_the_same_frame(tmp_path: Path) -> None:
    from wotu.organisations.synth import city_generate, city_write

    rows = city_generate(enterprises=40, first_year=2022, last_year=2023, seed=9)
    frames = []
    for suffix in (".csv", ".xlsx", ".parquet"):
        path = tmp_path / f"city{suffix}"
        city_write(rows=rows, path=path)
        frames.append(facts_frame_from_file(path).sort("uscc", "year"))

    assert frames[0].equals(frames[2])
    assert frames[0].equals(frames[1])


def typed_facts(**changes: pl.Series) -> pl.DataFrame:
    """Two enterprise-years as a typed Parquet holds them (money Decimal(20, 2))."""
    frame = pl.DataFrame(
        {
            "uscc": ["A", "B"],
            "name": ["甲", "乙"],
            "year": [2023, 2023],
            "registered_on": [dt.date(2010, 1, 1), dt.date(2012, 5, 6)],
            "employees": [10, 20],
            "st_staff": [1, 2],
            "revenue": [Decimal("1000.05"), Decimal("2000.00")],
            "rd_expense": [Decimal("100.00"), Decimal("0.10")],
        },
        schema_overrides={"revenue": pl.Decimal(20, 2), "rd_expense": pl.Decimal(20, 2)},
    )
    return frame.with_columns(**changes)


def test_a_typed_parquet_gives_the_same_frame_as_the_same_cells_written_as_text(
    tmp_path: Path,
) -> None:
    typed, text = tmp_path / "typed.parquet", tmp_path / "text.parquet"
    frame = typed_facts(name=pl.Series([" 甲 ", "乙"]))
    frame.write_parquet(typed)
    frame.select(pl.all().cast(pl.String)).write_parquet(text)

    from_typed = facts_frame_from_file(typed)

    assert from_typed.equals(facts_frame_from_file(text))
    assert from_typed["revenue"].to_list() == [100005, 200000]
    assert from_typed["name"].to_list() == ["甲", "乙"]


def test_a_blank_required_cell_in_a_typed_parquet_is_reported_with_its_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "facts.parquet"
    typed_facts(employees=pl.Series([10, None]), name=pl.Series(["甲", "  "])).write_parquet(path)

    with pytest.raises(FactsInputError) as caught:
        facts_frame_from_file(path)

    assert [(e.row, e.column) for e in caught.value.errors] == [(3, "employees"), (3, "name")]


def test_a_parquet_amount_too_large_to_count_in_fen_is_reported_not_wrapped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "facts.parquet"
    huge = pl.Series([Decimal("1.00"), Decimal("99999999999999999.99")], dtype=pl.Decimal(20, 2))
    typed_facts(revenue=huge).write_parquet(path)

    with pytest.raises(FactsInputError) as caught:
        facts_frame_from_file(path)

    assert [(e.row, e.column, e.value) for e in caught.value.errors] == [
        (3, "revenue", "99999999999999999.99")
    ]


def test_a_year_given_twice_for_an_enterprise_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = tmp_path / "facts.parquet"
    typed_facts(uscc=pl.Series(["A", "A"])).write_parquet(path)

    with pytest.raises(FactsInputError, match="row 2: USCC A has year 2023 more than once"):
        facts_frame_from_file(path)
