"""Expert assignment: K experts per application, as much affinity as possible, loads spread.

The problem (design.md, "Expert assignment"): every application gets exactly ``K`` distinct
experts; no expert exceeds its maximum load; no conflicted pair (declared, or the same
organisation — always a conflict); at most one expert per organisation on an application; at
least ``M`` HK/MO experts on an application that needs them. Among the assignments meeting all
that, the total affinity is maximised first (exactly, to 0.001) and, as a tie-break only, loads
are spread: the j-th application of an expert costs ``j`` units, a convex cost, so two loads of
3 beat a 2 and a 4.

Solver choice (decided here, reported in the run summary):

* **min-cost flow** (OR-Tools ``SimpleMinCostFlow``) whenever the group constraints nest, which
  is the usual case: source → application (capacity K) → [HK/MO split] → [organisation node,
  capacity 1] → expert (one arc per allowed pair) → sink through unit arcs per load level with
  increasing costs. The HK/MO minimum is an *upper* bound on its complement: an application
  needing M passes at most K − M through its mainland node, so at least M reach HK/MO experts.
  Both groups nest when every organisation is either all-mainland or all-HK/MO, and then the
  flow is exact (network matrices are totally unimodular: no rounding, no gap).
* **CP-SAT** (fixed seed, one worker, so deterministic) when an application needing HK/MO
  experts could take two experts of one organisation that has both mainland and HK/MO experts:
  the groups then cross and no flow network expresses them.

Large flow networks are solved in two phases (:func:`_solve_flow_pruned`), because nearly all
allowed pairs of a big instance have affinity 0 and would otherwise each be an arc (10 M arcs
for 5,000 applications × 2,000 experts). Above ``PRUNE_ABOVE`` (1,000,000) allowed pairs, the
first phase keeps every pair of non-zero affinity, every pair with an HK/MO expert on an
application that needs one, and per application a bounded reserve of ``2·demand + 8``
zero-affinity experts, chosen by a deterministic rotation (application ``i`` starts at expert
``i·E/A``, so the reserves spread over all experts). That smaller network is solved exactly,
then checked:

* **Affinity is exact, always.** The pruned result is kept only if it fills every application
  and its total affinity equals an upper bound valid for the *full* instance: per application,
  the sum of the ``demand`` largest values among "the best affinity of each organisation's
  allowed experts, or 0 if that is negative" (at most one expert per organisation; HK/MO
  minimums and loads relaxed). No assignment of the full instance can exceed it, so reaching it
  proves the total affinity maximal. With the default 1/0 field match the bound is
  Σ min(K, number of organisations with a field-matched allowed expert).
* **Otherwise the full network is solved** (the pruned one infeasible, or the bound not reached,
  e.g. when experts are contended and some application must take less than its best): the
  result is then exactly today's single-phase flow, optimal in both criteria.
* **Load spreading (the tie-break) is optimal within the pruned network** when the pruned
  result is kept: among assignments using only its pairs, none has a lower convex load cost at
  the same (maximal) affinity. An assignment using a zero-affinity pair outside the reserve
  could in principle spread loads better; it is not searched for. Instances of at most
  ``PRUNE_ABOVE`` allowed pairs (all everyday sizes) are always solved in one phase, optimal in
  both criteria.

Everything is deterministic: the reserve depends only on indices, and the flow solver on its
input.

Infeasibility is diagnosed before solving (:func:`assignment_diagnose`), naming the
applications and the constraint; a flow that still cannot route all demand names the
applications left short.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from ortools.graph.python import min_cost_flow  # type: ignore[import-untyped]
from ortools.sat.python import cp_model

from wotu.core.errors import WotuError
from wotu.organisations.facts_io import table_format, table_read, table_write

REGIONS = ("CN", "HK", "MO")
MILLI = 1000  # affinity is optimised exactly to 0.001
PRUNE_ABOVE = 1_000_000  # allowed pairs above which the flow is solved in two phases

IntArray = npt.NDArray[np.int64]


class AssignmentInputError(WotuError):
    """An input file or option is wrong; the message names file, row, column and value."""


class AssignmentInfeasible(WotuError):
    """No assignment meets the constraints; ``problems`` holds one (zh, en) line each."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        zh = "无法完成分配：\n" + "\n".join(f"  - {p[0]}" for p in self.problems)
        en = "no assignment is possible:\n" + "\n".join(f"  - {p[1]}" for p in self.problems)
        super().__init__(zh, en)


@dataclass(frozen=True)
class Application:
    application_id: str
    field: str
    organisation_id: str
    needs_hkmo: bool = False


@dataclass(frozen=True)
class Expert:
    expert_id: str
    fields: frozenset[str]
    organisation_id: str
    region: str = "CN"
    max_load: int | None = None

    @property
    def hkmo(self) -> bool:
        return self.region in ("HK", "MO")


