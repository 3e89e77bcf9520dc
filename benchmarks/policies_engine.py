"""The policy engine end to end, side by side with OpenFisca-core and a hand-written floor.

    .venv/bin/python benchmarks/policies_engine.py [--rows 1000000] [--runs 3] [--write]

One run, one synthetic city (`wotu synth`, seed 2026), one year (2023), each contender in its
own child process (wall time, CPU time and peak RSS from ``/usr/bin/time``):

- **Wotu**: ``facts_frame_from_file`` → ``evaluate_many`` for the four policies in one query
  (``qingdao-wotu-2021`` evaluate; ``cn-hitech-2016``, ``cn-tech-sme-2017``,
  ``cn-rd-super-deduction`` assess) → the award / assessment tables with their ``basis`` column
  (``awards_frame``/``assessments_frame``, as ``wotu evaluate``/``assess`` write them) → Parquet.
  Also without ``basis`` (same tables, no basis column), to show what the explanations cost.
- **floor**: ``benchmarks/floor.py``, the same rules hand-written in Polars, same read and write,
  with a hand-written ``basis`` column (when/then chains of concatenated text carrying the same
  value, branch, inputs and parameters with references as Wotu's); **floor-nobasis** is the same
  without it. Wotu is compared like for like: with basis ÷ floor, without ÷ floor-nobasis.
- **OpenFisca**: ``benchmarks/openfisca_wotu``, the five Qingdao awards and the high-tech
  conditions as an OpenFisca country package on array inputs (needs the ``bench`` extra:
  ``.venv/bin/pip install -e '.[bench]'``; skipped with a note when it is not installed).
  **wotu-like-openfisca** is Wotu on the same two policies (``qingdao-wotu-2021`` and
  ``cn-hitech-2016``), no ``basis``: the like-for-like comparison (run with OpenFisca only).

Then, once each: explanations (``basis_expr``) for every row of the four policies; OpenFisca's
explanation cost (a traced simulation and a per-entity loop over its trace on a sample,
extrapolated; and a sample of one-enterprise traced simulations as its web API's ``/trace``
builds them); the outputs compared to the fen (Wotu vs floor on every column, Wotu vs
OpenFisca on the awards and conditions); and the evaluation API timed with 100,000 posted rows
(Django's test client, a bureau officer, a fresh SQLite database). With --write the report
replaces the "Policy engine (issue 3)" section of docs/benchmarks.md.

The synthetic city: ``wotu synth`` makes at most 200,000 enterprises, about 4.67 rows each over
2019–2023; for more rows the harness adds years before 2019 (200,000 × 2018–2023 gives
1,089,359 rows). Generated files are kept in --work and reused.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

# importlib.metadata and statistics are imported where used: the Wotu children run this file,
# and their wall time should not carry the harness's imports (importlib.metadata alone
# costs ~30 ms).
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` and `wotu` importable
    sys.path.insert(0, str(ROOT))

POLICIES = ("qingdao-wotu-2021", "cn-hitech-2016", "cn-tech-sme-2017", "cn-rd-super-deduction")
# What the OpenFisca package computes: Qingdao's awards and the high-tech conditions.
LIKE_OPENFISCA = ("qingdao-wotu-2021", "cn-hitech-2016")
CONTENDERS = ("wotu", "wotu-nobasis", "floor", "floor-nobasis", "wotu-like-openfisca", "openfisca")
OPENFISCA_SCHEMES = (
    "qingdao.hitech_first_cert",
    "qingdao.hitech_recert",
    "qingdao.listing_pool_rd_growth",
    "qingdao.listing_pool_project",
    "qingdao.rd_growth_top200",
)
HITECH_CONDITIONS = (
    "registered_1y",
    "core_ip",
    "hitech_field",
    "st_staff",
    "rd_intensity",
    "domestic_rd",
    "hitech_revenue",
    "innovation_score",
    "no_incident",
)
MAX_ENTERPRISES = 200_000
ROWS_PER_FIRM = 4.6  # wotu synth, 2019–2023 (a little under the 4.67 it gives)
SECTION = "## Policy engine (issue 3)"

# ---- children ----------------------------------------------------------------------------------


def child_wotu(
    facts_path: Path,
    out: Path,
    year: int,
    *,
    basis: bool,
    policy_ids: tuple[str, ...] = POLICIES,
    contender: str = "",
) -> dict[str, Any]:
    """Read → evaluate ``policy_ids`` → write, as `wotu evaluate`/`wotu assess` do."""
    import polars as pl

    from wotu.policies.engine import evaluate_many
    from wotu.policies.explain import is_money
    from wotu.policies.inputs import facts_frame_from_file
    from wotu.policies.outcomes import (
        Outcome,
        assessments_frame,
        awards_export,
        awards_frame,
        fen_to_cny,
        policy_for,
    )

    def no_basis(outcome: Outcome) -> pl.DataFrame:
        columns = [
            fen_to_cny(pl.col(name)).alias(name) if is_money(outcome.plan, name) else pl.col(name)
            for name in outcome.policy.outputs
        ]
        year_column = pl.lit(outcome.year, dtype=pl.Int64).alias("year")
        return outcome.result.select(pl.col("uscc"), year_column, *columns)

    out.mkdir(parents=True, exist_ok=True)
    phases: dict[str, float] = {}
    start = time.perf_counter()
    facts = facts_frame_from_file(facts_path)
    phases["read"] = time.perf_counter() - start
    awards_fen: dict[str, int] = {}
    # All four policies in one query sharing the year filter, history joins and sort.
    mark = time.perf_counter()
    policies = [policy_for(policy_id, year=year) for policy_id in policy_ids]
    evaluated = evaluate_many(policies, facts.lazy(), year=year)
    outcomes = [
        Outcome(policy, plan, result, year, policy.parameters)
        for policy, (plan, result) in zip(policies, evaluated, strict=True)
    ]
    phases[f"evaluate ({len(policies)} policies together)"] = time.perf_counter() - mark
    for policy_id, policy, outcome in zip(policy_ids, policies, outcomes, strict=True):
        mark = time.perf_counter()
        if policy.kind == "evaluate":
            table = awards_export(awards_frame(outcome, basis=basis))
            if not basis:
                table = table.drop("basis")
            fen = pl.col("amount_cny").cast(pl.Decimal(20, 2)).to_physical().cast(pl.Int64)
            for scheme, total in table.group_by("scheme").agg(fen.sum()).rows():
                awards_fen[str(scheme)] = int(total)
        else:
            table = assessments_frame(outcome) if basis else no_basis(outcome)
        phases[f"table {policy_id}"] = time.perf_counter() - mark
        mark = time.perf_counter()
        # what wotu.policies.cli.frame_write does for a .parquet
        table.write_parquet(out / f"{policy_id}.parquet", compression="zstd", statistics=False)
        phases[f"write {policy_id}"] = time.perf_counter() - mark
    return {
        "contender": contender or ("wotu" if basis else "wotu-nobasis"),
        "rows": facts.height,
        "phases": phases,
        "pipeline": time.perf_counter() - start,
        "awards_fen": awards_fen,
    }


def child_explain(facts_path: Path, year: int, repeat: int, trees: int) -> dict[str, Any]:
    """``basis_expr`` over every row of the four policies' results, ``repeat`` times; and the
    explanation tree (``explain_rows``, the API's ``explain: true``) for ``trees`` firms."""
    from wotu.policies.explain import basis_expr, explain_rows
    from wotu.policies.inputs import facts_frame_from_file
    from wotu.policies.outcomes import outcome_compute, policy_for

    facts = facts_frame_from_file(facts_path)
    outcomes = [
        outcome_compute(policy_for(policy_id, year=year), facts, year=year)
        for policy_id in POLICIES
    ]
    rows = sum(outcome.result.height for outcome in outcomes)
    totals: list[float] = []
    cpu: list[float] = []
    per_policy: dict[str, list[float]] = {}
    size = 0
    for _ in range(repeat):
        total = 0.0
        started = time.process_time()
        for outcome in outcomes:
            mark = time.perf_counter()
            basis = outcome.result.select(basis_expr(outcome.plan).alias("basis"))
            seconds = time.perf_counter() - mark
            total += seconds
            per_policy.setdefault(outcome.policy.id, []).append(seconds)
            size += int(basis.get_column("basis").str.len_bytes().sum() or 0)
        totals.append(total)
        cpu.append(time.process_time() - started)
    outcome = outcomes[0]
    usccs = outcome.result.get_column("uscc")
    picks = [usccs[int(i)] for i in range(0, len(usccs), max(1, len(usccs) // trees))][:trees]
    mark = time.perf_counter()
    for uscc in picks:
        json.dumps(explain_rows(outcome.plan, outcome.result, uscc=uscc), default=str)
    tree_seconds = time.perf_counter() - mark
    return {
        "rows": rows,
        "seconds": median(totals),
        "runs": totals,
        "basis_cpu": median(cpu),
        "per_policy": {k: median(v) for k, v in per_policy.items()},
        "mb": size / repeat / 1e6,
        "tree_sample": len(picks),
        "tree_per_entity": tree_seconds / max(1, len(picks)),
        "tree_rows": outcome.result.height,
    }


API_SCRIPT = r"""
import json, os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wotu.settings")
django.setup()
from django.test import Client
from wotu.core.models import User
body_path, year, policies = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
user, _ = User.objects.get_or_create(username="bench", defaults={"role": "bureau_officer"})
client = Client()
client.force_login(user)
rows = open(body_path, encoding="utf-8").read()
body = '{"year": %d, "rows": %s}' % (year, rows)
for policy in policies:
    start = time.perf_counter()
    response = client.post(f"/api/policies/{policy}/evaluate", data=body,
                           content_type="application/json")
    seconds = time.perf_counter() - start
    answer = json.loads(response.content) if response.status_code == 200 else {}
    print(json.dumps({"policy": policy, "status": response.status_code, "seconds": seconds,
                      "bytes": len(body), "answer_bytes": len(response.content),
                      "results": answer.get("count"),
                      "error": None if response.status_code == 200
                      else response.content[:300].decode(errors="replace")}))
"""


# ---- running children ----------------------------------------------------------------------------

Measured = dict[str, Any]


def run_child(args: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a child under /usr/bin/time: its JSON report plus wall, CPU (user + system) and peak
    RSS (MiB)."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M", *args],
        cwd=ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    _, user, system, peak = done.stderr.strip().splitlines()[-1].split()
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    report = json.loads(lines[-1]) if lines else {}
    return {
        **report,
        "wall": wall,
        "cpu": float(user) + float(system),
        "rss": int(peak) // 1024,
        "stdout": lines,
    }


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def this(*args: str) -> list[str]:
    return python(str(Path(__file__).resolve()), *args)


def openfisca_available() -> bool:
    done = subprocess.run(
        python("-c", "import openfisca_core"), capture_output=True, check=False, cwd=ROOT
    )
    return done.returncode == 0


# ---- the city ------------------------------------------------------------------------------------


def city(rows: int, work: Path) -> tuple[Path, int, int, str]:
    """A synthetic city of at least ``rows`` rows (see the module doc): path, rows,
    enterprises, years."""
    import polars as pl

    enterprises = min(MAX_ENTERPRISES, math.ceil(rows / ROWS_PER_FIRM))
    first = 2019
    while enterprises * (ROWS_PER_FIRM + (2019 - first) * 0.9) < rows:
        first -= 1
    while True:
        years = f"{first}-2023"
        path = work / f"city-{enterprises}-{years}-2026.parquet"
        if not path.exists():
            started = time.perf_counter()
            command = [sys.executable, "-m", "wotu.cli", "synth", "--enterprises",
                       str(enterprises), "--years", years, "--seed", "2026", "--out",
                       str(path), "--quiet"]  # fmt: skip
            env = dict(os.environ, WOTU_VAR_DIR=str(work))
            subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
            print(f"synth {years} × {enterprises}: {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)  # fmt: skip
        count = pl.scan_parquet(path).select(pl.len()).collect().item()
        if count >= rows or enterprises < MAX_ENTERPRISES or first <= 2000:
            return path, int(count), enterprises, years
        first -= 1


def machine() -> dict[str, str]:
    import importlib.metadata

    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
    total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.M)
    versions = {}
    for module, distribution in (("polars", "polars"), ("numpy", "numpy"),
                                 ("openfisca_core", "openfisca-core")):  # fmt: skip
        try:
            versions[module] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[module] = "not installed"
    return {
        "cpu": model.group(1).strip() if model else platform.processor(),
        "cores": str(os.cpu_count()),
        "ram": f"{int(total.group(1)) / 1024 / 1024:.0f} GiB" if total else "?",
        "python": platform.python_version(),
        **versions,
    }


# ---- comparing outputs ---------------------------------------------------------------------------


def _basis_differ(ours: Any, hand: Any) -> int:
    """Rows whose basis text differs between Wotu and the floor (-1: not the same rows)."""
    if ours.height != hand.height or not ours.get_column("uscc").equals(hand.get_column("uscc")):
        return -1
    return int((~ours.get_column("basis").eq_missing(hand.get_column("basis"))).sum())


def compare(dirs: dict[str, Path], year: int) -> dict[str, Any]:
    import polars as pl

    found: dict[str, Any] = {"assess": {}, "schemes": {}, "openfisca": {}}
    wotu, floor = dirs["wotu"], dirs["floor"]
    awards = pl.read_parquet(wotu / "qingdao-wotu-2021.parquet")
    floor_awards = pl.read_parquet(floor / "qingdao-wotu-2021.parquet")

    def fen(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        money = pl.col(column).cast(pl.Decimal(20, 2)).to_physical().cast(pl.Int64)
        return frame.select("uscc", "scheme", money.alias("fen"))

    ours = fen(awards, "amount_cny")
    hand = fen(floor_awards, "amount_cny")
    joined = ours.join(hand, on=["uscc", "scheme"], how="full", coalesce=True, suffix="_floor")
    for scheme in sorted(set(ours.get_column("scheme").to_list()) | set(hand["scheme"])):
        part = joined.filter(pl.col("scheme") == scheme)
        found["schemes"][scheme] = {
            "wotu_fen": int(part.get_column("fen").sum() or 0),
            "floor_fen": int(part.get_column("fen_floor").sum() or 0),
            "awards": int(part.get_column("fen").is_not_null().sum()),
            "differ": int(part.filter(pl.col("fen").ne_missing(pl.col("fen_floor"))).height),
        }
    found["award_rows"] = {"wotu": awards.height, "floor": floor_awards.height}
    found["award_rows_equal"] = awards.drop("basis").equals(floor_awards.drop("basis"))
    found["basis"] = {
        "qingdao-wotu-2021": _basis_differ(awards.sort("uscc", "scheme"), floor_awards)
    }
    for policy_id in POLICIES[1:]:
        ours_table = pl.read_parquet(wotu / f"{policy_id}.parquet").drop("basis")
        hand_table = pl.read_parquet(floor / f"{policy_id}.parquet")
        found["basis"][policy_id] = _basis_differ(
            pl.read_parquet(wotu / f"{policy_id}.parquet", columns=["uscc", "basis"]), hand_table
        )
        hand_table = hand_table.drop("basis")
        cells = 0
        differ: dict[str, int] = {}
        same_rows = ours_table.height == hand_table.height and ours_table.get_column("uscc").equals(
            hand_table.get_column("uscc")
        )
        for column in ours_table.columns:
            if column not in hand_table.columns or not same_rows:
                differ[column] = -1
                continue
            a, b = ours_table.get_column(column), hand_table.get_column(column)
            bad = int((~(a.eq_missing(b))).sum())
            cells += ours_table.height
            if bad:
                differ[column] = bad
        found["assess"][policy_id] = {
            "rows": ours_table.height,
            "columns": ours_table.width,
            "cells": cells,
            "differ": differ,
        }
    if "openfisca" in dirs:
        found["openfisca"] = compare_openfisca(dirs["openfisca"], wotu, ours)
    return found


def compare_openfisca(path: Path, wotu: Path, ours: Any) -> dict[str, Any]:
    import polars as pl

    theirs = pl.read_parquet(path / "qingdao-wotu-2021.parquet").select(
        "uscc",
        "scheme",
        pl.col("amount_cny").alias("float32"),
        (pl.col("amount_cny").cast(pl.Float64) * 100 + 0.5).floor().cast(pl.Int64).alias("of_fen"),
    )
    joined = ours.filter(pl.col("scheme").is_in(OPENFISCA_SCHEMES)).join(
        theirs, on=["uscc", "scheme"], how="full", coalesce=True
    )
    schemes = {}
    for scheme in OPENFISCA_SCHEMES:
        part = joined.filter(pl.col("scheme") == scheme)
        schemes[scheme] = {
            "awards": int(part.get_column("of_fen").is_not_null().sum()),
            "differ": int(part.filter(pl.col("fen").ne_missing(pl.col("of_fen"))).height),
            "missing": int(
                part.filter(pl.col("fen").is_null() | pl.col("of_fen").is_null()).height
            ),
            "max_abs_fen": int(
                (part.get_column("fen").fill_null(0) - part.get_column("of_fen").fill_null(0))
                .abs()
                .max()
                or 0
            ),
        }
    conditions = pl.read_parquet(path / "cn-hitech-2016.parquet")
    assessed = pl.read_parquet(wotu / "cn-hitech-2016.parquet").select(
        "uscc",
        "conditions_met",
        *[
            (~pl.col("failed_conditions").str.split(";").list.contains(pl.lit(cid))).alias(
                f"w_{cid}"
            )
            for cid in HITECH_CONDITIONS
        ],
    )
    both = assessed.join(conditions, on="uscc", how="inner")
    differ = {
        cid: int((both.get_column(f"w_{cid}") != both.get_column(f"hitech_{cid}")).sum())
        for cid in HITECH_CONDITIONS
    }
    differ["conditions_met"] = int(
        (both.get_column("conditions_met") != both.get_column("hitech_conditions_met")).sum()
    )
    return {"schemes": schemes, "conditions": differ, "enterprises": both.height}


# ---- the API -------------------------------------------------------------------------------------


def api_check(facts: Path, work: Path, year: int, rows: int) -> list[dict[str, Any]] | str:
    import polars as pl

    if not (ROOT / "wotu" / "policies" / "api.py").exists():
        return "pending: wotu/policies/api.py does not exist yet"
    api_source = (ROOT / "wotu" / "policies" / "api.py").read_text(encoding="utf-8")
    if "/policies/{policy_id}/evaluate" not in api_source:
        return "pending: no /api/policies/{id}/evaluate endpoint yet"
    database = work / "api.sqlite3"
    database.unlink(missing_ok=True)
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{database}",
        WOTU_VAR_DIR=str(work),
        ALLOWED_HOSTS="testserver",
    )
    subprocess.run(
        [sys.executable, "-m", "wotu.cli", "migrate", "-v0"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    frame = pl.read_parquet(facts).head(rows)
    text = frame.with_columns(
        [
            pl.col(name).cast(pl.String)
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Decimal) or dtype == pl.Date
        ]
    )
    body = work / "api-rows.json"
    body.write_text(text.write_json(), encoding="utf-8")
    measured = run_child(
        python("-c", API_SCRIPT, str(body), str(year), ",".join(POLICIES)), env=env
    )
    answers = [json.loads(line) for line in measured["stdout"]]
    enterprises = frame.filter(pl.col("year") == year).height
    for answer in answers:
        answer["rows"] = frame.height
        answer["enterprises"] = enterprises
        answer["rss"] = measured["rss"]
    return answers


# ---- the report ----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


def cny(fen: int) -> str:
    return f"{Decimal(fen).scaleb(-2):,.2f}"


def render(results: dict[str, Any]) -> str:
    m, runs = results["machine"], results["runs"]
    rows, year = results["rows"], results["year"]
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python benchmarks/policies_engine.py {results['argv']}`"
        f" — {results['date']}.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM; Python {m['python']},"
        f" Polars {m['polars']}, NumPy {m['numpy']}, OpenFisca-Core {m['openfisca_core']}."
        f" Load average {results['load'][0]:.1f} at the start, {results['load'][1]:.1f} at the"
        " end (the machine is shared: CPU time, user + system of the child, is steadier than"
        " wall time when it is busy).",
        "",
        f"{rows:,} enterprise-year rows (`wotu synth --enterprises {results['enterprises']}"
        f" --years {results['years']} --seed 2026`, Parquet; synth makes at most 200,000"
        f" enterprises, so rows past 5 × 200,000 come from earlier years); year {year}:"
        f" {results['year_rows']:,} enterprises, 4 policies. Each contender runs in its own"
        " process: read the Parquet → evaluate → write Parquet (`zstd`). Wall time is the"
        " child's whole life (interpreter and imports included); *pipeline* is read → write"
        " inside it. "
        + (
            f"Median of {len(runs['wotu'])} runs; peak RSS is the largest of the runs."
            if len(runs["wotu"]) > 1
            else "One run each (not a median); peak RSS of that run."
        ),
        "",
        "| contender | what it computes | wall | CPU | pipeline | peak RSS"
        " | ÷ floor with `basis` (wall / CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    what = {
        "wotu": "4 policies, every output, `basis` on every row",
        "wotu-nobasis": "4 policies, every output, no `basis`",
        "floor": "4 policies, every output, hand-written `basis` on every row",
        "floor-nobasis": "4 policies, every output, no `basis`",
        "wotu-like-openfisca": "Qingdao and high-tech only (every output of the two), no `basis`",
        "openfisca": "5 Qingdao awards + high-tech conditions, no explanation",
    }
    floor_wall = median([r["wall"] for r in runs["floor"]])
    floor_cpu = median([r["cpu"] for r in runs["floor"]])
    lines[-2:-2] = targets(results, floor_wall)
    for name in CONTENDERS:
        measured = runs.get(name)
        if not measured:
            continue
        wall = median([r["wall"] for r in measured])
        cpu = median([r["cpu"] for r in measured])
        pipeline = median([r["pipeline"] for r in measured])
        rss = max(r["rss"] for r in measured)
        lines.append(
            f"| {name} | {what[name]} | {wall:.1f} s | {cpu:.1f} s | {pipeline:.1f} s"
            f" | {rss:,} MiB | {wall / floor_wall:.1f}× / {cpu / floor_cpu:.1f}× |"
        )
    if runs.get("openfisca") and runs.get("wotu-like-openfisca"):
        like, of = runs["wotu-like-openfisca"], runs["openfisca"]
        of_rest = median([r["wall"] - r["pipeline"] for r in of])
        like_rest = median([r["wall"] - r["pipeline"] for r in like])
        lines += [
            "",
            "Like for like with OpenFisca: *wotu-like-openfisca* is Wotu computing the two"
            f" policies OpenFisca's package encodes ({', '.join(LIKE_OPENFISCA)}: every output of"
            " both, which is more than OpenFisca's five awards and nine conditions) over the same"
            " file, without `basis`; its awards are "
            + ("the same to the fen as" if _like_awards_equal(runs) else "**not** the same as")
            + f" the four-policy run's. Pipeline {median([r['pipeline'] for r in like]):.1f} s"
            f" against OpenFisca's {median([r['pipeline'] for r in of]):.1f} s; outside the"
            f" pipeline (interpreter and imports) {like_rest:.1f} s against {of_rest:.1f} s"
            " (mostly importing openfisca-core).",
        ]
    if results.get("openfisca_note"):
        lines += ["", f"OpenFisca: {results['openfisca_note']}"]
    lines += ["", "Where the time goes (median pipeline phases, seconds):", ""]
    for name in CONTENDERS:
        measured = runs.get(name)
        if not measured:
            continue
        phases = measured[0]["phases"]
        cells = ", ".join(
            f"{phase} {median([r['phases'][phase] for r in measured]):.2f}" for phase in phases
        )
        lines.append(f"- {name}: {cells}")
    explain = results["explain"]
    lines += [
        "",
        "Explanations:",
        "",
        f"- Wotu `basis_expr` for every row of the four policies ({explain['rows']:,} rows,"
        f" every output of each, {explain['mb']:,.0f} MB of text): **{explain['seconds']:.1f} s**"
        f" wall, {explain['basis_cpu']:.1f} s CPU (median of {len(explain['runs'])}; "
        + ", ".join(f"{k} {v:.2f} s" for k, v in explain["per_policy"].items())
        + f"); at that rate 1,000,000 rows take {explain['seconds'] / explain['rows'] * 1e6:.1f}"
        " s (linear extrapolation). The explanation tree of one enterprise (`explain_rows`, what"
        f" the API's `explain: true` adds per row) takes {explain['tree_per_entity'] * 1e3:.1f} ms"
        f" on the {explain['tree_rows']:,}-row Qingdao result ({explain['tree_sample']} firms).",
    ]
    if runs.get("wotu-nobasis"):

        def tables(name: str) -> float:
            return median(
                [
                    sum(v for k, v in r["phases"].items() if k.startswith("table"))
                    for r in runs[name]
                ]
            )

        lines[-1] += (
            f" Inside the Wotu pipeline the same text, built once and cold, costs"
            f" {tables('wotu') - tables('wotu-nobasis'):.1f} s (its *table* phases with `basis`"
            " minus without); the figure above is the median of 3 in a warm process."
        )
    trace = results.get("trace")
    if trace:
        t, s = trace["trace"], trace["situation"]
        lines += [
            f"- OpenFisca, trace per entity: the simulation with `trace = True` takes"
            f" {t['traced_run']:.2f} s ({t['nodes']} trace nodes); writing one enterprise's"
            f" computation log from it (every node's value for that enterprise and the"
            f" parameters read, {t['lines_per_entity']:.0f} lines) takes"
            f" {t['per_entity'] * 1e6:.0f} µs, measured on {t['sample']:,} enterprises spread"
            f" over the year; extrapolated linearly to all {t['entities']:,} enterprises:"
            f" **{t['all_rows']:.0f} s**, to 1,000,000 rows"
            f" {t['traced_run'] + t['per_entity'] * 1e6:.0f} s. It cites every variable"
            " computed, branches not taken included, and no legal reference per value.",
            f"- OpenFisca as its web API's `/trace` works (one traced one-enterprise simulation"
            f" per situation, serialised): {s['per_entity'] * 1e3:.1f} ms per enterprise on"
            f" {s['sample']} enterprises; extrapolated to {s['entities']:,}:"
            f" {s['all_rows'] / 60:.0f} min.",
        ]
    found = results["compare"]
    lines += [
        "",
        f"Awards {year} (Qingdao; no loans file, so the loan subsidy is 0 for all). Δ is the"
        " contender's total minus Wotu's, in fen. OpenFisca's amounts are float32 yuan:"
        " 'rounded' rounds each award to the fen and sums, 'float32 sum' is numpy's sum of the"
        " float32 array.",
        "",
        "| scheme | awards | Wotu total (CNY) | floor Δ fen | awards differing (floor)"
        " | OpenFisca Δ fen rounded | OpenFisca Δ fen float32 sum | awards differing (OpenFisca) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    openfisca = runs.get("openfisca")
    of_awards = openfisca[0]["awards"] if openfisca else {}
    of_compare = found.get("openfisca", {}).get("schemes", {})
    total = {"wotu": 0, "floor": 0, "of": 0, "of32": 0}
    for scheme, item in found["schemes"].items():
        total["wotu"] += item["wotu_fen"]
        total["floor"] += item["floor_fen"]
        of_cells = ["—", "—", "—"]
        if scheme in of_awards:
            theirs = of_awards[scheme]
            total["of"] += theirs["fen"] - item["wotu_fen"]
            total["of32"] += theirs["float32_sum_fen"] - item["wotu_fen"]
            differ = of_compare.get(scheme, {})
            of_cells = [
                f"{theirs['fen'] - item['wotu_fen']:+,}",
                f"{theirs['float32_sum_fen'] - item['wotu_fen']:+,}",
                f"{differ.get('differ', 0):,} (max {differ.get('max_abs_fen', 0):,} fen)",
            ]
        lines.append(
            f"| `{scheme}` | {item['awards']:,} | {cny(item['wotu_fen'])}"
            f" | {item['floor_fen'] - item['wotu_fen']:+,} | {item['differ']} | "
            + " | ".join(of_cells)
            + " |"
        )
    lines.append(
        f"| total | | {cny(total['wotu'])} | {total['floor'] - total['wotu']:+,} | |"
        + (f" {total['of']:+,} | {total['of32']:+,} | |" if of_awards else " — | — | — |")
    )
    lines += ["", "Assessments, Wotu against the floor, every output column of every row:", ""]
    basis_rows = found.get("basis", {})
    for policy_id, item in found["assess"].items():
        differ = item["differ"]
        verdict = (
            "identical"
            if not differ
            else "differ: " + ", ".join(f"{k} {v}" for k, v in differ.items())
        )
        lines.append(
            f"- `{policy_id}`: {item['rows']:,} rows × {item['columns'] - 2} outputs — {verdict}"
        )
    if basis_rows:
        lines.append(
            "- `basis` text, the floor's hand-written column against Wotu's, rows whose text"
            " differs (−1: not the same rows): "
            + ", ".join(f"{k} {v:,}" for k, v in basis_rows.items())
            + "."
        )
    if found.get("openfisca"):
        conditions = found["openfisca"]["conditions"]
        lines.append(
            f"- `cn-hitech-2016` against OpenFisca ({found['openfisca']['enterprises']:,}"
            " enterprises), condition by condition, enterprises whose verdict differs: "
            + ", ".join(f"{k} {v}" for k, v in conditions.items())
            + "."
        )
    api = results["api"]
    lines += ["", "Evaluation API (`POST /api/policies/{id}/evaluate`, nothing saved):", ""]
    if isinstance(api, str):
        lines.append(f"- {api}")
    else:
        first = api[0]
        lines.append(
            f"- {first['rows']:,} facts rows posted as JSON ({first['bytes'] / 1e6:.0f} MB;"
            f" {first['enterprises']:,} enterprises in {year}, the others their earlier years),"
            " Django's test client in one process logged in as a bureau officer, SQLite;"
            f" peak RSS {first['rss']:,} MiB:"
        )
        for item in api:
            if item["status"] == 200:
                lines.append(
                    f"  - `{item['policy']}`: {item['seconds']:.1f} s, HTTP 200,"
                    f" {item['results']:,} results with `basis`,"
                    f" {item['answer_bytes'] / 1e6:.0f} MB answer"
                )
            else:
                lines.append(
                    f"  - `{item['policy']}`: HTTP {item['status']} after"
                    f" {item['seconds']:.1f} s — {item['error']}"
                )
    return "\n".join(lines) + "\n"


def _like_awards_equal(runs: dict[str, Any]) -> bool:
    """The like-for-like run's award totals equal the four-policy run's, scheme by scheme."""
    like = runs["wotu-like-openfisca"][0]["awards_fen"]
    return bool(like) and like == runs["wotu"][0]["awards_fen"]


def targets(results: dict[str, Any], floor_wall: float) -> list[str]:
    """The issue's targets against this run, as a table (put before the contenders' table)."""
    runs, found, explain = results["runs"], results["compare"], results["explain"]
    wotu = median([r["wall"] for r in runs["wotu"]])
    bare = median([r["wall"] for r in runs["wotu-nobasis"]])
    floor_bare = median([r["wall"] for r in runs["floor-nobasis"]])
    wotu_cpu = median([r["cpu"] for r in runs["wotu"]])
    bare_cpu = median([r["cpu"] for r in runs["wotu-nobasis"]])
    floor_cpu = median([r["cpu"] for r in runs["floor"]])
    floor_bare_cpu = median([r["cpu"] for r in runs["floor-nobasis"]])
    basis_rows = found.get("basis", {})
    basis_same = bool(basis_rows) and all(v == 0 for v in basis_rows.values())
    per_million = explain["seconds"] / explain["rows"] * 1e6
    fen_equal = all(item["wotu_fen"] == item["floor_fen"] for item in found["schemes"].values())
    cells_equal = all(not item["differ"] for item in found["assess"].values())
    rows = [
        (
            "Wotu ≤ 1.5 × the floor, end to end — like for like, both writing `basis`"
            " (Wotu ÷ floor)",
            f"{wotu / floor_wall:.1f}× wall, {wotu_cpu / floor_cpu:.1f}× CPU"
            + (
                " (the floor's `basis` text is identical to Wotu's on every row)"
                if basis_same
                else " (the floor's `basis` text differs from Wotu's: see below)"
            ),
            wotu / floor_wall <= 1.5,
        ),
        (
            "Wotu ≤ 1.5 × the floor, end to end — neither writing `basis`"
            " (wotu-nobasis ÷ floor-nobasis)",
            f"{bare / floor_bare:.1f}× wall, {bare_cpu / floor_bare_cpu:.1f}× CPU",
            bare / floor_bare <= 1.5,
        ),
        (
            "for reference: Wotu with `basis` ÷ floor without (the old, unequal comparison)",
            f"{wotu / floor_bare:.1f}× wall, {wotu_cpu / floor_bare_cpu:.1f}× CPU",
            wotu / floor_bare <= 1.5,
        ),
        (
            "explanations for 1,000,000 rows < 5 s",
            f"{per_million:.1f} s ({explain['seconds']:.1f} s wall,"
            f" {explain['basis_cpu']:.1f} s CPU for {explain['rows']:,} rows)",
            per_million < 5,
        ),
        (
            "0 fen between Wotu and the floor",
            "0 fen on every scheme, every assessment cell equal"
            if fen_equal and cells_equal
            else "differences: see below",
            fen_equal and cells_equal,
        ),
    ]
    if runs.get("openfisca"):
        openfisca = median([r["wall"] for r in runs["openfisca"]])
        openfisca_cpu = median([r["cpu"] for r in runs["openfisca"]])
        if runs.get("wotu-like-openfisca"):
            like = median([r["wall"] for r in runs["wotu-like-openfisca"]])
            like_cpu = median([r["cpu"] for r in runs["wotu-like-openfisca"]])
            rows.insert(
                1,
                (
                    "Wotu faster than OpenFisca end to end — like for like, the same two"
                    " policies, neither explaining (wotu-like-openfisca against openfisca)",
                    f"{like:.1f} s against {openfisca:.1f} s wall ({like / openfisca:.2f}×),"
                    f" {like_cpu:.1f} s against {openfisca_cpu:.1f} s CPU",
                    like < openfisca,
                ),
            )
        rows.insert(
            2,
            (
                "for reference: Wotu, all four policies with `basis`, against OpenFisca's two"
                " without",
                f"{wotu:.1f} s against {openfisca:.1f} s wall",
                wotu < openfisca,
            ),
        )
    api = results["api"]
    if not isinstance(api, str):
        slowest = max(item["seconds"] for item in api)
        ok = all(item["status"] == 200 for item in api) and slowest < 10
        rows.append(
            (
                f"{api[0]['rows']:,} rows posted to the evaluate API < 10 s",
                f"{slowest:.1f} s for the slowest policy",
                ok,
            )
        )
    lines = ["| target | this run | met |", "|---|---|---|"]
    lines += [f"| {what} | {value} | {'yes' if ok else '**no**'} |" for what, value, ok in rows]
    return [*lines, ""]


def write_section(report: str) -> None:
    target = ROOT / "docs" / "benchmarks.md"
    text = target.read_text(encoding="utf-8") if target.exists() else "# Benchmarks\n\n"
    # Everything up to the next section, or up to the hand-written "### Profile" part, which a
    # new run keeps.
    pattern = re.compile(re.escape(SECTION) + r"\n.*?(?=\n### Profile|\n## |\Z)", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: report.rstrip("\n") + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n\n" + report
    target.write_text(text, encoding="utf-8")


# ---- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "wotu-bench")
    parser.add_argument("--trace-sample", type=int, default=2000)
    parser.add_argument("--situation-sample", type=int, default=20)
    parser.add_argument("--api-rows", type=int, default=100_000)
    parser.add_argument("--no-openfisca", action="store_true")
    parser.add_argument("--no-api", action="store_true")
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--child", choices=["wotu", "wotu-nobasis", "wotu-like-openfisca", "explain"]
    )
    parser.add_argument("--facts", type=Path)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    if options.child:
        if options.child == "explain":
            answer = child_explain(options.facts, options.year, 3, 200)
        elif options.child == "wotu-like-openfisca":
            answer = child_wotu(
                options.facts,
                options.out,
                options.year,
                basis=False,
                policy_ids=LIKE_OPENFISCA,
                contender=options.child,
            )
        else:
            answer = child_wotu(
                options.facts, options.out, options.year, basis=options.child == "wotu"
            )
        print(json.dumps(answer))
        return
    work: Path = options.work
    work.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    facts, rows, enterprises, years = city(options.rows, work)
    print(f"city: {rows:,} rows, {facts}", file=sys.stderr)
    year = options.year
    with_openfisca = not options.no_openfisca and openfisca_available()
    dirs = {name: work / f"out-{name}" for name in CONTENDERS}
    commands: dict[str, list[str]] = {
        "wotu": this("--child", "wotu", "--facts", str(facts), "--out", str(dirs["wotu"]),
                     "--year", str(year)),
        "wotu-nobasis": this("--child", "wotu-nobasis", "--facts", str(facts), "--out",
                             str(dirs["wotu-nobasis"]), "--year", str(year)),
        "floor": python("-m", "benchmarks.floor", "--facts", str(facts), "--out",
                        str(dirs["floor"]), "--year", str(year)),
        "floor-nobasis": python("-m", "benchmarks.floor", "--facts", str(facts), "--out",
                                str(dirs["floor-nobasis"]), "--year", str(year), "--no-basis"),
    }  # fmt: skip
    if with_openfisca:
        commands["wotu-like-openfisca"] = this(
            "--child", "wotu-like-openfisca", "--facts", str(facts), "--out",
            str(dirs["wotu-like-openfisca"]), "--year", str(year),
        )  # fmt: skip
        commands["openfisca"] = python(
            "-m", "benchmarks.openfisca_wotu.run", "--facts", str(facts), "--out",
            str(dirs["openfisca"]), "--year", str(year),
        )  # fmt: skip
    runs: dict[str, list[Measured]] = {name: [] for name in commands}
    for number in range(options.runs):
        for name, command in commands.items():
            measured = run_child(command)
            runs[name].append(measured)
            print(
                f"run {number + 1} {name}: wall {measured['wall']:.1f} s, cpu"
                f" {measured['cpu']:.1f} s, pipeline {measured['pipeline']:.1f} s,"
                f" rss {measured['rss']} MiB",
                file=sys.stderr,
            )
    explain = run_child(this("--child", "explain", "--facts", str(facts), "--year", str(year)))
    print(f"explain: {explain['seconds']:.1f} s for {explain['rows']:,} rows", file=sys.stderr)
    trace = None
    if with_openfisca:
        trace = run_child(
            python(
                "-m", "benchmarks.openfisca_wotu.run", "--facts", str(facts), "--out",
                str(work / "out-openfisca-trace"), "--year", str(year),
                "--trace-sample", str(options.trace_sample),
                "--situation-sample", str(options.situation_sample),
            )
        )  # fmt: skip
        print(f"openfisca trace: {trace['trace']['all_rows']:.0f} s", file=sys.stderr)
    found = compare({k: v for k, v in dirs.items() if k in commands}, year)
    api: list[dict[str, Any]] | str = "skipped (--no-api)"
    if not options.no_api:
        api = api_check(facts, work, year, options.api_rows)
        print(f"api: {api}", file=sys.stderr)
    results = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
        "enterprises": enterprises,
        "years": years,
        "year": year,
        "year_rows": runs["floor"][0]["year_rows"],
        "runs": runs,
        "explain": explain,
        "trace": trace,
        "compare": found,
        "api": api,
        "load": (load_start, os.getloadavg()[0]),
        "argv": " ".join(sys.argv[1:]),
        "openfisca_note": None
        if with_openfisca
        else "skipped (--no-openfisca)"
        if options.no_openfisca
        else "not run — install the bench extra: .venv/bin/pip install -e '.[bench]'",
    }
    (work / "results.json").write_text(json.dumps(results, default=str, indent=1), "utf-8")
    report = render(results)
    print(report)
    if options.write:
        write_section(report)


if __name__ == "__main__":
    main()
