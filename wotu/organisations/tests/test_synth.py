"""The synthetic city: deterministic, accepted by the importer, believable, and with
qualifications that follow the rules (policy-facts §1–2)."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wotu.core.errors import WotuError
from wotu.organisations.facts import COLUMN_NAMES, facts_validate
from wotu.organisations.facts_io import table_read
from wotu.organisations.models import EnterpriseYear, Kind, Organisation, Region
from wotu.organisations.synth import city_generate, city_write, years_parse
from wotu.organisations.uscc import uscc_is_valid

TODAY = dt.date(2026, 6, 1)
FIRST, LAST = 2019, 2023
Row = dict[str, Any]


def generate(enterprises: int, seed: int = 7) -> list[Row]:
    rows = city_generate(
        enterprises=enterprises, first_year=FIRST, last_year=LAST, seed=seed, today=TODAY
    )
    return [dict(zip(COLUMN_NAMES, row, strict=True)) for row in rows]


@pytest.fixture(scope="module")
def city() -> list[Row]:
    """A city large enough for a full listing pool of 100."""
    return generate(3000)


def by_firm(rows: list[Row]) -> dict[str, list[Row]]:
    firms: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        firms[row["uscc"]].append(row)
    return firms


def in_year(rows: list[Row], year: int) -> list[Row]:
    return [row for row in rows if row["year"] == year]


def share(rows: list[Row], test: Any) -> float:
    return sum(1 for row in rows if test(row)) / len(rows)


def band_pct(revenue: Decimal) -> int:
    return 5 if revenue <= 50_000_000 else 4 if revenue <= 200_000_000 else 3


# ---- determinism and the contract -------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_the_same_seed_writes_byte_identical_files(tmp_path: Path, suffix: str) -> None:
    paths = [tmp_path / f"one{suffix}", tmp_path / f"two{suffix}"]
    for path in paths:
        rows = city_generate(enterprises=40, first_year=FIRST, last_year=LAST, seed=11)
        city_write(rows=rows, path=path)

    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_another_seed_gives_another_city(tmp_path: Path) -> None:
    for seed in (11, 12):
        rows = city_generate(enterprises=40, first_year=FIRST, last_year=LAST, seed=seed)
        city_write(rows=rows, path=tmp_path / f"{seed}.csv")

    assert (tmp_path / "11.csv").read_bytes() != (tmp_path / "12.csv").read_bytes()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_every_generated_row_passes_the_importer_validation(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"city{suffix}"
    city_write(
        rows=city_generate(enterprises=300, first_year=2018, last_year=2023, seed=3), path=path
    )

    table = table_read(path)
    validated = facts_validate(table)

    assert table.header == list(COLUMN_NAMES)
    assert validated.errors == []
    assert validated.warnings == []
    assert len(validated.records) == table.height > 300


def test_rows_run_from_the_registration_year_or_the_first_year_to_the_last(city: list[Row]) -> None:
    for rows in by_firm(city).values():
        registered = rows[0]["registered_on"]
        start = max(FIRST, registered.year)
        assert [r["year"] for r in rows] == list(range(start, LAST + 1))
        assert all(r["registered_on"] == registered for r in rows)
        assert registered <= TODAY


def test_codes_are_valid_and_names_unique(city: list[Row]) -> None:
    firms = by_firm(city)
    names = [rows[-1]["name"] for rows in firms.values()]

    assert all(
        uscc_is_valid(code) and code[2:8] == rows[0]["district_code"]
        for code, rows in firms.items()
    )
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"青岛\w+(股份)?有限公司", name) for name in names)


# ---- believable figures -------------------------------------------------------------------------


def test_revenue_is_heavy_tailed_around_a_median_of_a_few_million(city: list[Row]) -> None:
    revenue = sorted(row["revenue"] for row in in_year(city, LAST))
    median = statistics.median(revenue)

    assert 1_500_000 <= median <= 8_000_000
    assert revenue[-1] > 50 * median  # a long tail, towards the billions
    assert revenue[int(len(revenue) * 0.99)] > 10 * median


def test_a_firm_s_revenue_moves_with_persistence_from_year_to_year(city: list[Row]) -> None:
    growth = []
    for rows in by_firm(city).values():
        pairs = itertools.pairwise(rows)
        growth += [
            float(b["revenue"] / a["revenue"])
            for a, b in pairs
            if a["year"] > a["registered_on"].year
        ]

    assert 1.0 < statistics.median(growth) < 1.2
    assert statistics.quantiles(growth, n=10)[0] > 0.6  # no independent redraws each year


def test_the_figures_of_each_row_hang_together(city: list[Row]) -> None:
    for row in city:
        assert row["st_staff"] <= row["employees"]
        assert row["rd_deductible"] <= row["rd_expense"]
        assert row["rd_expense_domestic"] <= row["rd_expense"]
        assert row["hitech_revenue"] <= row["revenue"]
        assert Decimal("0.79") * row["revenue"] <= row["total_costs"] <= row["revenue"]
        assert 0 < row["net_assets"] < row["total_assets"]
        assert not row["manufacturing"] or row["sector"] == "industrial"
        threshold = 20_000_000 if row["sector"] != "service" else 10_000_000
        assert row["above_designated_size"] == (row["revenue"] >= threshold)


def test_most_firms_spend_under_three_percent_of_revenue_on_rd(city: list[Row]) -> None:
    last = in_year(city, LAST)
    manufacturing = [r for r in last if r["manufacturing"]]
    intensity = sum(r["rd_expense"] for r in manufacturing) / sum(
        r["revenue"] for r in manufacturing
    )

    assert share(last, lambda r: r["rd_expense"] <= Decimal("0.03") * r["revenue"]) > 0.5
    assert Decimal("0.012") < intensity < Decimal("0.04")


def test_some_firms_above_designated_size_raise_rd_by_a_million_or_more(city: list[Row]) -> None:
    risers = 0
    for rows in by_firm(city).values():
        for before, after in itertools.pairwise(rows):
            grew = after["rd_expense"] - before["rd_expense"] >= 1_000_000
            risers += grew and after["above_designated_size"] and after["sector"] != "other"

    assert risers >= 20


def test_ip_stocks_grow_over_the_years_with_class_one_rarer(city: list[Row]) -> None:
    first, last = in_year(city, FIRST), in_year(city, LAST)

    assert sum(r["ip_class2"] for r in last) > sum(r["ip_class2"] for r in first)
    assert sum(r["ip_class1"] for r in last) < sum(r["ip_class2"] for r in last)


# ---- qualifications -----------------------------------------------------------------------------


def test_tech_smes_and_high_tech_firms_are_plausible_shares_and_grow(city: list[Row]) -> None:
    first, last = in_year(city, FIRST), in_year(city, LAST)
    certified = lambda r: r["hitech_cert_year"] is not None  # noqa: E731
    registered = lambda r: bool(r["tech_sme_number"])  # noqa: E731

    assert 0.12 <= share(last, certified) <= 0.3
    assert 0.15 <= share(last, registered) <= 0.4
    assert sum(map(certified, last)) > 1.3 * sum(map(certified, first))
    assert sum(map(registered, last)) > 1.2 * sum(map(registered, first))


def test_certificates_are_valid_three_years_and_renewed_on_expiry(city: list[Row]) -> None:
    renewals = 0
    for rows in by_firm(city).values():
        firsts = {r["hitech_first_cert_year"] for r in rows} - {None}
        assert len(firsts) <= 1
        for row in rows:
            cert, first = row["hitech_cert_year"], row["hitech_first_cert_year"]
            assert cert is None or (row["year"] - 2 <= cert <= row["year"] and first <= cert)
        for before, after in itertools.pairwise(rows):
            old, new = before["hitech_cert_year"], after["hitech_cert_year"]
            if old is not None and new is not None and old != new:
                assert (old, new) == (before["year"] - 2, after["year"])
                renewals += 1

    assert renewals > 20


def test_new_certificates_go_only_to_firms_that_meet_the_thresholds(city: list[Row]) -> None:
    issued = 0
    for rows in by_firm(city).values():
        by_year = {r["year"]: r for r in rows}
        for row in rows:
            if row["hitech_cert_year"] != row["year"]:
                continue
            issued += 1
            earlier = by_year.get(row["year"] - 1, row)
            pct = band_pct(min(row["revenue"], earlier["revenue"]))
            window = [by_year[y] for y in range(row["year"] - 2, row["year"] + 1) if y in by_year]
            assert row["registered_on"] <= dt.date(row["year"] - 1, 6, 30)
            assert row["ip_class1"] + row["ip_class2"] >= 1
            assert row["st_staff"] * 10 >= row["employees"]
            assert row["hitech_revenue"] * 10 >= row["revenue"] * 6
            assert row["rd_expense_domestic"] * 10 >= row["rd_expense"] * 6
            assert not row["incident"] and not earlier["incident"]
            assert sum(r["rd_expense"] for r in window) * 100 >= pct * sum(
                r["revenue"] for r in window
            )

    assert issued > 100


def test_tech_sme_numbers_appear_only_in_years_the_basic_conditions_hold(city: list[Row]) -> None:
    seen: set[str] = set()
    for row in city:
        number = row["tech_sme_number"]
        if not number:
            continue
        assert re.fullmatch(rf"{row['year']}{row['district_code']}A\d{{7}}", number)
        assert number not in seen
        seen.add(number)
        assert row["employees"] <= 500 and not row["incident"]
        assert row["revenue"] <= 200_000_000 and row["total_assets"] <= 200_000_000

    assert len(seen) > 500


def test_the_listing_pool_holds_about_a_hundred_certified_firms(city: list[Row]) -> None:
    for year in range(FIRST, LAST + 1):
        pool = [r for r in in_year(city, year) if r["in_listing_pool"]]
        assert len(pool) == (100 if year >= LAST - 1 else 0)
        assert all(r["hitech_cert_year"] is not None and not r["listed"] for r in pool)
        assert all("股份有限公司" in r["name"] for r in pool)


def test_a_small_city_gets_a_proportionally_small_listing_pool() -> None:
    rows = generate(300, seed=5)

    assert sum(r["in_listing_pool"] for r in in_year(rows, LAST)) == 15


def test_a_handful_of_firms_are_listed_and_stay_listed(city: list[Row]) -> None:
    listed = {r["uscc"] for r in in_year(city, LAST) if r["listed"]}

    assert 3 <= len(listed) <= 10
    for rows in by_firm(city).values():
        flags = [r["listed"] for r in rows]
        assert flags == sorted(flags)  # once listed, always listed


# ---- the command ------------------------------------------------------------------------------


def synth(*args: str) -> str:
    out = StringIO()
    call_command("synth", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_loading_into_the_database_twice_creates_nothing_new(db: None) -> None:
    args = ("--enterprises", "30", "--years", "2021-2023", "--seed", "4", "--into-db", "--quiet")
    synth(*args)
    counts = (Organisation.objects.count(), EnterpriseYear.objects.count())

    output = synth(*args)

    assert (Organisation.objects.count(), EnterpriseYear.objects.count()) == counts
    assert "0 created, 0 updated" in output and "0 new universities" in output


def test_loading_into_the_database_adds_universities_institutes_and_banks(db: None) -> None:
    synth("--enterprises", "20", "--years", "2023", "--into-db", "--quiet")

    for region in (Region.HONG_KONG, Region.MACAO):
        for kind in (Kind.UNIVERSITY, Kind.INSTITUTE):
            found = Organisation.objects.filter(kind=kind, region=region)
            assert found.exists() and all(o.local_id and o.uscc is None for o in found)
    assert Organisation.objects.filter(name="香港科技大学", region=Region.HONG_KONG).exists()
    banks = Organisation.objects.filter(kind=Kind.BANK)
    assert banks.filter(name="青岛银行").exists()
    assert all(b.region == Region.MAINLAND and uscc_is_valid(b.uscc or "") for b in banks)
    assert Organisation.objects.filter(kind=Kind.UNIVERSITY, region=Region.MAINLAND).exists()


def test_a_file_and_the_database_can_be_written_in_one_run(db: None, tmp_path: Path) -> None:
    path = tmp_path / "city.xlsx"

    synth("--enterprises", "15", "--years", "2022-2023", "--out", str(path), "--into-db", "--quiet")

    assert table_read(path).height == EnterpriseYear.objects.count() > 15


def test_progress_bars_go_to_stderr_unless_quiet(tmp_path: Path) -> None:
    loud, quiet = StringIO(), StringIO()
    call_command("synth", "--enterprises", "5", "--out", str(tmp_path / "a.csv"), stderr=loud)
    call_command(
        "synth", "--enterprises", "5", "--out", str(tmp_path / "b.csv"), "--quiet", stderr=quiet
    )

    assert "simulating" in loud.getvalue() and "100%" in loud.getvalue()
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(
    ("args", "english"),
    [
        (["--years", "2023-2019"], "runs backwards"),
        (["--years", "2019-2099"], "years must lie within"),
        (["--years", "twenty"], "malformed"),
        (["--enterprises", "0"], "must be 1–"),
        (["--enterprises", "-5"], "must be 1–"),
        (["--enterprises", "many"], "whole number"),
        (["--seed", "x"], "seed must be"),
        (["--out", "city.txt"], "unsupported file type .txt"),
        ([], "give --out FILE or --into-db"),
    ],
)
def test_bad_arguments_are_refused_in_chinese_and_english(args: list[str], english: str) -> None:
    with pytest.raises(CommandError) as refused:
        synth(*args)

    message = str(refused.value)
    assert english in message
    assert " / " in message and re.search(r"[\u4e00-\u9fff]", message)


def test_a_bad_argument_on_the_command_line_exits_non_zero_without_a_traceback(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-m", "wotu.cli", "synth", "--years", "2023-2019", "--out", "x.csv"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wotu.settings"}

    done = subprocess.run(  # noqa: S603 (a fixed command, no user input)
        command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False
    )

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "起止颠倒" in done.stderr and "runs backwards" in done.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(("text", "years"), [("2019-2023", (2019, 2023)), ("2021", (2021, 2021))])
def test_a_year_range_is_inclusive(text: str, years: tuple[int, int]) -> None:
    assert years_parse(text, today=TODAY) == years


def test_a_year_after_this_year_is_refused() -> None:
    with pytest.raises(WotuError):
        years_parse("2026-2027", today=TODAY)
