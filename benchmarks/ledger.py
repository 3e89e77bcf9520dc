"""The ledger: journal entries posted per second, and commitments per second with many writers
on one budget.

    .venv/bin/python benchmarks/ledger.py [--entries 2000] [--writers 50] [--each 20] [--write]

For each database (SQLite in a temporary file; PostgreSQL at ``wotu_bench_ledger`` when the
server at 127.0.0.1 answers), a fresh database is migrated with ``wotu migrate`` and a child
process measures, through the public services (so every entry also appends its audit event,
and every commitment takes its idempotency key, budget lock and two audit events):

- **entries**: ``entry_post`` of ``--entries`` two-line entries, one transaction each, one writer;
- **commitments, 1 writer**: ``commitment_create`` one after another against one budget;
- **commitments, N writers** (PostgreSQL only): ``--writers`` threads, each with its own
  connection, each making ``--each`` commitments against the same budget at once. They queue on
  the budget row lock (and the audit chain head), so this measures contention, not parallelism.
  The budget is sized so that the last 10 % of attempts are refused: refusals are counted apart,
  and the budget left is checked to be exactly zero afterwards (never overspent).

With --write the report replaces the "Ledger (issue 5)" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `wotu` importable
    sys.path.insert(0, str(ROOT))

WOTU = [sys.executable, "-m", "wotu.cli"]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgres://postgres@127.0.0.1:5432/wotu_bench_ledger"
SECTION = "## Ledger (issue 5)"
DOC = ROOT / "docs" / "benchmarks.md"


# ---- the child: one database -------------------------------------------------------------------


def child(entries: int, writers: int, each: int) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wotu.settings")
    django.setup()
    from decimal import Decimal

    from django.db import connection, connections

    from wotu.core.audit import audit_verify
    from wotu.core.errors import WotuError
    from wotu.core.models import Role, User
    from wotu.ledger.models import AccountKind, EntryKind, FundingSource, SourceKind
    from wotu.ledger.posting import account_for, entry_post, trial_balance
    from wotu.ledger.services import budget_allocate, budget_left, commitment_create
    from wotu.organisations.models import Kind, Organisation, Region
    from wotu.programmes.models import Programme

    actor = User.objects.create(username="bench-finance", role=Role.FINANCE_OFFICER)
    debit = account_for(kind=AccountKind.SOURCE)
    credit = account_for(kind=AccountKind.BUDGET)
    start = time.perf_counter()
    for n in range(entries):
        amount = Decimal(n % 997 + 1) / 100
        entry_post(kind=EntryKind.ALLOCATE, lines=[(debit, amount), (credit, -amount)],
                   actor=actor, memo=f"bench {n}")  # fmt: skip
    entry_seconds = time.perf_counter() - start

    payee = Organisation.objects.create(
        kind=Kind.UNIVERSITY, region=Region.HONG_KONG, name="基准大学", name_en="Bench U",
        local_id="HK-B",
    )  # fmt: skip
    source = FundingSource.objects.create(code="bench", kind=SourceKind.CITY, name="基准",
                                          name_en="Bench")  # fmt: skip

    def budget(code: str, attempts: int) -> Programme:
        programme = Programme.objects.create(code=code, title=code, title_en=code, year=2026,
                                             budget=Decimal(attempts))  # fmt: skip
        # Room for 90 % of the attempts at CNY 1.00 each: the rest must be refused.
        budget_allocate(programme=programme, year=2026, source=source, actor=actor,
                        amount=Decimal(attempts * 9 // 10), key=f"{code}-budget")  # fmt: skip
        return programme

    def commit(programme: Programme, tag: str) -> bool:
        try:
            commitment_create(award_type="bench", award_id=tag, programme=programme, year=2026,
                              source=source, payee=payee, amount=Decimal("1.00"), actor=actor,
                              key=f"{programme.code}-{tag}")  # fmt: skip
        except WotuError:
            return False
        return True

    single_attempts = max(writers * each // 2, 100)
    one = budget("bench-one", single_attempts)
    start = time.perf_counter()
    single_booked = sum(commit(one, str(n)) for n in range(single_attempts))
    single_seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        "vendor": connection.vendor,
        "entries": entries,
        "entry_seconds": entry_seconds,
        "single_attempts": single_attempts,
        "single_booked": single_booked,
        "single_seconds": single_seconds,
    }
    if connection.vendor == "postgresql":
        many = budget("bench-many", writers * each)
        booked = [0] * writers
        barrier = threading.Barrier(writers + 1)

        def writer(index: int) -> None:
            barrier.wait()
            try:
                booked[index] = sum(commit(many, f"{index}-{n}") for n in range(each))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        barrier.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        result.update(
            writers=writers,
            many_attempts=writers * each,
            many_booked=sum(booked),
            many_seconds=time.perf_counter() - start,
            many_left=str(budget_left(programme=many, year=2026, source=source)),
        )
    result["trial_balance"] = {k: str(v) for k, v in trial_balance().items()}
    result["audit_intact"] = audit_verify() is None
    return result


# ---- the harness -------------------------------------------------------------------------------


def fresh(database: str, var: Path) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=database, WOTU_VAR_DIR=str(var))
    if database.startswith("postgres"):
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS wotu_bench_ledger WITH (FORCE)")
            conn.execute("CREATE DATABASE wotu_bench_ledger")
    subprocess.run([*WOTU, "migrate", "-v0"], env=env, check=True)
    return env


def pg_reachable() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def measure(database: str, work: Path, options: argparse.Namespace) -> dict[str, Any]:
    env = fresh(database, work)
    args = [sys.executable, __file__, "--child", "--entries", str(options.entries),
            "--writers", str(options.writers), "--each", str(options.each)]  # fmt: skip
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"benchmark child failed on {database}:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory = f", {int(line.split()[1]) // 1024 // 1024 + 1} GiB RAM"
    return f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}"


def render(results: dict[str, dict[str, Any]], options: argparse.Namespace) -> str:
    command = "`.venv/bin/python benchmarks/ledger.py --write`"
    if (options.entries, options.writers, options.each) != (2000, 50, 20):
        command = (
            f"`.venv/bin/python benchmarks/ledger.py --entries {options.entries}"
            f" --writers {options.writers} --each {options.each} --write`"
        )
    lines = [
        SECTION,
        "",
        f"Command: {command} — {time.strftime('%Y-%m-%d')}. Machine: {machine()}."
        f" Load average {options.load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the"
        " end (the machine is shared; PostgreSQL commits wait for fsync).",
        "",
        "Through the public services: every entry appends its `ledger.entry` audit event in the"
        " same transaction; every commitment takes its idempotency key, locks the budget row,"
        " posts its entry and writes two audit events. One transaction per entry/commitment.",
        "",
        "| database | entries/s (1 writer) | commitments/s (1 writer) | commitments/s"
        " (N writers, one budget) | refused as over budget | budget left after |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        entries = r["entries"] / r["entry_seconds"]
        single = r["single_attempts"] / r["single_seconds"]
        if "many_seconds" in r:
            many = (
                f"{r['many_attempts'] / r['many_seconds']:,.0f} ({r['writers']} writers,"
                f" {r['many_attempts']:,} attempts, {r['many_seconds']:.1f} s)"
            )
            refused = f"{r['many_attempts'] - r['many_booked']:,} of {r['many_attempts']:,}"
            left = f"CNY {r['many_left']}"
        else:
            many, refused, left = "not run (SQLite serialises writers)", "—", "—"
        lines.append(
            f"| {label} | {entries:,.0f} ({r['entries']:,} in {r['entry_seconds']:.1f} s) |"
            f" {single:,.0f} ({r['single_attempts']:,} attempts) | {many} | {refused} | {left} |"
        )
    lines += [
        "",
        "Checks after each run: trial balance "
        + "; ".join(f"{label} {r['trial_balance']}" for label, r in results.items())
        + "; audit chain intact: "
        + ", ".join(
            f"{label} {'yes' if r['audit_intact'] else 'NO'}" for label, r in results.items()
        )
        + ".",
        "",
        "Concurrent commitments on one budget are serial by design: each waits for the budget"
        " row lock and then the audit chain head, so 50 writers run at about the speed of one;"
        " what they show is that none of them overspends (the budget ends at exactly zero and"
        " the surplus attempts are refused). Different budgets still share the one audit chain"
        " head, which bounds the whole system's write rate.",
        "",
    ]
    return "\n".join(lines)


def write_section(report: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if SECTION in text:
        before, _, after = text.partition(SECTION)
        rest = after.split("\n## ", 1)
        tail = "\n## " + rest[1] if len(rest) == 2 else ""
        text = before + report.rstrip("\n") + "\n" + tail
    else:
        text = text.rstrip("\n") + "\n\n" + report
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--each", type=int, default=20)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.entries, options.writers, options.each)))
        return
    options.load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="wotu-bench-ledger-"))
    databases = {"SQLite": f"sqlite:///{work / 'ledger.sqlite3'}"}
    if pg_reachable():
        databases["PostgreSQL"] = PG_URL
    else:
        print("PostgreSQL not reachable: SQLite only", file=sys.stderr)
    results = {}
    for label, url in databases.items():
        results[label] = measure(url, work, options)
        print(label, results[label], file=sys.stderr)
    report = render(results, options)
    print(report)
    if options.write:
        write_section(report)


if __name__ == "__main__":
    main()