@dataclass(frozen=True)
class Pair:
    application_id: str
    expert_id: str
    affinity: float


@dataclass
class Instance:
    """What `wotu assign` reads. ``affinity`` overrides the field-match default per pair."""

    applications: list[Application]
    experts: list[Expert]
    per_application: int
    max_load: int
    min_hkmo: int = 0
    conflicts: set[tuple[str, str]] = field(default_factory=set)
    affinity: dict[tuple[str, str], float] = field(default_factory=dict)


@dataclass
class Result:
    pairs: list[Pair]
    solver: str
    loads: dict[str, int]
    allowed_pairs: int
    network_pairs: int | None = None  # pair arcs in the flow network solved (None: CP-SAT)

    @property
    def total_affinity(self) -> float:
        return round(sum(p.affinity for p in self.pairs), 3)


# ---- the solver's view of an instance ---------------------------------------------------------


@dataclass
class _Problem:
    """Index-based problem: applications 0..A-1, experts 0..E-1, allowed pairs as arrays."""

    instance: Instance
    demand: IntArray  # experts still to assign, per application
    hk_min: IntArray  # HK/MO experts still needed, per application
    capacity: IntArray  # assignments still allowed, per expert
    base_load: IntArray  # assignments already held (repair), per expert
    pair_app: IntArray
    pair_expert: IntArray
    pair_milli: IntArray  # affinity × 1000, rounded
    blocked_orgs: dict[int, set[int]] = field(default_factory=dict)  # repair: taken orgs
    network_pairs: int | None = None  # set by the flow: pair arcs of the network it kept


def _affinity(
    application: Application, expert: Expert, scores: dict[Any, float], key: Any
) -> float:
    if key in scores:
        return scores[key]
    return 1.0 if application.field in expert.fields else 0.0


def _problem(
    instance: Instance,
    *,
    demand: IntArray | None = None,
    hk_min: IntArray | None = None,
    used: IntArray | None = None,
    excluded: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
    blocked_orgs: dict[int, set[int]] | None = None,
) -> _Problem:
    apps, experts = instance.applications, instance.experts
    n_apps, n_exp = len(apps), len(experts)
    limit = np.array(
        [instance.max_load if e.max_load is None else e.max_load for e in experts], dtype=np.int64
    )
    base = np.zeros(n_exp, dtype=np.int64) if used is None else used
    hk = np.array([a.needs_hkmo for a in apps], dtype=bool)
    blocked_orgs = blocked_orgs or {}
    org_code = _codes([e.organisation_id for e in experts] + [a.organisation_id for a in apps])
    exp_org = np.array(org_code[:n_exp], dtype=np.int64)
    app_org = np.array(org_code[n_exp:], dtype=np.int64)
    # Allowed = not the same organisation, not declared, not excluded (repair), org not taken.
    allowed = app_org[:, None] != exp_org[None, :]
    index_app = {a.application_id: i for i, a in enumerate(apps)}
    index_exp = {e.expert_id: j for j, e in enumerate(experts)}
    for a_id, e_id in set(instance.conflicts) | set(excluded):
        if a_id in index_app and e_id in index_exp:
            allowed[index_app[a_id], index_exp[e_id]] = False
    for i, orgs in blocked_orgs.items():
        allowed[i, np.isin(exp_org, list(orgs))] = False
    pair_app, pair_exp = np.nonzero(allowed)
    milli = _pair_milli(instance, pair_app, pair_exp)
    return _Problem(
        instance=instance,
        demand=np.full(n_apps, instance.per_application, dtype=np.int64)
        if demand is None
        else demand,
        hk_min=np.where(hk, instance.min_hkmo, 0).astype(np.int64) if hk_min is None else hk_min,
        capacity=np.maximum(limit - base, 0),
        base_load=base,
        pair_app=pair_app.astype(np.int64),
        pair_expert=pair_exp.astype(np.int64),
        pair_milli=milli,
        blocked_orgs=blocked_orgs,
    )


def _codes(values: Sequence[str]) -> list[int]:
    table: dict[str, int] = {}
    return [table.setdefault(v, len(table)) for v in values]


