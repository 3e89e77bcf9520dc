"""The command line of the policies app: what `wotu evaluate`, `assess`, `explain`, `scenario`
and `policies` share — reading facts (a file, or the registry), a progress bar on stderr,
writing tables by extension, and refusals printed in Chinese and English without a traceback.

The commands themselves (``management/commands/``) only parse their options and call these.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

import polars as pl
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import DatabaseError
from tqdm import tqdm

from wotu.core.errors import WotuError
from wotu.organisations.facts_io import TableFileError, table_format, table_write
from wotu.policies.engine import PolicyError
from wotu.policies.inputs import FactsInputError, facts_frame_from_file
from wotu.policies.outcomes import (
    Outcome,
    assessments_frame,
    awards_compare,
    awards_export,
    awards_frame,
    fen_to_cny,
    firm_changes,
    outcome_compute,
    outcome_explain,
    policy_for,
)
from wotu.policies.parameters import ParameterError
from wotu.policies.selectors import registry_facts

# ---- refusals and progress -------------------------------------------------------------------


@contextmanager
def refusals(stderr: OutputWrapper) -> Iterator[None]:
    """Turn every bilingual refusal into a CommandError (exit 1, no traceback); a facts file's
    bad cells are printed first, one ``row N, column C, value V: reason`` line per language."""
    try:
        yield
    except FactsInputError as exc:
        for error in exc.errors:
            stderr.write(error.text_zh())
            stderr.write(error.text_en())
        raise CommandError(f"{exc.zh}\n{exc.en}") from exc
    except (PolicyError, ParameterError, WotuError, TableFileError) as exc:
        raise CommandError(f"{exc.zh}\n{exc.en}") from exc
    except DatabaseError as exc:
        raise CommandError(
            f"无法读取登记库（{exc}）：请先运行 wotu migrate 并导入数据，或用 --facts 指定文件\n"
            f"cannot read the registry ({exc}): run `wotu migrate` and import facts first,"
            " or name a file with --facts"
        ) from exc


class Steps:
    """A progress bar over the named steps of a command, on stderr; silent with --quiet."""

    def __init__(self, *, total: int, stream: IO[str], quiet: bool) -> None:
        self.bar = tqdm(total=total, file=stream, disable=quiet, unit="step", leave=False)

    def start(self, zh: str, en: str) -> None:
        self.bar.set_description(f"{zh} / {en}")

    def done(self) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def stream_of(wrapper: OutputWrapper) -> IO[str]:
    return cast(IO[str], wrapper._out)


def add_input_arguments(parser: Any, *, loans: bool = True) -> None:
    parser.add_argument("--policy", required=True, help="政策编号 / policy id (wotu policies list)")
    parser.add_argument("--year", type=int, required=True, help="年度 / fiscal year")
    parser.add_argument(
        "--facts", type=Path, help="企业年度数据文件，省略则读登记库 / facts file (else: registry)"
    )
    if loans:
        parser.add_argument("--loans", type=Path, help="贷款文件 / loans file (CSV, XLSX, Parquet)")
    parser.add_argument("--quiet", action="store_true", help="不显示进度条 / no progress bar")


# ---- reading ---------------------------------------------------------------------------------


def facts_read(path: Path | None, *, year: int) -> pl.DataFrame:
    """A facts file in engine types, or without a file the registry (``year`` and before)."""
    if path is None:
        return registry_facts(year=year)
    return facts_frame_from_file(path)


def loans_read(path: Path | None) -> dict[str, pl.DataFrame]:
    """The ``loans`` table for policies that name it (empty without ``--loans``), as written:
    CSV and XLSX cells as text, so the policy's ``prepare`` parses amounts and rates exactly."""
    if path is None:
        return {}
    try:
        fmt = table_format(path)
    except TableFileError as exc:
        raise FactsInputError(exc.zh, exc.en) from exc
    if not path.is_file():
        raise FactsInputError(f"找不到文件 {path}", f"file not found: {path}")
    try:
        if fmt == "csv":
            raw = pl.read_csv(path, infer_schema=False)
        elif fmt == "parquet":
            raw = pl.read_parquet(path)
        else:
            raw = pl.read_excel(path, engine="openpyxl", infer_schema_length=0)
    except Exception as exc:
        raise FactsInputError(
            f"无法读取贷款文件：{exc}", f"cannot read the loans file: {exc}"
        ) from exc
    return {"loans": raw}


