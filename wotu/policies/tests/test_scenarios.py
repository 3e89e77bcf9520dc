"""Scenarios: change a parameter, evaluate again, compare with the baseline.

The city is :mod:`wotu.policies.tests.support`'s: raising the first-certification R&D cap from
300,000 to 500,000 must raise exactly the firms whose R&D part (10 % of deductible R&D) was
above 300,000 — C (350,000 → +50,000) and D (600,000 → +200,000) — and nobody else.
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wotu.core.models import User
from wotu.organisations.models import Organisation
from wotu.policies.catalog import policy_get
from wotu.policies.models import PolicyRun, RunStatus
from wotu.policies.outcomes import (
    awards_compare,
    awards_frame,
    outcome_compute,
    overrides_parse,
)
from wotu.policies.parameters import ParameterError
from wotu.policies.selectors import run_compare
from wotu.policies.services import run_create
from wotu.policies.tests.support import (
    BASELINE_AWARDS,
    IMMEDIATE,
    QINGDAO,
    SCENARIO_AWARDS,
    YEAR,
    facts_frame,
    scenario_registry,
    scenario_rows,
    uscc_of,
)

RAISED_CAP = {"hitech_first_cert.rd_cap": "500000"}


@pytest.fixture(autouse=True)
def _tasks_run_immediately(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


def compared(overrides: dict[str, Any], rows: list[dict[str, Any]] | None = None) -> Any:
    policy = policy_get(QINGDAO)
    facts = facts_frame(rows or scenario_rows())
    baseline = outcome_compute(policy, facts, year=YEAR)
    scenario = outcome_compute(policy, facts, year=YEAR, overrides=overrides)
    return awards_compare(awards_frame(baseline), awards_frame(scenario), policy=policy)


def per_firm(frame: pl.DataFrame) -> dict[str, Decimal]:
    return {
        uscc: Decimal(fen).scaleb(-2)
        for uscc, fen in frame.group_by("uscc").agg(pl.col("amount_fen").sum()).iter_rows()
    }


def test_raising_the_cap_raises_exactly_the_firms_whose_rd_part_exceeded_it() -> None:
    comparison = compared(RAISED_CAP)

    winners = {w["uscc"]: w["difference"] for w in comparison["winners"]}
    assert winners == {uscc_of("D"): Decimal("200000.00"), uscc_of("C"): Decimal("50000.00")}
    assert [w["uscc"] for w in comparison["winners"]] == [uscc_of("D"), uscc_of("C")]
    assert comparison["losers"] == [] and comparison["winners_count"] == 2
    assert comparison["new_count"] == 0 and comparison["dropped_count"] == 0
    assert comparison["budget_impact"] == Decimal("250000.00")


def test_the_scenario_awards_are_the_hand_computed_ones() -> None:
    policy = policy_get(QINGDAO)
    facts = facts_frame(scenario_rows())

    baseline = per_firm(awards_frame(outcome_compute(policy, facts, year=YEAR)))
    scenario = per_firm(
        awards_frame(outcome_compute(policy, facts, year=YEAR, overrides=RAISED_CAP))
    )

    assert baseline == {uscc_of(k): v for k, v in BASELINE_AWARDS.items()}
    assert scenario == {uscc_of(k): v for k, v in SCENARIO_AWARDS.items()}


def test_totals_per_scheme_and_district_show_where_the_money_goes() -> None:
    comparison = compared(RAISED_CAP)

    first = next(s for s in comparison["schemes"] if s["key"] == "qingdao.hitech_first_cert")
    assert (first["baseline_amount"], first["scenario_amount"]) == (
        Decimal("1700000.00"), Decimal("1950000.00"))  # fmt: skip
    assert first["baseline_beneficiaries"] == first["scenario_beneficiaries"] == 4
    recert = next(s for s in comparison["schemes"] if s["key"] == "qingdao.hitech_recert")
    assert recert["difference"] == Decimal("0.00")
    districts = {d["key"]: d["difference"] for d in comparison["districts"]}
    assert districts == {"370202": Decimal("0.00"), "370203": Decimal("0.00"),
                         "370211": Decimal("0.00"), "370212": Decimal("250000.00")}  # fmt: skip
    assert comparison["total"]["scenario_beneficiaries"] == 5


def test_lowering_the_cap_makes_losers_and_a_negative_budget_impact() -> None:
    comparison = compared({"hitech_first_cert.rd_cap": "250000"})

    losers = {w["uscc"]: w["difference"] for w in comparison["losers"]}
    assert losers == {uscc_of(k): Decimal("-50000.00") for k in "BCD"}
    assert comparison["winners"] == [] and comparison["budget_impact"] == Decimal("-150000.00")


def test_a_scenario_can_drop_and_add_beneficiaries() -> None:
    # re-certification paid nothing: E drops out; first certification base doubled: all gain
    comparison = compared({"hitech_recert.award": "0", "hitech_first_cert.base": "300000"})

    assert [d["uscc"] for d in comparison["dropped_beneficiaries"]] == [uscc_of("E")]
    assert comparison["dropped_count"] == 1 and comparison["losers_count"] == 1
    assert comparison["winners_count"] == 4 and comparison["new_count"] == 0
    assert comparison["total"]["scenario_beneficiaries"] == 4
    assert comparison["budget_impact"] == Decimal("500000.00")  # 4 × 150,000 − 100,000


@pytest.mark.parametrize(
    ("settings_", "says"),
    [
        (["no.such=1"], "unknown parameter no.such"),
        (["hitech_first_cert.rd_cap=lots"], "'lots' is not a number"),
        (["hitech_first_cert.rd_cap=1.234"], "money has at most 2 decimals"),
        (["hitech_first_cert.rd_cap"], "malformed: write NAME=VALUE"),
    ],
)
def test_an_unknown_parameter_or_a_bad_value_is_refused_in_both_languages(
    settings_: list[str], says: str
) -> None:
    with pytest.raises(ParameterError, match=says) as caught:
        compared(overrides_parse(settings_))

    assert caught.value.zh and caught.value.en


def test_the_scenario_command_prints_the_comparison(tmp_path: Path) -> None:
    facts = tmp_path / "city.csv"
    facts_frame(scenario_rows())  # the rows are valid
    pl.DataFrame(scenario_rows()).write_csv(facts)
    out = tmp_path / "changes.csv"
    stdout = StringIO()

    call_command("scenario", "--policy", QINGDAO, "--year", str(YEAR), "--facts", str(facts),
                 "--set", "hitech_first_cert.rd_cap=500000", "--out", str(out), "--quiet",
                 stdout=stdout, stderr=StringIO())  # fmt: skip

    text = stdout.getvalue()
    assert "预算影响 / budget impact: +¥250,000.00" in text
    assert "增加者 / winners: 2; 减少者 / losers: 0" in text
    assert f"{uscc_of('D')} 企业D 370212: ¥450,000.00 → ¥650,000.00 (+200,000.00)" in text
    assert "370212 崂山区 / Laoshan District: ¥900,000.00 → ¥1,150,000.00 (+250,000.00)" in text
    changes = pl.read_csv(out, infer_schema=False)
    assert changes.columns == ["uscc", "name", "district_code", "baseline_cny", "scenario_cny",
                               "difference_cny"]  # fmt: skip
    assert changes.row(0) == (uscc_of("D"), "企业D", "370212", "450000.00", "650000.00",
                              "200000.00")  # fmt: skip


def test_the_scenario_command_prints_json_when_asked(tmp_path: Path) -> None:
    facts = tmp_path / "city.csv"
    pl.DataFrame(scenario_rows()).write_csv(facts)
    stdout = StringIO()

    call_command("scenario", "--policy", QINGDAO, "--year", str(YEAR), "--facts", str(facts),
                 "--set", "hitech_first_cert.rd_cap=500000", "--json", "--quiet",
                 stdout=stdout)  # fmt: skip

    import json

    data = json.loads(stdout.getvalue())
    assert data["budget_impact"] == "250000.00" and data["winners_count"] == 2


def test_the_scenario_command_refuses_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    facts = tmp_path / "city.csv"
    pl.DataFrame(scenario_rows()).write_csv(facts)

    with pytest.raises(CommandError, match="unknown parameter nope") as caught:
        call_command("scenario", "--policy", QINGDAO, "--year", str(YEAR), "--facts",
                     str(facts), "--set", "nope=1", "--quiet")  # fmt: skip

    assert "未知参数 nope" in str(caught.value)


def test_recorded_scenario_runs_compare_like_the_in_memory_ones(alice: User, db: None) -> None:
    scenario_registry()
    baseline = run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    scenario = run_create(user=alice, policy_id=QINGDAO, year=YEAR, baseline=baseline,
                          overrides=RAISED_CAP)  # fmt: skip

    recorded = run_compare(user=alice, baseline=baseline, scenario=scenario)

    in_memory = compared(RAISED_CAP)
    for key in ("schemes", "districts", "total", "winners", "losers", "budget_impact"):
        assert recorded[key] == in_memory[key], key
    assert recorded["same_input"] is True
    assert recorded["scenario"]["overrides"] == RAISED_CAP


def test_the_scenario_command_records_both_runs_with_record(db: None) -> None:
    organisations: dict[str, Organisation] = scenario_registry()
    stdout, stderr = StringIO(), StringIO()

    call_command("scenario", "--policy", QINGDAO, "--year", str(YEAR), "--set",
                 "hitech_first_cert.rd_cap=500000", "--record", "--name", "更高上限",
                 "--quiet", stdout=stdout, stderr=stderr)  # fmt: skip

    baseline, scenario = PolicyRun.objects.order_by("id")
    assert baseline.status == scenario.status == RunStatus.DONE
    assert scenario.baseline == baseline and scenario.scenario == "更高上限"
    assert baseline.created_by is None  # the command line
    assert f"#{baseline.pk}" in stderr.getvalue() and f"#{scenario.pk}" in stderr.getvalue()
    assert "+¥250,000.00" in stdout.getvalue()
    assert uscc_of("D") == organisations["D"].uscc and uscc_of("D") in stdout.getvalue()


def test_record_reads_the_registry_so_it_refuses_a_facts_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="leave out --facts"):
        call_command("scenario", "--policy", QINGDAO, "--year", str(YEAR), "--facts",
                     str(tmp_path / "x.csv"), "--set", "a=1", "--record")  # fmt: skip