def _pair_milli(instance: Instance, pair_app: IntArray, pair_exp: IntArray) -> IntArray:
    """Default affinity (field match) vectorised; supplied scores patched in afterwards."""
    apps, experts = instance.applications, instance.experts
    fields = _codes([a.field for a in apps] + sorted({f for e in experts for f in e.fields}))
    field_index = dict(zip([a.field for a in apps], fields[: len(apps)], strict=True))
    for e in experts:
        for f in e.fields:
            field_index.setdefault(f, len(field_index) + len(apps))
    n_fields = max(field_index.values(), default=0) + 1
    matrix = np.zeros((len(experts), n_fields), dtype=bool)
    for j, e in enumerate(experts):
        for f in e.fields:
            matrix[j, field_index[f]] = True
    app_field = np.array([field_index[a.field] for a in apps], dtype=np.int64)
    milli = matrix[pair_exp, app_field[pair_app]].astype(np.int64) * MILLI
    if instance.affinity:
        index_app = {a.application_id: i for i, a in enumerate(apps)}
        index_exp = {e.expert_id: j for j, e in enumerate(experts)}
        position = {
            (int(a), int(e)): k for k, (a, e) in enumerate(zip(pair_app, pair_exp, strict=True))
        }
        for (a_id, e_id), score in instance.affinity.items():
            k = position.get((index_app[a_id], index_exp[e_id]))
            if k is not None:
                milli[k] = round(score * MILLI)
    return milli


# ---- diagnosis ---------------------------------------------------------------------------------


def assignment_diagnose(instance: Instance) -> list[tuple[str, str]]:
    """Every reason, found before solving, why no assignment can exist (empty when none)."""
    return _diagnose(_problem(instance))


def _diagnose(problem: _Problem) -> list[tuple[str, str]]:
    instance = problem.instance
    apps, experts = instance.applications, instance.experts
    problems: list[tuple[str, str]] = []
    usable = problem.capacity[problem.pair_expert] > 0
    pa, pe = problem.pair_app[usable], problem.pair_expert[usable]
    exp_org = np.array(_codes([e.organisation_id for e in experts]), dtype=np.int64)
    hkmo = np.array([e.hkmo for e in experts], dtype=bool)
    # At most one expert per organisation: what counts is distinct organisations.
    orgs_per_app = _distinct_count(pa, exp_org[pe], len(apps))
    experts_per_app = np.bincount(pa, minlength=len(apps))
    hk_orgs_per_app = _distinct_count(pa[hkmo[pe]], exp_org[pe][hkmo[pe]], len(apps))
    for i, app in enumerate(apps):
        need, have, orgs = int(problem.demand[i]), int(experts_per_app[i]), int(orgs_per_app[i])
        if orgs < need:
            problems.append(
                (
                    f"申请 {app.application_id} 需要 {need} 名专家，但只有 {have} 名无回避的专家"
                    f"（来自 {orgs} 个单位，每个单位至多一名）",
                    f"application {app.application_id} needs {need} experts but only {have}"
                    f" experts are free of conflicts (from {orgs} organisations, at most one"
                    " each)",
                )
            )
        need_hk, hk = int(problem.hk_min[i]), int(hk_orgs_per_app[i])
        if need_hk > hk:
            problems.append(
                (
                    f"申请 {app.application_id} 需要至少 {need_hk} 名港澳专家，但只有 {hk} 个"
                    "无回避的港澳单位可派专家",
                    f"application {app.application_id} needs at least {need_hk} HK/MO experts"
                    f" but only {hk} HK/MO organisations have an expert free of conflicts",
                )
            )
    total_need, total_capacity = int(problem.demand.sum()), int(problem.capacity.sum())
    if total_capacity < total_need:
        problems.append(
            (
                f"专家总容量 {total_capacity}（各专家最大评审量之和）小于所需 {total_need}"
                f"（{len(apps)} 个申请 × 每个 {instance.per_application} 名）",
                f"the experts' total capacity {total_capacity} (sum of maximum loads) is below"
                f" the {total_need} assignments needed ({len(apps)} applications ×"
                f" {instance.per_application})",
            )
        )
    hk_need = int(problem.hk_min.sum())
    hk_capacity = int(problem.capacity[hkmo].sum())
    if hk_need > hk_capacity:
        problems.append(
            (
                f"港澳专家总容量 {hk_capacity} 小于需港澳专家的申请所需的 {hk_need}",
                f"the HK/MO experts' total capacity {hk_capacity} is below the {hk_need} HK/MO"
                " assignments that applications needing them require",
            )
        )
    return problems