def outcome_from_files(
    *,
    policy_id: str,
    year: int,
    kind: str | None,
    facts: Path | None,
    loans: Path | None,
    overrides: dict[str, Any] | None = None,
    steps: Steps | None = None,
) -> Outcome:
    policy = policy_for(policy_id, year=year, kind=kind)
    if steps:
        steps.start("读取数据", "reading facts")
    frame = facts_read(facts, year=year)
    tables = loans_read(loans)
    if steps:
        steps.done()
        steps.start("计算", "evaluating")
    outcome = outcome_compute(policy, frame, year=year, overrides=overrides, tables=tables)
    if steps:
        steps.done()
    return outcome


# ---- writing ---------------------------------------------------------------------------------


def frame_write(frame: pl.DataFrame, path: Path) -> int:
    """Write ``frame`` as CSV (UTF-8, header), XLSX (first sheet) or Parquet by extension.
    Money columns are Decimal(20, 2): written as ``1234.50`` in CSV, as decimals in Parquet."""
    fmt = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.write_csv(path, null_value="", date_format="%Y-%m-%d")
    elif fmt == "parquet":
        frame.write_parquet(path, compression="zstd", statistics=False)
    else:
        columns = [(name, _kind(dtype)) for name, dtype in frame.schema.items()]
        table_write(path, columns=columns, rows=frame.iter_rows())
    return frame.height


def _kind(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Decimal):
        return "money"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.Date:
        return "date"
    if dtype.is_integer():
        return "int"
    return "str" if dtype == pl.String else "value"


def evaluation_table(outcome: Outcome) -> pl.DataFrame:
    """What `wotu evaluate` / `wotu assess` write (the contract's columns first)."""
    if outcome.policy.kind == "evaluate":
        return awards_export(awards_frame(outcome))
    return assessments_frame(outcome)


def evaluation_summary(outcome: Outcome, table: pl.DataFrame, out: Path) -> str:
    if outcome.policy.kind == "evaluate":
        total = table.get_column("amount_cny").sum() if table.height else None
        firms = table.get_column("uscc").n_unique()
        amount = f"{Decimal(total or 0):,.2f}"
        return (
            f"已写出 {table.height} 项奖励（{firms} 家企业，合计 ¥{amount}）到 {out}\n"
            f"wrote {table.height} awards ({firms} enterprises, CNY {amount} in total) to {out}"
        )
    return (
        f"已写出 {table.height} 家企业的评估结果到 {out}\n"
        f"wrote the assessment of {table.height} enterprises to {out}"
    )


def year_warning(outcome: Outcome) -> str | None:
    if outcome.result.height:
        return None
    year = outcome.year
    return f"注意：数据中没有 {year} 年度的企业 / note: the facts have no rows for {year}"


class EvaluationCommand(BaseCommand):
    """`wotu evaluate` and `wotu assess`: one policy, one year, to a file."""

    kind = "evaluate"
    # Pure computations over files need no system checks (nor a database with --facts).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        add_input_arguments(parser, loans=self.kind == "evaluate")
        parser.add_argument("--out", type=Path, required=True, help="CSV, XLSX or Parquet")

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        steps = Steps(total=3, stream=stream_of(self.stderr), quiet=options["quiet"])
        with refusals(self.stderr):
            table_format(out)
            outcome = outcome_from_files(
                policy_id=options["policy"], year=options["year"], kind=self.kind,
                facts=options["facts"], loans=options.get("loans"), steps=steps,
            )  # fmt: skip
            steps.start("写出", "writing")
            table = evaluation_table(outcome)
            frame_write(table, out)
            steps.done()
            steps.close()
        warning = year_warning(outcome)
        if warning:
            self.stderr.write(warning)
        self.stdout.write(evaluation_summary(outcome, table, out))


# ---- scenarios -------------------------------------------------------------------------------


def scenario_outcomes(
    *,
    policy_id: str,
    year: int,
    facts: Path | None,
    loans: Path | None,
    overrides: dict[str, Any],
    steps: Steps,
) -> tuple[Outcome, Outcome]:
    """The baseline and the scenario over the same facts, read once."""
    policy = policy_for(policy_id, year=year, kind="evaluate")
    steps.start("读取数据", "reading facts")
    frame = facts_read(facts, year=year)
    tables = loans_read(loans)
    steps.done()
    steps.start("计算基准", "evaluating the baseline")
    baseline = outcome_compute(policy, frame, year=year, tables=tables)
    steps.done()
    steps.start("计算情景", "evaluating the scenario")
    scenario = outcome_compute(policy, frame, year=year, overrides=overrides, tables=tables)
    steps.done()
    return baseline, scenario


