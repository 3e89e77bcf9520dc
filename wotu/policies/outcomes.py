"""What a policy gives for a year, as tables — pure Polars, no database.

The command line (facts files), the API (posted rows) and recorded runs (the registry) all go
through these functions, so they compute, explain, total and compare the same way:

- :func:`policy_for` checks the policy, its kind and the year; :func:`outcome_compute` runs it
  (with scenario overrides) over a facts frame;
- :func:`awards_frame` — one row per positive award: ``uscc, year, scheme, amount_fen, basis,
  name, district_code`` (an "evaluate" policy); :func:`assessments_frame` — one row per
  enterprise with the policy's output columns and ``basis`` (an "assess" policy);
- :func:`awards_totals` — per scheme and per district: beneficiaries and amount;
- :func:`awards_compare` — a baseline against a scenario: totals, beneficiaries, winners,
  losers, new and dropped beneficiaries, budget impact.

Money is integer fen inside; it leaves as ``Decimal`` with two places (never float).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

import polars as pl

from wotu.core.districts import DISTRICTS
from wotu.core.errors import WotuError
from wotu.policies.catalog import CATALOGUE, policy_get
from wotu.policies.engine import Plan, Policy, PolicyError, evaluate
from wotu.policies.explain import basis_columns, basis_series, explain_rows, is_money
from wotu.policies.parameters import ParameterError, ParameterSet

KIND_LABELS = {"evaluate": ("奖励类", "an award"), "assess": ("评估类", "an assessment")}
AWARD_KEYS = ("uscc", "year", "scheme", "amount_fen", "basis", "name", "district_code")
CNY = pl.Decimal(20, 2)


# ---- policies, parameters, hashes ------------------------------------------------------------


def policy_for(policy_id: str, *, year: int, kind: str | None = None) -> Policy:
    """The catalogue policy, checked for ``kind`` ("evaluate"/"assess") and ``year``.

    Raises PolicyError (bilingual) for an unknown id, the wrong kind or a year the policy does
    not cover, saying which command or years to use instead.
    """
    policy = policy_get(policy_id)
    if kind is not None and policy.kind != kind:
        zh, en = KIND_LABELS.get(policy.kind, (policy.kind, policy.kind))
        raise PolicyError(
            f"政策 {policy_id} 是{zh}政策，请使用 wotu {policy.kind}（而不是 wotu {kind}）",
            f"policy {policy_id} is {en} policy: use `wotu {policy.kind}`, not `wotu {kind}`",
        )
    if policy.years is not None and not policy.years[0] <= year <= policy.years[1]:
        first, last = policy.years
        raise PolicyError(
            f"政策 {policy_id} 适用于 {first}–{last} 年度，不适用于 {year} 年度",
            f"policy {policy_id} applies to the years {first}–{last}, not to {year}",
        )
    return policy


def parameters_for(policy: Policy, *, year: int, overrides: Mapping[str, Any]) -> ParameterSet:
    """The policy's parameters with scenario ``overrides`` in force from 1 January of ``year``.
    Raises ParameterError for an unknown parameter or a value that does not fit its unit."""
    if not overrides:
        return policy.parameters
    return policy.parameters.with_overrides(overrides, since=dt.date(year, 1, 1))


def overrides_parse(assignments: Sequence[str]) -> dict[str, Any]:
    """``["name=value", …]`` (the CLI's ``--set``) as a mapping. A value that starts with ``[``
    or ``{`` is read as JSON (brackets of a scale); anything else stays text, parsed exactly
    by the parameter's unit (``500000``, ``"12.5%"``, ``0.15``)."""
    overrides: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ParameterError(
                f"参数设置 {assignment!r} 格式不对：应写作 名称=值，例如"
                " hitech_first_cert.rd_cap=500000",
                f"the setting {assignment!r} is malformed: write NAME=VALUE, for example"
                " hitech_first_cert.rd_cap=500000",
            )
        overrides[name] = _override_value(name, value)
    return overrides


def _override_value(name: str, value: str) -> Any:
    if not value.startswith(("[", "{")):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ParameterError(
            f"参数 {name} 的值不是有效的 JSON：{exc}", f"{name}: the value is not valid JSON: {exc}"
        ) from exc


def overrides_normalise(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides as stored on a run: scalars as text (exact), lists and mappings as given."""
    return {
        str(name): value if isinstance(value, list | dict) else str(value)
        for name, value in sorted(overrides.items())
    }


def formulas_hash(policy_id: str) -> str:
    """SHA-256 of the catalogue module's source and the parameters YAML beside it."""
    module = CATALOGUE.get(policy_id)
    spec = importlib.util.find_spec(module) if module else None
    if spec is None or spec.origin is None:
        policy_get(policy_id)  # raises the bilingual "unknown policy"
        raise PolicyError(f"找不到政策 {policy_id} 的源码", f"no source for policy {policy_id}")
    source = Path(spec.origin)
    digest = hashlib.sha256(b"module\0" + source.read_bytes())
    yaml_file = source.with_suffix(".yaml")
    if yaml_file.is_file():
        digest.update(b"\0yaml\0" + yaml_file.read_bytes())
    return digest.hexdigest()


def facts_hash(facts: pl.DataFrame) -> str:
    """A deterministic SHA-256 of a facts frame (rows sorted by USCC and year, columns by name),
    so the same registry contents always hash the same."""
    ordered = facts.select(sorted(facts.columns)).sort("uscc", "year")
    return hashlib.sha256(ordered.write_csv().encode()).hexdigest()


# ---- evaluating ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A policy evaluated for one year: the engine's plan and its full result frame."""

    policy: Policy
    plan: Plan
    result: pl.DataFrame
    year: int
    parameters: ParameterSet
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def parameters_hash(self) -> str:
        return self.parameters.version_hash()


def outcome_compute(
    policy: Policy,
    facts: pl.DataFrame,
    *,
    year: int,
    overrides: Mapping[str, Any] | None = None,
    tables: Mapping[str, pl.DataFrame] | None = None,
) -> Outcome:
    """Evaluate ``policy`` for ``year`` over ``facts`` (engine types, all years available).
    Raises PolicyError / ParameterError (bilingual)."""
    parameters = parameters_for(policy, year=year, overrides=overrides or {})
    lazy_tables = {name: frame.lazy() for name, frame in (tables or {}).items()}
    plan, result = evaluate(
        policy, facts.lazy(), year=year, parameters=parameters, tables=lazy_tables
    )
    return Outcome(policy, plan, result, year, parameters, overrides_normalise(overrides or {}))


def fen_to_cny(expr: pl.Expr) -> pl.Expr:
    """Integer fen as Decimal(20, 2) yuan, exactly."""
    # The factor is written as text: a Python Decimal literal makes Polars import NumPy (a
    # tenth of a second in a process that has not needed it).
    one_fen = pl.lit("0.01").cast(pl.Decimal(3, 2))
    return (expr.cast(pl.Decimal(20, 0)) * one_fen).cast(CNY)


def cny(fen: int | None) -> Decimal:
    """Integer fen as a Decimal with two places."""
    return Decimal(fen or 0).scaleb(-2)


def award_schemes(policy: Policy) -> list[str]:
    """The outputs that are awards (money, in fen), in the policy's order. Other outputs of an
    "evaluate" policy (e.g. a yes/no selection) explain the awards but pay nothing."""
    combined = {combination.name for combination in policy.combinations}
    return [
        name
        for name in policy.outputs
        if name in combined or (name in policy.rules and policy.rules[name].unit == "CNY")
    ]


def awards_frame(outcome: Outcome, *, basis: bool = True) -> pl.DataFrame:
    """One row per positive award, ordered by USCC then scheme:
    ``uscc, year, scheme, amount_fen (Int64), basis, name, district_code`` (``basis`` empty
    when not asked for: totals do not need it)."""
    result = outcome.result
    # Lazily, so each scheme's filter gathers only the columns its rows need, not the whole
    # result (every input, rule and branch column).
    lazy = result.lazy()
    parts = []
    for scheme in award_schemes(outcome.policy):
        paid = lazy.filter(pl.col(scheme).fill_null(0) > 0)
        text: pl.Expr = pl.lit("")
        if basis:
            needed = ["uscc", "name", "district_code", scheme]
            needed += basis_columns(outcome.plan, [scheme])
            columns = [name for name in dict.fromkeys(needed) if name in result.columns]
            frame = paid.select(columns).collect()
            text = pl.lit(basis_series(outcome.plan, frame, [scheme]))
            paid = frame.lazy()
        parts.append(
            paid.select(
                pl.col("uscc"),
                pl.lit(outcome.year, dtype=pl.Int64).alias("year"),
                pl.lit(scheme).alias("scheme"),
                pl.col(scheme).cast(pl.Int64).alias("amount_fen"),
                text.alias("basis"),
                _text("name", result),
                _text("district_code", result),
            )
        )
    if not parts:
        return pl.DataFrame(schema=_award_schema())
    return pl.concat(parts).sort("uscc", "scheme").collect()


def _text(name: str, frame: pl.DataFrame) -> pl.Expr:
    if name in frame.columns:
        return pl.col(name).cast(pl.String).fill_null("")
    return pl.lit("").alias(name)


def _award_schema() -> dict[str, pl.DataType]:
    return {
        "uscc": pl.String(),
        "year": pl.Int64(),
        "scheme": pl.String(),
        "amount_fen": pl.Int64(),
        "basis": pl.String(),
        "name": pl.String(),
        "district_code": pl.String(),
    }


def awards_export(awards: pl.DataFrame) -> pl.DataFrame:
    """The contract's columns for ``wotu evaluate``: ``uscc, year, scheme, amount_cny`` (2
    decimals, exact), then ``basis, name, district_code``."""
    return awards.select(
        "uscc",
        "year",
        "scheme",
        fen_to_cny(pl.col("amount_fen")).alias("amount_cny"),
        "basis",
        "name",
        "district_code",
    )


def assessments_frame(outcome: Outcome, *, with_names: bool = False) -> pl.DataFrame:
    """One row per enterprise: ``uscc, year``, the policy's output columns (money as
    Decimal(20, 2)), then ``basis`` (and ``name, district_code`` when asked)."""
    plan, result = outcome.plan, outcome.result
    columns = [
        fen_to_cny(pl.col(name)).alias(name) if is_money(plan, name) else pl.col(name)
        for name in outcome.policy.outputs
    ]
    names = [_text("name", result), _text("district_code", result)] if with_names else []
    return result.select(
        pl.col("uscc"),
        pl.lit(outcome.year, dtype=pl.Int64).alias("year"),
        *columns,
        pl.lit(basis_series(plan, result)).alias("basis"),
        *names,
    )


def outcome_explain(outcome: Outcome, *, uscc: str) -> dict[str, Any]:
    """The explanation tree for one enterprise (see ``explain.explain_rows``). Raises WotuError
    when the facts have no row for it in the outcome's year."""
    try:
        return explain_rows(outcome.plan, outcome.result, uscc=uscc)
    except KeyError:
        raise WotuError(
            f"{outcome.year} 年度的数据中没有统一社会信用代码为 {uscc} 的企业",
            f"the facts have no enterprise with USCC {uscc} in {outcome.year}",
        ) from None


# ---- totals ----------------------------------------------------------------------------------


class SchemeTotal(TypedDict):
    scheme: str
    label_zh: str
    label_en: str
    beneficiaries: int
    amount: Decimal


class DistrictTotal(TypedDict):
    district_code: str
    label_zh: str
    label_en: str
    beneficiaries: int
    amount: Decimal


class OutputCount(TypedDict):
    output: str
    label_zh: str
    label_en: str
    true_count: int


class Totals(TypedDict):
    """A run's totals. ``kind`` "evaluate": per scheme and per district, beneficiaries (distinct
    enterprises) and amount; ``beneficiaries``/``amount`` over all schemes. ``kind`` "assess":
    ``enterprises`` assessed and, per yes/no output, how many got yes."""

    kind: str
    enterprises: int
    beneficiaries: int
    amount: Decimal
    schemes: list[SchemeTotal]
    districts: list[DistrictTotal]
    outputs: list[OutputCount]


def rule_labels(policy: Policy) -> dict[str, tuple[str, str]]:
    return {name: (rule.zh, rule.en) for name, rule in policy.rules.items()}


def district_labels(code: str) -> tuple[str, str]:
    if not code:
        return "（未填区划）", "(no district)"
    return DISTRICTS.get(code, (code, code))


def awards_totals(
    awards: pl.DataFrame, *, policy: Policy, enterprises: int, scheme_order: Sequence[str] = ()
) -> Totals:
    """Per scheme (in the policy's output order) and per district (by code): beneficiaries and
    amount, from an awards frame (``uscc, scheme, amount_fen, district_code``)."""
    labels = rule_labels(policy)
    by_scheme = {
        row["scheme"]: row
        for row in awards.group_by("scheme")
        .agg(pl.col("uscc").n_unique().alias("n"), pl.col("amount_fen").sum().alias("fen"))
        .iter_rows(named=True)
    }
    schemes: list[SchemeTotal] = []
    for scheme in scheme_order or award_schemes(policy):
        row = by_scheme.get(scheme, {"n": 0, "fen": 0})
        zh, en = labels.get(scheme, (scheme, scheme))
        schemes.append(
            SchemeTotal(
                scheme=scheme,
                label_zh=zh,
                label_en=en,
                beneficiaries=int(row["n"]),
                amount=cny(row["fen"]),
            )
        )
    districts: list[DistrictTotal] = []
    grouped = (
        awards.group_by("district_code")
        .agg(pl.col("uscc").n_unique().alias("n"), pl.col("amount_fen").sum().alias("fen"))
        .sort("district_code")
    )
    for row in grouped.iter_rows(named=True):
        zh, en = district_labels(row["district_code"])
        districts.append(
            DistrictTotal(
                district_code=row["district_code"],
                label_zh=zh,
                label_en=en,
                beneficiaries=int(row["n"]),
                amount=cny(row["fen"]),
            )
        )
    return Totals(
        kind="evaluate",
        enterprises=enterprises,
        beneficiaries=awards.get_column("uscc").n_unique(),
        amount=cny(int(awards.get_column("amount_fen").sum() or 0)),
        schemes=schemes,
        districts=districts,
        outputs=[],
    )


def assessments_totals(assessed: pl.DataFrame, *, policy: Policy) -> Totals:
    """How many enterprises were assessed and, per yes/no output, how many got yes."""
    labels = rule_labels(policy)
    outputs: list[OutputCount] = []
    for name in policy.outputs:
        if name in assessed.columns and assessed.schema[name] == pl.Boolean:
            zh, en = labels.get(name, (name, name))
            count = int(assessed.get_column(name).fill_null(False).sum())
            outputs.append(OutputCount(output=name, label_zh=zh, label_en=en, true_count=count))
    return Totals(
        kind="assess",
        enterprises=assessed.height,
        beneficiaries=0,
        amount=cny(0),
        schemes=[],
        districts=[],
        outputs=outputs,
    )


def totals_to_json(totals: Totals) -> dict[str, Any]:
    """Totals as stored on a run (money as text with two decimals)."""
    return json.loads(json.dumps(totals, default=str))  # type: ignore[no-any-return]


def totals_from_json(data: Mapping[str, Any]) -> Totals:
    def money(item: Mapping[str, Any]) -> dict[str, Any]:
        return {**item, "amount": Decimal(str(item.get("amount", "0.00")))}

    return Totals(
        kind=str(data.get("kind", "evaluate")),
        enterprises=int(data.get("enterprises", 0)),
        beneficiaries=int(data.get("beneficiaries", 0)),
        amount=Decimal(str(data.get("amount", "0.00"))),
        schemes=[money(item) for item in data.get("schemes", [])],  # type: ignore[misc]
        districts=[money(item) for item in data.get("districts", [])],  # type: ignore[misc]
        outputs=list(data.get("outputs", [])),
    )


# ---- comparing a scenario with its baseline --------------------------------------------------


class FirmChange(TypedDict):
    uscc: str
    name: str
    district_code: str
    baseline: Decimal
    scenario: Decimal
    difference: Decimal


class LineChange(TypedDict):
    key: str  # the scheme or the district code ("" for the total)
    label_zh: str
    label_en: str
    baseline_beneficiaries: int
    scenario_beneficiaries: int
    baseline_amount: Decimal
    scenario_amount: Decimal
    difference: Decimal


class Comparison(TypedDict):
    """A scenario against its baseline (money in CNY, Decimal).

    ``winners``: every enterprise whose total award rose (new beneficiaries included), the
    largest rise first; ``losers``: every one whose award fell (dropped ones included), the
    largest fall first; ``new_beneficiaries`` / ``dropped_beneficiaries``: from nothing to
    something and back. Lists are cut to ``limit`` when one is given; the ``*_count`` fields
    always count all. ``budget_impact`` = scenario total − baseline total.
    """

    schemes: list[LineChange]
    districts: list[LineChange]
    total: LineChange
    winners_count: int
    losers_count: int
    new_count: int
    dropped_count: int
    winners: list[FirmChange]
    losers: list[FirmChange]
    new_beneficiaries: list[FirmChange]
    dropped_beneficiaries: list[FirmChange]
    budget_impact: Decimal


def awards_compare(
    baseline: pl.DataFrame,
    scenario: pl.DataFrame,
    *,
    policy: Policy,
    limit: int | None = None,
) -> Comparison:
    """Compare two awards frames (``uscc, scheme, amount_fen, name, district_code``)."""
    firms = firm_changes(baseline, scenario)
    winners = firms.filter(pl.col("difference") > 0).sort(
        ["difference", "uscc"], descending=[True, False]
    )
    losers = firms.filter(pl.col("difference") < 0).sort(["difference", "uscc"])
    new = winners.filter(pl.col("baseline") == 0)
    dropped = losers.filter(pl.col("scenario") == 0)
    labels = rule_labels(policy)
    schemes = _line_changes(
        baseline,
        scenario,
        "scheme",
        lambda key: labels.get(key, (key, key)),
        award_schemes(policy),
    )
    districts = _line_changes(baseline, scenario, "district_code", district_labels, ())
    total = _total_change(baseline, scenario)
    return Comparison(
        schemes=schemes,
        districts=districts,
        total=total,
        winners_count=winners.height,
        losers_count=losers.height,
        new_count=new.height,
        dropped_count=dropped.height,
        winners=_firm_list(winners, limit),
        losers=_firm_list(losers, limit),
        new_beneficiaries=_firm_list(new, limit),
        dropped_beneficiaries=_firm_list(dropped, limit),
        budget_impact=total["difference"],
    )


def _per_firm(awards: pl.DataFrame, alias: str) -> pl.DataFrame:
    return awards.group_by("uscc").agg(
        pl.col("amount_fen").sum().alias(alias),
        pl.col("name").first().alias(f"name_{alias}"),
        pl.col("district_code").first().alias(f"district_{alias}"),
    )


def firm_changes(baseline: pl.DataFrame, scenario: pl.DataFrame) -> pl.DataFrame:
    """Per enterprise with an award in either frame: ``uscc, name, district_code, baseline,
    scenario, difference`` (fen)."""
    joined = _per_firm(baseline, "baseline").join(
        _per_firm(scenario, "scenario"), on="uscc", how="full", coalesce=True
    )
    return joined.select(
        "uscc",
        pl.coalesce("name_scenario", "name_baseline").fill_null("").alias("name"),
        pl.coalesce("district_scenario", "district_baseline").fill_null("").alias("district_code"),
        pl.col("baseline").fill_null(0),
        pl.col("scenario").fill_null(0),
    ).with_columns(difference=pl.col("scenario") - pl.col("baseline"))


def _firm_list(frame: pl.DataFrame, limit: int | None) -> list[FirmChange]:
    rows = frame if limit is None else frame.head(limit)
    return [
        FirmChange(
            uscc=row["uscc"],
            name=row["name"],
            district_code=row["district_code"],
            baseline=cny(row["baseline"]),
            scenario=cny(row["scenario"]),
            difference=cny(row["difference"]),
        )
        for row in rows.iter_rows(named=True)
    ]


def _grouped(awards: pl.DataFrame, key: str, alias: str) -> pl.DataFrame:
    return awards.group_by(key).agg(
        pl.col("uscc").n_unique().alias(f"n_{alias}"), pl.col("amount_fen").sum().alias(alias)
    )


def _line_changes(
    baseline: pl.DataFrame,
    scenario: pl.DataFrame,
    key: str,
    label: Any,
    order: Sequence[str],
) -> list[LineChange]:
    joined = _grouped(baseline, key, "baseline").join(
        _grouped(scenario, key, "scenario"), on=key, how="full", coalesce=True
    )
    rows = {row[key]: row for row in joined.iter_rows(named=True)}
    keys = list(order) + sorted(k for k in rows if k not in order)
    lines = []
    for name in keys:
        row = rows.get(name, {})
        zh, en = label(name)
        lines.append(_line(name, zh, en, row))
    return lines


def _line(key: str, zh: str, en: str, row: Mapping[str, Any]) -> LineChange:
    before, after = int(row.get("baseline") or 0), int(row.get("scenario") or 0)
    return LineChange(
        key=key,
        label_zh=zh,
        label_en=en,
        baseline_beneficiaries=int(row.get("n_baseline") or 0),
        scenario_beneficiaries=int(row.get("n_scenario") or 0),
        baseline_amount=cny(before),
        scenario_amount=cny(after),
        difference=cny(after - before),
    )


def _total_change(baseline: pl.DataFrame, scenario: pl.DataFrame) -> LineChange:
    row = {
        "n_baseline": baseline.get_column("uscc").n_unique(),
        "n_scenario": scenario.get_column("uscc").n_unique(),
        "baseline": int(baseline.get_column("amount_fen").sum() or 0),
        "scenario": int(scenario.get_column("amount_fen").sum() or 0),
    }
    return _line("", "合计", "total", row)