def _distinct_count(groups: IntArray, values: IntArray, n: int) -> IntArray:
    if groups.size == 0:
        return np.zeros(n, dtype=np.int64)
    width = int(values.max()) + 1
    if n * width <= 50_000_000:  # a boolean table: linear, no sort of the pairs
        seen = np.zeros((n, width), dtype=bool)
        seen[groups, values] = True
        counts: IntArray = seen.sum(axis=1).astype(np.int64)
        return counts
    keys = np.unique(groups * (int(values.max()) + 1) + values)
    return np.bincount(keys // (int(values.max()) + 1), minlength=n).astype(np.int64)


# ---- solving ------------------------------------------------------------------------------------


def assignment_solve(instance: Instance, *, seed: int = 0, solver: str = "auto") -> Result:
    """The assignment of ``instance`` (see the module docstring); raises
    :class:`AssignmentInfeasible` naming the applications and constraints that cannot be met.
    ``solver`` is ``auto`` (flow when the groups nest, else CP-SAT), ``flow`` or ``cpsat``."""
    _check_options(instance)
    problem = _problem(instance)
    chosen = _solve(problem, seed=seed, solver=solver)
    return _result(problem, chosen)


def _solve(problem: _Problem, *, seed: int, solver: str) -> tuple[str, list[int]]:
    problems = _diagnose(problem)
    if problems:
        raise AssignmentInfeasible(problems)
    if solver == "auto":
        solver = "flow" if _groups_nest(problem) else "cpsat"
    if solver == "flow":
        if not _groups_nest(problem):
            raise ValueError("the group constraints cross: use CP-SAT")
        return "min-cost flow", _solve_flow_pruned(problem)
    return "CP-SAT", _solve_cpsat(problem, seed=seed)


def _groups_nest(problem: _Problem) -> bool:
    """True unless an application needing HK/MO experts could take two experts of one
    organisation that has both mainland and HK/MO experts."""
    experts = problem.instance.experts
    regions: dict[str, set[bool]] = defaultdict(set)
    for e in experts:
        regions[e.organisation_id].add(e.hkmo)
    mixed = {org for org, kinds in regions.items() if len(kinds) > 1}
    if not mixed or not problem.hk_min.any():
        return True
    mixed_expert = np.array([e.organisation_id in mixed for e in experts], dtype=bool)
    on_hk_apps = problem.hk_min[problem.pair_app] > 0
    return not bool((mixed_expert[problem.pair_expert] & on_hk_apps).any())


def _weights(problem: _Problem) -> tuple[int, int]:
    """Cost scale making affinity strictly dominate load balance: the whole load cost of any
    assignment stays below one unit (0.001) of affinity. Returns (weight, highest level)."""
    top = int((problem.base_load + problem.capacity).max(initial=1))
    return int(problem.demand.sum()) * top + 1, top


def _expert_levels(problem: _Problem) -> tuple[IntArray, IntArray]:
    """(expert, level) of each unit arc to the sink: levels base+1 .. base+capacity."""
    reps = problem.capacity
    experts = np.repeat(np.arange(reps.size, dtype=np.int64), reps)
    starts = np.repeat(np.cumsum(reps) - reps, reps)
    levels = np.arange(experts.size, dtype=np.int64) - starts + 1 + problem.base_load[experts]
    return experts, levels


def _affinity_bound(problem: _Problem) -> int:
    """Upper bound (in milli) on the total affinity of any assignment of the full instance:
    per application, the ``demand`` best organisations, each at its best allowed expert's
    affinity clipped at 0 (at most one expert per organisation; loads and HK/MO relaxed)."""
    n_apps = problem.demand.size
    if problem.pair_app.size == 0:
        return 0
    exp_org = np.array(
        _codes([e.organisation_id for e in problem.instance.experts]), dtype=np.int64
    )
    n_orgs = int(exp_org.max(initial=0)) + 1
    key = problem.pair_app * n_orgs + exp_org[problem.pair_expert]
    value = np.maximum(problem.pair_milli, 0)
    # Best value per (application, organisation): sort by key, then by value descending.
    order = np.lexsort((-value, key))
    key, value = key[order], value[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, value = key[first], value[first]
    app = key // n_orgs
    # Per application, its organisations' best values descending; keep the first ``demand``.
    order = np.lexsort((-value, app))
    app, value = app[order], value[order]
    size = np.bincount(app, minlength=n_apps)
    start = np.cumsum(size) - size
    rank = np.arange(app.size, dtype=np.int64) - start[app]
    return int(value[rank < problem.demand[app]].sum())


def _reserve(problem: _Problem, *, extra: int = 8) -> npt.NDArray[np.bool_]:
    """Mask of the allowed pairs kept in the first phase (see the module docstring)."""
    pa, pe, n_exp = problem.pair_app, problem.pair_expert, problem.capacity.size
    n_apps = problem.demand.size
    hkmo = np.array([e.hkmo for e in problem.instance.experts], dtype=bool)
    keep: npt.NDArray[np.bool_] = (problem.pair_milli != 0) | (hkmo[pe] & (problem.hk_min[pa] > 0))
    zero = np.nonzero(~keep)[0]  # sorted by application, then expert (np.nonzero order)
    if zero.size == 0:
        return keep
    za, ze = pa[zero], pe[zero]
    # Rotation: application i ranks its zero pairs from expert offset[i] upwards, wrapping.
    offset = (np.arange(n_apps, dtype=np.int64) * n_exp) // max(n_apps, 1)
    size = np.bincount(za, minlength=n_apps)
    start = np.cumsum(size) - size
    before = np.bincount(za[ze < offset[za]], minlength=n_apps)  # pairs before the offset
    index = np.arange(zero.size, dtype=np.int64) - start[za]
    rank = (index - before[za]) % size[za]
    keep[zero[rank < 2 * problem.demand[za] + extra]] = True
    return keep


def _sub_problem(problem: _Problem, mask: npt.NDArray[np.bool_]) -> _Problem:
    return _Problem(
        instance=problem.instance,
        demand=problem.demand,
        hk_min=problem.hk_min,
        capacity=problem.capacity,
        base_load=problem.base_load,
        pair_app=problem.pair_app[mask],
        pair_expert=problem.pair_expert[mask],
        pair_milli=problem.pair_milli[mask],
        blocked_orgs=problem.blocked_orgs,
    )


def _solve_flow_pruned(
    problem: _Problem, *, prune_above: int = PRUNE_ABOVE, extra: int = 8
) -> list[int]:
    """The flow in two phases when the network is large (see the module docstring): the pruned
    network's answer when it provably has the maximal total affinity, else the full network's.
    Indices into ``problem``'s allowed pairs."""
    if problem.pair_app.size > prune_above:
        mask = _reserve(problem, extra=extra)
        if int(mask.sum()) < problem.pair_app.size:
            sub = _sub_problem(problem, mask)
            try:
                picks = _solve_flow(sub)
            except AssignmentInfeasible:
                picks = None
            if (
                picks is not None
                and len(picks) == int(problem.demand.sum())
                and int(sub.pair_milli[picks].sum()) == _affinity_bound(problem)
            ):
                problem.network_pairs = sub.network_pairs
                return [int(k) for k in np.nonzero(mask)[0][picks]]
    return _solve_flow(problem)


def _solve_flow(problem: _Problem) -> list[int]:
    """Indices into the allowed pairs chosen by the min-cost flow."""
    problem.network_pairs = int(problem.pair_app.size)
    experts = problem.instance.experts
    n_apps, n_exp = problem.demand.size, problem.capacity.size
    weight, _ = _weights(problem)
    hkmo = np.array([e.hkmo for e in experts], dtype=bool)
    exp_org = np.array(_codes([e.organisation_id for e in experts]), dtype=np.int64)
    n_orgs = int(exp_org.max(initial=0)) + 1
    pa, pe = problem.pair_app, problem.pair_expert
    # Nodes: 0 source, 1 sink, applications, mainland sub-nodes, organisation nodes, experts.
    app_node = 2 + np.arange(n_apps, dtype=np.int64)
    split = problem.hk_min > 0
    main_node = np.where(split, 2 + n_apps + np.cumsum(split) - 1, app_node)
    next_node = 2 + n_apps + int(split.sum())
    origin = np.where(split[pa] & ~hkmo[pe], main_node[pa], app_node[pa])
    # One node of capacity 1 per (application, organisation) with two or more allowed experts.
    key = pa * n_orgs + exp_org[pe]
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    grouped = counts[inverse] > 1
    group_keys = uniq[counts > 1]
    group_node = np.full(uniq.size, -1, dtype=np.int64)
    group_node[counts > 1] = next_node + np.arange(group_keys.size)
    next_node += group_keys.size
    expert_node = next_node + np.arange(n_exp, dtype=np.int64)
    tail = np.where(grouped, group_node[inverse], origin)
    # Each group node is fed once, from the origin of any of its pairs (all share it).
    first = np.unique(inverse[grouped], return_index=True)[1]
    group_src = origin[grouped][first]
    group_dst = group_node[inverse[grouped]][first]
    lvl_exp, levels = _expert_levels(problem)
    tails = np.concatenate(
        [np.zeros(n_apps, np.int64), app_node[split], group_src, tail, expert_node[lvl_exp]]
    )
    heads = np.concatenate(
        [app_node, main_node[split], group_dst, expert_node[pe], np.ones(levels.size, np.int64)]
    )
    caps = np.concatenate(
        [
            problem.demand,
            (problem.demand - problem.hk_min)[split],
            np.ones(group_dst.size, np.int64),
            np.ones(pa.size, np.int64),
            np.ones(levels.size, np.int64),
        ]
    )
    costs = np.concatenate(
        [
            np.zeros(n_apps + int(split.sum()) + group_dst.size, np.int64),
            -problem.pair_milli * weight,
            levels,
        ]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    total = int(problem.demand.sum())
    flow.set_node_supply(0, total)
    flow.set_node_supply(1, -total)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise AssignmentInfeasible(_short_after_max_flow(problem, flow))
    pair_arcs = arcs[n_apps + int(split.sum()) + group_dst.size :][: pa.size]
    used = flow.flows(pair_arcs)
    return [int(k) for k in np.nonzero(used)[0]]


def _short_after_max_flow(problem: _Problem, flow: Any) -> list[tuple[str, str]]:
    """Which applications a maximum flow cannot fill (a Hall-type shortage among them)."""
    flow.solve_max_flow_with_min_cost()
    apps = problem.instance.applications
    filled = flow.flows(np.arange(len(apps), dtype=np.int64))
    short = [
        (apps[i].application_id, int(filled[i]), int(problem.demand[i]))
        for i in range(len(apps))
        if filled[i] < problem.demand[i]
    ]
    names = ", ".join(f"{a} ({got}/{need})" for a, got, need in short[:20])
    more = f" …(+{len(short) - 20})" if len(short) > 20 else ""
    return [
        (
            f"专家的最大评审量不足以同时满足这些申请（已分配/所需）：{names}{more}",
            f"the experts' maximum loads cannot cover these applications together"
            f" (assigned/needed): {names}{more}",
        )
    ]


def _solve_cpsat(problem: _Problem, *, seed: int) -> list[int]:
    experts = problem.instance.experts
    weight, _ = _weights(problem)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in range(problem.pair_app.size)]
    by_app: dict[int, list[int]] = defaultdict(list)
    by_exp: dict[int, list[int]] = defaultdict(list)
    by_app_org: dict[tuple[int, str], list[int]] = defaultdict(list)
    for k, (a, e) in enumerate(zip(problem.pair_app, problem.pair_expert, strict=True)):
        by_app[int(a)].append(k)
        by_exp[int(e)].append(k)
        by_app_org[(int(a), experts[int(e)].organisation_id)].append(k)
    for i, need in enumerate(problem.demand):
        model.add(sum(x[k] for k in by_app[i]) == int(need))
        if problem.hk_min[i] > 0:
            hk = [x[k] for k in by_app[i] if experts[int(problem.pair_expert[k])].hkmo]
            model.add(sum(hk) >= int(problem.hk_min[i]))
    for ks in by_app_org.values():
        if len(ks) > 1:
            model.add_at_most_one(x[k] for k in ks)
    objective: list[Any] = [-int(m) * weight * x[k] for k, m in enumerate(problem.pair_milli)]
    lvl_exp, levels = _expert_levels(problem)
    level_vars: dict[int, list[Any]] = defaultdict(list)
    for e, level in zip(lvl_exp, levels, strict=True):
        y = model.new_bool_var(f"y{e}_{level}")
        level_vars[int(e)].append(y)
        objective.append(int(level) * y)
    for j in range(len(experts)):
        model.add(sum(x[k] for k in by_exp[j]) == sum(level_vars[j]))
    model.minimize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 1  # one worker: the same answer on every run
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise AssignmentInfeasible(
            [
                (
                    "各申请的港澳专家下限与每单位至多一名的限制无法同时满足",
                    "the HK/MO minimums and the one-expert-per-organisation limit cannot all"
                    " be met together",
                )
            ]
        )
    return [k for k in range(len(x)) if solver.boolean_value(x[k])]


def _result(problem: _Problem, chosen: tuple[str, list[int]]) -> Result:
    solver, picks = chosen
    apps, experts = problem.instance.applications, problem.instance.experts
    pairs = [
        Pair(
            apps[int(problem.pair_app[k])].application_id,
            experts[int(problem.pair_expert[k])].expert_id,
            int(problem.pair_milli[k]) / MILLI,
        )
        for k in picks
    ]
    pairs.sort(key=lambda p: (p.application_id, p.expert_id))
    loads = {e.expert_id: int(problem.base_load[j]) for j, e in enumerate(experts)}
    for p in pairs:
        loads[p.expert_id] += 1
    return Result(
        pairs=pairs,
        solver=solver,
        loads=loads,
        allowed_pairs=int(problem.pair_app.size),
        network_pairs=problem.network_pairs if solver == "min-cost flow" else None,
    )


def _check_options(instance: Instance) -> None:
    k, m = instance.per_application, instance.min_hkmo
    if k <= 0:
        raise AssignmentInputError(
            f"--per-application 必须为正整数（现为 {k}）",
            f"--per-application must be a positive integer (got {k})",
        )
    if instance.max_load <= 0:
        raise AssignmentInputError(
            f"--max-load 必须为正整数（现为 {instance.max_load}）",
            f"--max-load must be a positive integer (got {instance.max_load})",
        )
    if m < 0 or m > k:
        raise AssignmentInputError(
            f"--min-hkmo 必须在 0 到 --per-application（{k}）之间（现为 {m}）",
            f"--min-hkmo must be between 0 and --per-application ({k}) (got {m})",
        )


# ---- repair ---------------------------------------------------------------------------------


def assignment_repair(
    instance: Instance,
    *,
    previous: Iterable[Pair],
    declined: set[tuple[str, str]],
    seed: int = 0,
    solver: str = "auto",
) -> Result:
    """Replace the ``declined`` (application_id, expert_id) pairs of ``previous`` and change
    nothing else: every other pair stays fixed and only the freed slots are solved, with the
    same rules (loads count the kept pairs; a decliner is never re-assigned to the application
    it declined; organisations already on an application stay taken). Raises
    :class:`AssignmentInfeasible` when the freed slots cannot be filled around the kept pairs."""
    _check_options(instance)
    apps, experts = instance.applications, instance.experts
    index_app = {a.application_id: i for i, a in enumerate(apps)}
    index_exp = {e.expert_id: j for j, e in enumerate(experts)}
    kept = [p for p in previous if (p.application_id, p.expert_id) not in declined]
    demand = np.full(len(apps), instance.per_application, dtype=np.int64)
    used = np.zeros(len(experts), dtype=np.int64)
    hk_have = np.zeros(len(apps), dtype=np.int64)
    taken: dict[int, set[int]] = defaultdict(set)
    org_code = dict(
        zip(
            [e.organisation_id for e in experts],
            _codes([e.organisation_id for e in experts] + [a.organisation_id for a in apps]),
            strict=False,
        )
    )
    for p in kept:
        i, j = index_app[p.application_id], index_exp[p.expert_id]
        demand[i] -= 1
        used[j] += 1
        hk_have[i] += experts[j].hkmo
        taken[i].add(org_code[experts[j].organisation_id])
    hk_min = np.array([instance.min_hkmo if a.needs_hkmo else 0 for a in apps], dtype=np.int64)
    hk_min = np.minimum(np.maximum(hk_min - hk_have, 0), demand)
    problem = _problem(
        instance,
        demand=demand,
        hk_min=hk_min,
        used=used,
        excluded=set(declined),
        blocked_orgs=dict(taken),
    )
    chosen = _solve(problem, seed=seed, solver=solver)
    fresh = _result(problem, chosen)
    pairs = sorted([*kept, *fresh.pairs], key=lambda p: (p.application_id, p.expert_id))
    return Result(
        pairs=pairs,
        solver=fresh.solver,
        loads=fresh.loads,
        allowed_pairs=fresh.allowed_pairs,
        network_pairs=fresh.network_pairs,
    )


# ---- reading files -----------------------------------------------------------------------------


def file_sha256(paths: Iterable[Path]) -> str:
    """One sha256 over the named files' bytes, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _bad(path: Path, row: int, column: str, value: Any, zh: str, en: str) -> AssignmentInputError:
    # Row numbers are the file's: the header is row 1.
    return AssignmentInputError(
        f"{path.name} 第 {row} 行，列 {column}，值 {value!r}：{zh}",
        f"{path.name} row {row}, column {column}, value {value!r}: {en}",
    )


def _rows(path: Path, required: Sequence[str]) -> tuple[Any, list[int]]:
    if not path.is_file():
        raise AssignmentInputError(f"找不到文件 {path}", f"file not found: {path}")
    table = table_read(path)
    missing = [c for c in required if c not in table.header]
    if missing:
        raise AssignmentInputError(
            f"{path.name} 缺少列：{', '.join(missing)}（现有列：{', '.join(table.header)}）",
            f"{path.name} lacks the column(s) {', '.join(missing)}"
            f" (it has: {', '.join(table.header)})",
        )
    return table, list(range(table.height))


def _text(path: Path, table: Any, column: str, r: int) -> str:
    value = table.columns[column][r]
    text = "" if value is None else str(value).strip()
    if not text:
        raise _bad(path, r + 2, column, value, "不能为空", "must not be empty")
    return text


_TRUE = {"true", "1", "yes", "y", "是", "t"}
_FALSE = {"false", "0", "no", "n", "否", "f", ""}


def applications_read(path: Path) -> tuple[list[Application], bool]:
    """Applications sorted by id, and whether the file has a ``needs_hkmo`` column."""
    table, rows = _rows(path, ("application_id", "field", "organisation_id"))
    has_hkmo = "needs_hkmo" in table.header
    seen: set[str] = set()
    out = []
    for r in rows:
        app_id = _text(path, table, "application_id", r)
        if app_id in seen:
            raise _bad(path, r + 2, "application_id", app_id, "编号重复", "duplicate id")
        seen.add(app_id)
        needs = False
        if has_hkmo:
            raw = table.columns["needs_hkmo"][r]
            word = "" if raw is None else str(raw).strip().lower()
            if word not in _TRUE | _FALSE:
                raise _bad(
                    path, r + 2, "needs_hkmo", raw, "应为 true 或 false", "must be true or false"
                )
            needs = word in _TRUE
        field_name = _text(path, table, "field", r)
        org = _text(path, table, "organisation_id", r)
        out.append(Application(app_id, field_name, org, needs))
    return sorted(out, key=lambda a: a.application_id), has_hkmo


def experts_read(path: Path) -> list[Expert]:
    table, rows = _rows(path, ("expert_id", "fields", "organisation_id", "region"))
    seen: set[str] = set()
    out = []
    for r in rows:
        expert_id = _text(path, table, "expert_id", r)
        if expert_id in seen:
            raise _bad(path, r + 2, "expert_id", expert_id, "编号重复", "duplicate id")
        seen.add(expert_id)
        fields = frozenset(
            f.strip() for f in _text(path, table, "fields", r).split(";") if f.strip()
        )
        region = _text(path, table, "region", r).upper()
        if region not in REGIONS:
            raise _bad(path, r + 2, "region", region, "应为 CN、HK 或 MO", "must be CN, HK or MO")
        load = None
        if "max_load" in table.header and table.columns["max_load"][r] not in (None, ""):
            raw = table.columns["max_load"][r]
            try:
                load = int(str(raw).strip())
            except ValueError:
                load = -1
            if load <= 0:
                raise _bad(path, r + 2, "max_load", raw, "应为正整数", "must be a positive integer")
        org = _text(path, table, "organisation_id", r)
        out.append(Expert(expert_id, fields, org, region, load))
    return sorted(out, key=lambda e: e.expert_id)


def _pair_ids(path: Path, table: Any, r: int, apps: set[str], experts: set[str]) -> tuple[str, str]:
    app_id = _text(path, table, "application_id", r)
    expert_id = _text(path, table, "expert_id", r)
    if app_id not in apps:
        raise _bad(
            path, r + 2, "application_id", app_id, "不在申请文件中", "not in the applications file"
        )
    if expert_id not in experts:
        raise _bad(path, r + 2, "expert_id", expert_id, "不在专家文件中", "not in the experts file")
    return app_id, expert_id


def conflicts_read(path: Path, *, apps: set[str], experts: set[str]) -> set[tuple[str, str]]:
    table, rows = _rows(path, ("application_id", "expert_id"))
    return {_pair_ids(path, table, r, apps, experts) for r in rows}


def affinity_read(path: Path, *, apps: set[str], experts: set[str]) -> dict[tuple[str, str], float]:
    table, rows = _rows(path, ("application_id", "expert_id", "score"))
    out: dict[tuple[str, str], float] = {}
    for r in rows:
        key = _pair_ids(path, table, r, apps, experts)
        raw = table.columns["score"][r]
        try:
            score = float(str(raw).strip())
        except ValueError:
            score = math.nan
        if math.isnan(score) or math.isinf(score):
            raise _bad(path, r + 2, "score", raw, "应为数字", "must be a number")
        if key in out:
            raise _bad(path, r + 2, "expert_id", key[1], "该配对重复", "duplicate pair")
        out[key] = score
    return out


def instance_read(
    *,
    applications: Path,
    experts: Path,
    conflicts: Path | None,
    affinity: Path | None,
    per_application: int,
    max_load: int,
    min_hkmo: int | None,
) -> Instance:
    """The files of `wotu assign` as an :class:`Instance`. ``min_hkmo`` applies to the
    applications marked ``needs_hkmo``, or to all when the file has no such column (then
    omitted means 0); with the column, omitted means 1."""
    apps, has_hkmo = applications_read(applications)
    experts_list = experts_read(experts)
    if not has_hkmo and min_hkmo:
        apps = [Application(a.application_id, a.field, a.organisation_id, True) for a in apps]
    app_ids = {a.application_id for a in apps}
    expert_ids = {e.expert_id for e in experts_list}
    instance = Instance(
        applications=apps,
        experts=experts_list,
        per_application=per_application,
        max_load=max_load,
        min_hkmo=(1 if has_hkmo else 0) if min_hkmo is None else min_hkmo,
        conflicts=conflicts_read(conflicts, apps=app_ids, experts=expert_ids)
        if conflicts
        else set(),
        affinity=affinity_read(affinity, apps=app_ids, experts=expert_ids) if affinity else {},
    )
    _check_options(instance)
    return instance


def result_write(result: Result, path: Path) -> int:
    """``application_id, expert_id, affinity`` by extension (CSV, XLSX, Parquet)."""
    rows = [[p.application_id, p.expert_id, p.affinity] for p in result.pairs]
    if table_format(path) == "xlsx":
        columns = [("application_id", "str"), ("expert_id", "str"), ("affinity", "value")]
        return table_write(path, columns=columns, rows=rows)
    frame = pl.DataFrame(
        {
            "application_id": [r[0] for r in rows],
            "expert_id": [r[1] for r in rows],
            "affinity": [r[2] for r in rows],
        },
        schema={"application_id": pl.String, "expert_id": pl.String, "affinity": pl.Float64},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if table_format(path) == "csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path, compression="zstd", statistics=False)
    return frame.height
