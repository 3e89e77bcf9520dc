"""Every policy's spec table (tests/specs/<policy>.yaml), case by case.

A spec file::

    policy: qingdao-wotu-2021
    cases:
      - name: first certification, R&D part below the cap
        year: 2023
        facts:                       # rows; any column left out takes BASE_ROW's value
          - {uscc: A, year: 2023, hitech_first_cert_year: 2023, rd_deductible: "2000000"}
        loans: []                    # optional extra tables, by the policy's table names
        expected:                    # per uscc, per output: money in yuan as a string,
          A: {qingdao.hitech_first_cert: "350000.00"}   # bools, ints, floats (±1e-9), text

Money in ``facts`` is yuan (as in the facts contract); the engine works in fen.
"""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from wotu.policies.catalog import policy_get
from wotu.policies.engine import evaluate
from wotu.policies.explain import is_money
from wotu.policies.inputs import facts_frame_normalise

SPECS = sorted((Path(__file__).parent / "specs").glob("*.yaml"))
BASE_ROW: dict[str, Any] = {
    "name": "测试企业", "district_code": "370212", "registered_on": "2010-01-01",
    "sector": "industrial", "manufacturing": False, "above_designated_size": False,
    "employees": 100, "st_staff": 10, "revenue": "10000000", "total_costs": "9000000",
    "total_assets": "20000000", "net_assets": "10000000", "rd_expense": "0",
    "rd_expense_domestic": None, "rd_deductible": None, "hitech_revenue": "0",
    "ip_class1": 0, "ip_class2": 0, "conversions": 0, "hitech_cert_year": None,
    "hitech_first_cert_year": None, "tech_sme_number": "", "in_listing_pool": False,
    "listed": False, "incident": False,
}  # fmt: skip


def _cases() -> list[Any]:
    cases = []
    for path in SPECS:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            cases.append(pytest.param(spec["policy"], case, id=f"{path.stem}: {case['name']}"))
    return cases


def spec_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    full = [BASE_ROW | row for row in rows]
    names = list(dict.fromkeys(name for row in full for name in row))
    data = {name: [None if r.get(name) is None else str(r[name]) for r in full] for name in names}
    return facts_frame_normalise(pl.DataFrame(data, schema={n: pl.String for n in names}))


def _matches(expected: Any, actual: Any, money: bool) -> bool:
    if expected is None or actual is None:
        return expected is actual
    if money:
        return Decimal(str(expected)) == Decimal(actual) / 100
    if isinstance(expected, float):
        return math.isclose(expected, actual, abs_tol=1e-9)
    return bool(expected == actual)


@pytest.mark.parametrize(("policy_id", "case"), _cases())
def test_spec_case(policy_id: str, case: dict[str, Any]) -> None:
    policy = policy_get(policy_id)
    tables = {
        name: pl.DataFrame(case[name], infer_schema_length=None).lazy()
        for name in policy.tables
        if name in case
    }

    plan, result = evaluate(
        policy, spec_frame(case["facts"]).lazy(), year=case["year"], tables=tables
    )

    rows = {row["uscc"]: row for row in result.iter_rows(named=True)}
    for uscc, outputs in case["expected"].items():
        for output, expected in outputs.items():
            actual = rows[str(uscc)][output]
            money = is_money(plan, output)
            shown = f"{Decimal(actual) / 100:.2f}" if money and actual is not None else actual
            assert _matches(expected, actual, money), f"{uscc} {output}: {shown} ≠ {expected}"
