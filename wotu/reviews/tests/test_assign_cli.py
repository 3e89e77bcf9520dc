"""`wotu assign`: the contract's columns, the run summary, refusals without a traceback."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

APPS = "application_id,field,organisation_id,needs_hkmo\nA1,bio,U1,false\nA2,ict,U2,true\n"
EXPERTS = (
    "expert_id,fields,organisation_id,region,max_load\n"
    "E1,bio,X1,CN,\nE2,bio;ict,X2,CN,\nE3,ict,HKU,HK,\nE4,bio,X4,CN,1\n"
)


def run(tmp_path: Path, apps: str = APPS, experts: str = EXPERTS, *extra: str) -> str:
    (tmp_path / "a.csv").write_text(apps, encoding="utf-8")
    (tmp_path / "e.csv").write_text(experts, encoding="utf-8")
    err = StringIO()
    call_command(
        "assign",
        "--applications", str(tmp_path / "a.csv"),
        "--experts", str(tmp_path / "e.csv"),
        "--per-application", "2",
        "--max-load", "2",
        "--out", str(tmp_path / "out.csv"),
        "--quiet",
        *extra,
        stdout=StringIO(),
        stderr=err,
    )  # fmt: skip
    return err.getvalue()


def test_the_output_has_the_contract_columns_and_the_summary_names_solver_and_hash(
    tmp_path: Path,
) -> None:
    summary = run(tmp_path)
    out = pl.read_csv(tmp_path / "out.csv")
    assert out.columns == ["application_id", "expert_id", "affinity"]
    assert out.height == 4
    assert ("A2", "E3") in set(zip(out["application_id"], out["expert_id"], strict=True))
    assert "min-cost flow (OR-Tools" in summary and "input sha256" in summary


def test_an_unknown_region_is_refused_naming_file_row_column_and_value(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        run(tmp_path, APPS, EXPERTS.replace("HKU,HK", "HKU,TW"))
    assert "e.csv row 4, column region, value 'TW'" in str(caught.value)
    assert "第 4 行" in str(caught.value)


def test_a_missing_column_and_a_duplicate_id_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="lacks the column"):
        run(tmp_path, APPS.replace("field,", "domain,"))
    with pytest.raises(CommandError, match="duplicate id"):
        run(tmp_path, APPS + "A1,bio,U9,false\n")


def test_unknown_ids_and_non_numeric_scores_are_refused(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("application_id,expert_id,score\nA1,E1,high\n")
    with pytest.raises(CommandError, match="column score, value 'high'"):
        run(tmp_path, APPS, EXPERTS, "--affinity", str(tmp_path / "s.csv"))
    (tmp_path / "c.csv").write_text("application_id,expert_id\nA9,E1\n")
    with pytest.raises(CommandError, match="not in the applications file"):
        run(tmp_path, APPS, EXPERTS, "--conflicts", str(tmp_path / "c.csv"))


def test_an_infeasible_call_names_the_application_and_exits_without_traceback(
    tmp_path: Path,
) -> None:
    with pytest.raises(CommandError) as caught:
        run(tmp_path, APPS, EXPERTS.replace("E3,ict,HKU,HK", "E3,ict,HKU,CN"))
    assert "application A2 needs at least 1 HK/MO experts" in str(caught.value)
    with pytest.raises(CommandError, match="--per-application must be a positive integer"):
        run(tmp_path, APPS, EXPERTS, "--per-application", "0")
