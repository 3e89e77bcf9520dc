"""Import speed for a facts file, and registry page speed, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/import_facts.py [--enterprises 20000] [--write]

Generates a synthetic city of N enterprises × 5 years (N=20,000 → 100,000 rows) with
`wotu synth`, then for each database: a fresh schema, `wotu import facts` end to end (CLI
start-up included) for CSV and Parquet, the same import again (nothing changes), and the
registry list page and a filtered search with 20,000 organisations. Peak memory is the
child's maximum resident set. With --write the table replaces the section in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
WOTU = [sys.executable, "-m", "wotu.cli"]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgres://postgres@127.0.0.1:5432/wotu_bench"


def run(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run a command; return (seconds, peak RSS in MiB) of the child."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{done.stdout}\n{done.stderr}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return seconds, peak_kib // 1024


def fresh_env(database: str, var: Path) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=database, WOTU_VAR_DIR=str(var))
    if database.startswith("postgres"):
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS wotu_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE wotu_bench")
    run([*WOTU, "migrate", "-v0"], env)
    return env


PAGE_SCRIPT = r"""
import os, statistics, time, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wotu.settings")
django.setup()
from django.test import Client
from wotu.core.models import User
from wotu.organisations.models import Organisation
user, _ = User.objects.get_or_create(username="bench", defaults={"role": "bureau_officer"})
client = Client()
client.force_login(user)
count = Organisation.objects.count()
for url in ["/registry/", "/registry/?page=200", "/registry/?q=科技&district=370212",
            "/registry/?qualification=hitech&year=2023", "/api/organisations?q=科技"]:
    times = []
    for _ in range(7):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    print(f"{url}\t{statistics.median(times) * 1000:.0f}\t{count}")
"""


def pages(env: dict[str, str]) -> list[tuple[str, str]]:
    done = subprocess.run(
        [sys.executable, "-c", PAGE_SCRIPT],
        env=dict(env, ALLOWED_HOSTS="testserver"),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"page timing failed:\n{done.stderr}")
    return [tuple(line.split("\t")[:2]) for line in done.stdout.splitlines()]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--write", action="store_true")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wotu-bench-"))
    env0 = dict(os.environ, WOTU_VAR_DIR=str(work))
    files = {}
    for suffix in ("csv", "parquet"):
        path = work / f"city.{suffix}"
        seconds, _ = run(
            [*WOTU, "synth", "--enterprises", str(options.enterprises), "--years", "2019-2023",
             "--seed", "2026", "--out", str(path), "--quiet"],
            env0,
        )  # fmt: skip
        files[suffix] = path
        print(f"synth {suffix}: {seconds:.1f} s", file=sys.stderr)
    rows = sum(1 for _ in files["csv"].open(encoding="utf-8")) - 1
    results = []
    databases = [("SQLite", f"sqlite:///{work / 'bench.sqlite3'}")]
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        databases.append(("PostgreSQL", PG_URL))
    except psycopg.OperationalError:
        print("PostgreSQL not reachable: SQLite only", file=sys.stderr)
    page_rows: dict[str, list[tuple[str, str]]] = {}
    for label, url in databases:
        for suffix, path in files.items():
            if url.startswith("sqlite"):
                Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            env = fresh_env(url, work)
            first = run([*WOTU, "import", "facts", str(path), "--quiet"], env)
            again = run([*WOTU, "import", "facts", str(path), "--quiet"], env)
            results.append((label, suffix, first, again))
            print(label, suffix, first, again, file=sys.stderr)
        page_rows[label] = pages(env)
    report = render(options.enterprises, rows, results, page_rows)
    print(report)
    if options.write:
        write_section(report)


Measured = tuple[float, int]


def render(
    enterprises: int,
    rows: int,
    results: list[tuple[str, str, Measured, Measured]],
    page_rows: dict[str, list[tuple[str, str]]],
) -> str:
    lines = [
        "## Facts import and registry pages (issue 2)",
        "",
        "Command: `.venv/bin/python benchmarks/import_facts.py"
        f" --enterprises {enterprises} --write`"
        f" — {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        f"{rows:,} enterprise-year rows ({enterprises:,} enterprises × 5 years, `wotu synth`).",
        "Times are end to end for the `wotu import facts` command, start-up included.",
        "",
        "| database | file | first import | peak RSS | same file again (nothing changes) |",
        "|---|---|---|---|---|",
    ]
    for label, suffix, first, again in results:
        lines.append(
            f"| {label} | {suffix} | {first[0]:.1f} s | {first[1]} MiB | {again[0]:.1f} s |"
        )
    lines += ["", "Registry pages, logged in as a bureau officer, median of 7 requests (ms):", ""]
    labels = list(page_rows)
    lines.append("| page | " + " | ".join(labels) + " |")
    lines.append("|---|" + "---|" * len(labels))
    urls = [url for url, _ in page_rows[labels[0]]]
    for index, url in enumerate(urls):
        cells = [page_rows[label][index][1] for label in labels]
        lines.append(f"| `{url}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_section(report: str) -> None:
    target = ROOT / "docs" / "benchmarks.md"
    text = target.read_text(encoding="utf-8") if target.exists() else "# Benchmarks\n\n"
    pattern = re.compile(r"## Facts import and registry pages \(issue 2\)\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(report.rstrip("\n"), text) if pattern.search(text) else text + "\n" + report
    target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