def scenario_compare(baseline: Outcome, scenario: Outcome, *, limit: int) -> dict[str, Any]:
    comparison = awards_compare(
        awards_frame(baseline, basis=False), awards_frame(scenario, basis=False),
        policy=baseline.policy, limit=limit,
    )  # fmt: skip
    return {
        "policy_id": baseline.policy.id,
        "year": baseline.year,
        "baseline": {"overrides": {}, "parameters_hash": baseline.parameters_hash},
        "scenario": {"overrides": scenario.overrides, "parameters_hash": scenario.parameters_hash},
        "same_input": True,
        **comparison,
    }


def scenario_table(baseline: Outcome, scenario: Outcome) -> pl.DataFrame:
    """Every enterprise with an award in either: baseline, scenario and difference (CNY)."""
    changes = firm_changes(awards_frame(baseline, basis=False), awards_frame(scenario, basis=False))
    return changes.sort(["difference", "uscc"], descending=[True, False]).select(
        "uscc", "name", "district_code",
        fen_to_cny(pl.col("baseline")).alias("baseline_cny"),
        fen_to_cny(pl.col("scenario")).alias("scenario_cny"),
        fen_to_cny(pl.col("difference")).alias("difference_cny"),
    )  # fmt: skip


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _signed(value: Decimal) -> str:
    return f"{value:+,.2f}"


def comparison_text(comparison: dict[str, Any], *, top: int) -> str:
    """The comparison as a person reads it: totals per scheme and district, beneficiaries,
    winners and losers (counts and the largest ``top``), budget impact."""
    lines = [
        f"{comparison['policy_id']} · {comparison['year']} · 情景 / scenario: "
        + "; ".join(f"{k}={v}" for k, v in comparison["scenario"]["overrides"].items())
    ]
    if not comparison.get("same_input", True):
        lines.append("注意：两次运行读取的数据不同 / note: the two runs read different facts")
    header = "基准 / baseline → 情景 / scenario (差额 / difference); 受益企业 / beneficiaries"
    for title, items in (("按政策 / by scheme", comparison["schemes"]),
                         ("按区划 / by district", comparison["districts"])):  # fmt: skip
        lines += ["", f"{title}: {header}"]
        lines += [_line_text(item) for item in items]
    total = comparison["total"]
    lines += ["", "合计 / total:" + _line_text(total).removeprefix("  :")]
    lines.append(
        f"受益企业 / beneficiaries: {total['baseline_beneficiaries']} → "
        f"{total['scenario_beneficiaries']}; 新增 / new {comparison['new_count']}, "
        f"退出 / dropped {comparison['dropped_count']}"
    )
    lines.append(
        f"增加者 / winners: {comparison['winners_count']}; "
        f"减少者 / losers: {comparison['losers_count']}"
    )
    for title, firms in (("增加最多 / largest rises", comparison["winners"]),
                         ("减少最多 / largest falls", comparison["losers"])):  # fmt: skip
        if firms:
            lines += ["", f"{title} (top {top}):"]
            lines += [_firm_text(firm) for firm in firms[:top]]
    impact: Decimal = comparison["budget_impact"]
    lines += ["", f"预算影响 / budget impact: {'-' if impact < 0 else '+'}¥{_money(abs(impact))}"]
    return "\n".join(lines)


def _line_text(item: dict[str, Any]) -> str:
    label = f"{item['label_zh']} / {item['label_en']}" if item["key"] else ""
    key = f"{item['key']} {label}".strip()
    return (
        f"  {key}: ¥{_money(item['baseline_amount'])} → ¥{_money(item['scenario_amount'])}"
        f" ({_signed(item['difference'])}); "
        f"{item['baseline_beneficiaries']} → {item['scenario_beneficiaries']}"
    )


def _firm_text(firm: dict[str, Any]) -> str:
    return (
        f"  {firm['uscc']} {firm['name']} {firm['district_code']}: "
        f"¥{_money(firm['baseline'])} → ¥{_money(firm['scenario'])} ({_signed(firm['difference'])})"
    )


# ---- explanations ----------------------------------------------------------------------------


def explanation_tree(
    *, policy_id: str, year: int, facts: Path | None, loans: Path | None, uscc: str
) -> dict[str, Any]:
    outcome = outcome_from_files(
        policy_id=policy_id, year=year, kind=None, facts=facts, loans=loans
    )
    return outcome_explain(outcome, uscc=uscc.strip().upper())
