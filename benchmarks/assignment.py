"""Benchmark of the expert assignment: generated instances solved end to end (in process), with
the optimality gap against an independent LP relaxation solved by OR-Tools' GLOP (scipy is not
installed). Usage: ``.venv/bin/python benchmarks/assignment.py [--large]``."""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wotu.settings")

from ortools.linear_solver import pywraplp  # type: ignore[import-untyped]

from wotu.reviews.assignment import (
    Application,
    Expert,
    Instance,
    _problem,
    assignment_solve,
)

FIELDS = ["生物医药", "电子信息", "新材料", "先进制造", "节能环保"]


def generate(*, n_apps: int, n_exp: int, k: int, seed: int) -> Instance:
    rng = random.Random(seed)
    orgs = [f"ORG{i:04}" for i in range(max(10, n_exp // 4))]
    hk_orgs = [f"HK{i:02}" for i in range(max(2, n_exp // 100))]
    apps = [
        Application(f"APP{i:05}", rng.choice(FIELDS), rng.choice(orgs), rng.random() < 0.05)
        for i in range(n_apps)
    ]
    experts = []
    for j in range(n_exp):
        hk = rng.random() < 0.05
        org = rng.choice(hk_orgs) if hk else rng.choice(orgs)
        fields = frozenset(rng.sample(FIELDS, rng.choice([1, 1, 2])))
        experts.append(Expert(f"EXP{j:05}", fields, org, "HK" if hk else "CN", None))
    conflicts = {
        (rng.choice(apps).application_id, rng.choice(experts).expert_id) for _ in range(n_apps)
    }
    load = -(-n_apps * k // n_exp) + 2
    return Instance(apps, experts, k, load, min_hkmo=1, conflicts=conflicts)


def lp_bound(instance: Instance) -> float:
    """Maximum total affinity of the LP relaxation (K per application, loads, HK/MO minimum,
    one per organisation), built independently of the flow network."""
    problem = _problem(instance)
    solver = pywraplp.Solver.CreateSolver("GLOP")
    xs = [solver.NumVar(0, 1, "") for _ in range(problem.pair_app.size)]
    rows_app: dict[int, list[int]] = {}
    rows_exp: dict[int, list[int]] = {}
    rows_org: dict[tuple[int, str], list[int]] = {}
    for k, (a, e) in enumerate(zip(problem.pair_app, problem.pair_expert, strict=True)):
        rows_app.setdefault(int(a), []).append(k)
        rows_exp.setdefault(int(e), []).append(k)
        rows_org.setdefault((int(a), instance.experts[int(e)].organisation_id), []).append(k)
    for a, ks in rows_app.items():
        solver.Add(solver.Sum([xs[k] for k in ks]) == int(problem.demand[a]))
        if problem.hk_min[a] > 0:
            hk = [xs[k] for k in ks if instance.experts[int(problem.pair_expert[k])].hkmo]
            solver.Add(solver.Sum(hk) >= int(problem.hk_min[a]))
    for e, ks in rows_exp.items():
        solver.Add(solver.Sum([xs[k] for k in ks]) <= int(problem.capacity[e]))
    for ks in rows_org.values():
        if len(ks) > 1:
            solver.Add(solver.Sum([xs[k] for k in ks]) <= 1)
    solver.Maximize(solver.Sum([int(m) / 1000 * xs[k] for k, m in enumerate(problem.pair_milli)]))
    solver.Solve()
    return float(solver.Objective().Value())


def run(n_apps: int, n_exp: int, k: int, *, lp: bool) -> None:
    instance = generate(n_apps=n_apps, n_exp=n_exp, k=k, seed=2026)
    start = time.perf_counter()
    result = assignment_solve(instance, seed=2026)
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    loads = list(result.loads.values())
    gap = "n/a"
    if lp:
        t = time.perf_counter()
        bound = lp_bound(instance)
        lp_time = time.perf_counter() - t
        gap = f"{(bound - result.total_affinity) / bound:.2e} (LP {bound:.3f}, {lp_time:.1f} s)"
    network = "—" if result.network_pairs is None else f"{result.network_pairs:,}"
    print(
        f"| {n_apps} × {n_exp}, K={k}, L={instance.max_load} | {result.allowed_pairs:,} |"
        f" {network} | {result.solver} | {wall:.1f} s | {rss:,.0f} MiB |"
        f" {result.total_affinity:g} |"
        f" {min(loads)}–{max(loads)} | {gap} |",
        flush=True,
    )


def main() -> None:
    import django

    django.setup()
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--lp-large", action="store_true")
    args = parser.parse_args()
    run(245, 150, 5, lp=True)
    if args.large:
        run(5000, 2000, 5, lp=args.lp_large)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
