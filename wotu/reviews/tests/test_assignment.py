"""The assignment solver: hand-made instances, invariants on random ones, diagnoses, repair."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.reviews.assignment import (
    Application,
    AssignmentInfeasible,
    Expert,
    Instance,
    _affinity_bound,
    _diagnose,
    _groups_nest,
    _Problem,
    _problem,
    _result,
    _solve_flow,
    _solve_flow_pruned,
    assignment_repair,
    assignment_solve,
)


def expert(eid: str, fields: str, org: str, region: str = "CN", load: int | None = None) -> Expert:
    return Expert(eid, frozenset(fields.split(";")), org, region, load)


def pairs_of(result: object) -> set[tuple[str, str]]:
    return {(p.application_id, p.expert_id) for p in result.pairs}  # type: ignore[attr-defined]


def test_each_application_gets_the_unique_best_experts() -> None:
    # Given two fields and one matching expert pair per field
    apps = [Application("A1", "bio", "U1"), Application("A2", "ict", "U2")]
    experts = [
        expert("E1", "bio", "X1"),
        expert("E2", "bio", "X2"),
        expert("E3", "ict", "X3"),
        expert("E4", "ict", "X4"),
    ]
    # When each application needs two experts, each expert at most one
    result = assignment_solve(Instance(apps, experts, per_application=2, max_load=1))
    # Then each application gets its own field's experts
    assert pairs_of(result) == {("A1", "E1"), ("A1", "E2"), ("A2", "E3"), ("A2", "E4")}
    assert result.total_affinity == 4


def test_same_organisation_and_declared_conflicts_are_never_assigned() -> None:
    apps = [Application("A1", "bio", "U1")]
    experts = [expert("E1", "bio", "U1"), expert("E2", "bio", "X"), expert("E3", "ict", "Y")]
    instance = Instance(apps, experts, per_application=1, max_load=1, conflicts={("A1", "E2")})
    assert pairs_of(assignment_solve(instance)) == {("A1", "E3")}


def test_supplied_scores_override_the_field_match() -> None:
    apps = [Application("A1", "bio", "U1")]
    experts = [expert("E1", "bio", "X"), expert("E2", "ict", "Y")]
    instance = Instance(apps, experts, per_application=1, max_load=1, affinity={("A1", "E2"): 5})
    result = assignment_solve(instance)
    assert [(p.expert_id, p.affinity) for p in result.pairs] == [("E2", 5.0)]


def test_loads_are_spread_when_affinity_ties() -> None:
    apps = [Application(f"A{i}", "bio", f"U{i}") for i in range(4)]
    experts = [expert("E1", "bio", "X"), expert("E2", "bio", "Y")]
    result = assignment_solve(Instance(apps, experts, per_application=1, max_load=4))
    assert sorted(result.loads.values()) == [2, 2]


def test_at_most_one_expert_per_organisation_on_an_application() -> None:
    apps = [Application("A1", "bio", "U1")]
    experts = [expert("E1", "bio", "X"), expert("E2", "bio", "X"), expert("E3", "ict", "Y")]
    result = assignment_solve(Instance(apps, experts, per_application=2, max_load=1))
    assert pairs_of(result) == {("A1", "E1"), ("A1", "E3")}


def test_an_application_needing_hkmo_gets_an_hkmo_expert_even_at_lower_affinity() -> None:
    apps = [Application("A1", "bio", "U1", needs_hkmo=True)]
    experts = [
        expert("E1", "bio", "X"),
        expert("E2", "bio", "Y"),
        expert("H1", "ict", "HKU", "HK"),
    ]
    instance = Instance(apps, experts, per_application=2, max_load=1, min_hkmo=1)
    assert ("A1", "H1") in pairs_of(assignment_solve(instance))


def test_cp_sat_is_used_when_an_organisation_spans_the_mainland_and_hong_kong() -> None:
    apps = [Application("A1", "bio", "U1", needs_hkmo=True)]
    experts = [
        expert("E1", "bio", "Z"),
        expert("E2", "bio", "Y"),
        expert("H1", "bio", "Z", "HK"),
    ]
    instance = Instance(apps, experts, per_application=2, max_load=1, min_hkmo=1)
    result = assignment_solve(instance)
    assert result.solver == "CP-SAT"
    assert pairs_of(result) == {("A1", "E2"), ("A1", "H1")}


def test_an_application_with_too_few_free_experts_is_named_with_its_count() -> None:
    apps = [Application("A1", "bio", "U1"), Application("A2", "bio", "U2")]
    experts = [expert("E1", "bio", "U2"), expert("E2", "bio", "X"), expert("E3", "bio", "Y")]
    instance = Instance(apps, experts, per_application=3, max_load=2)
    with pytest.raises(AssignmentInfeasible) as caught:
        assignment_solve(instance)
    text = caught.value.en
    assert "application A2 needs 3 experts but only 2" in text
    assert "application A1" not in text.split("capacity")[0].replace("A1 needs 3", "")


def test_too_few_hkmo_experts_and_too_little_capacity_are_diagnosed() -> None:
    apps = [Application("A1", "bio", "U1", needs_hkmo=True), Application("A2", "bio", "U2")]
    experts = [expert("E1", "bio", "X"), expert("E2", "bio", "Y")]
    instance = Instance(apps, experts, per_application=2, max_load=1, min_hkmo=1)
    with pytest.raises(AssignmentInfeasible) as caught:
        assignment_solve(instance)
    assert "application A1 needs at least 1 HK/MO experts but only 0" in caught.value.en
    assert "total capacity 2" in caught.value.en
    assert "港澳" in caught.value.zh


def test_a_hall_shortage_names_the_applications_left_short() -> None:
    # Three experts of capacity 1 each, but A1 and A2 may only use E1 and E2 (conflicts).
    apps = [Application(f"A{i}", "bio", f"U{i}") for i in (1, 2, 3)]
    experts = [expert(f"E{i}", "bio", f"X{i}", load=1) for i in (1, 2, 3)]
    conflicts = {("A1", "E3"), ("A2", "E3")}
    instance = Instance(apps, experts, per_application=1, max_load=1, conflicts=conflicts)
    assert len(assignment_solve(instance).pairs) == 3
    instance.conflicts |= {("A3", "E1"), ("A3", "E2"), ("A1", "E2")}
    assert pairs_of(assignment_solve(instance)) == {("A1", "E1"), ("A2", "E2"), ("A3", "E3")}
    instance.conflicts.add(("A2", "E1"))
    instance.conflicts.discard(("A1", "E2"))
    instance.conflicts.add(("A2", "E2"))
    with pytest.raises(AssignmentInfeasible) as caught:
        assignment_solve(instance)
    assert "application A2 needs 1 experts but only 0" in caught.value.en


def test_the_same_input_and_seed_give_the_same_assignment() -> None:
    instance = _random_instance(seed=7, n_apps=20, n_exp=30, k=3)
    assert assignment_solve(instance, seed=3).pairs == assignment_solve(instance, seed=3).pairs


def test_repair_changes_only_the_declined_pair() -> None:
    instance = _random_instance(seed=11, n_apps=20, n_exp=15, k=3)
    before = assignment_solve(instance)
    declined = {(before.pairs[0].application_id, before.pairs[0].expert_id)}
    after = assignment_repair(instance, previous=before.pairs, declined=declined)
    assert len(pairs_of(before) - pairs_of(after)) == 1
    assert len(pairs_of(after) - pairs_of(before)) == 1
    assert not (pairs_of(after) & declined)
    _assert_valid(instance, after)


def test_repair_refuses_when_the_freed_slot_cannot_be_filled() -> None:
    apps = [Application("A1", "bio", "U1")]
    experts = [expert("E1", "bio", "X"), expert("E2", "bio", "Y")]
    instance = Instance(apps, experts, per_application=2, max_load=1)
    before = assignment_solve(instance)
    with pytest.raises(AssignmentInfeasible):
        assignment_repair(instance, previous=before.pairs, declined={("A1", "E1")})


# ---- invariants on random instances ----------------------------------------------------------


def _random_instance(*, seed: int, n_apps: int, n_exp: int, k: int, hk: bool = False) -> Instance:
    import random

    rng = random.Random(seed)
    fields = ["bio", "ict", "mat", "eng", "env"]
    orgs = [f"O{i}" for i in range(max(3, n_exp // 2))]
    apps = [
        Application(f"A{i:03}", rng.choice(fields), rng.choice(orgs), hk and rng.random() < 0.3)
        for i in range(n_apps)
    ]
    experts = []
    for j in range(n_exp):
        region = "HK" if j % 4 == 0 else "CN"
        org = f"H{j % 3}" if region == "HK" else rng.choice(orgs)
        fs = frozenset(rng.sample(fields, rng.randint(1, 2)))
        experts.append(Expert(f"E{j:03}", fs, org, region, rng.choice([None, None, 2, 5])))
    conflicts = {
        (a.application_id, e.expert_id) for a in apps for e in experts if rng.random() < 0.05
    }
    return Instance(apps, experts, per_application=k, max_load=6, min_hkmo=1, conflicts=conflicts)


def _assert_valid(instance: Instance, result: object) -> None:
    pairs = pairs_of(result)
    by_app = Counter(a for a, _ in pairs)
    assert all(by_app[a.application_id] == instance.per_application for a in instance.applications)
    experts = {e.expert_id: e for e in instance.experts}
    apps = {a.application_id: a for a in instance.applications}
    for a, e in pairs:
        assert (a, e) not in instance.conflicts
        assert experts[e].organisation_id != apps[a].organisation_id
    load = Counter(e for _, e in pairs)
    for e, n in load.items():
        limit = experts[e].max_load or instance.max_load
        assert n <= limit
    for app in instance.applications:
        mine = [experts[e] for x, e in pairs if x == app.application_id]
        assert len({e.organisation_id for e in mine}) == len(mine)
        if app.needs_hkmo:
            assert sum(e.hkmo for e in mine) >= instance.min_hkmo


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_apps=st.integers(1, 25),
    n_exp=st.integers(4, 20),
    k=st.integers(1, 3),
)
def test_every_solution_meets_every_rule_or_the_diagnosis_says_why(
    seed: int, n_apps: int, n_exp: int, k: int
) -> None:
    instance = _random_instance(seed=seed, n_apps=n_apps, n_exp=n_exp, k=k, hk=True)
    try:
        result = assignment_solve(instance, seed=seed)
    except AssignmentInfeasible as refusal:
        assert refusal.problems
        return
    _assert_valid(instance, result)
    # The flow and CP-SAT agree on the optimum whenever both apply.
    if result.solver == "min-cost flow":
        other = assignment_solve(instance, seed=seed, solver="cpsat")
        assert other.total_affinity == result.total_affinity


# ---- two-phase flow: pruned network, verified against the affinity bound ---------------------


def _flow_problem(instance: Instance) -> _Problem | None:
    problem = _problem(instance)
    if _diagnose(problem) or not _groups_nest(problem):
        return None
    return problem


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_apps=st.integers(1, 25),
    n_exp=st.integers(4, 24),
    k=st.integers(1, 3),
    scored=st.booleans(),
)
def test_the_pruned_flow_reaches_the_full_flows_total_affinity(
    seed: int, n_apps: int, n_exp: int, k: int, scored: bool
) -> None:
    import random

    instance = _random_instance(seed=seed, n_apps=n_apps, n_exp=n_exp, k=k, hk=True)
    if scored:  # supplied scores, some negative, some zero, some above 1
        rng = random.Random(seed)
        instance.affinity = {
            (a.application_id, e.expert_id): rng.choice([-1.0, 0.0, 0.0, 0.5, 2.0])
            for a in instance.applications
            for e in instance.experts
            if rng.random() < 0.3
        }
    problem = _flow_problem(instance)
    if problem is None:
        return
    try:
        full = _solve_flow(_problem(instance))
    except AssignmentInfeasible:
        with pytest.raises(AssignmentInfeasible):
            _solve_flow_pruned(problem, prune_above=0, extra=0)
        return
    pruned = _solve_flow_pruned(problem, prune_above=0, extra=0)
    # Then the same total affinity as the full network, and every rule holds
    assert int(problem.pair_milli[pruned].sum()) == int(problem.pair_milli[full].sum())
    assert int(problem.pair_milli[full].sum()) <= _affinity_bound(problem)
    _assert_valid(instance, _result(problem, ("min-cost flow", pruned)))
    # And the pruned network is kept only when it reaches the bound
    if (problem.network_pairs or 0) < problem.pair_app.size:
        assert int(problem.pair_milli[pruned].sum()) == _affinity_bound(problem)


def test_the_pruned_network_is_kept_when_it_reaches_the_affinity_bound() -> None:
    # Given one application and many zero-affinity experts beside two matched ones
    apps = [Application("A1", "bio", "U1")]
    experts = [expert("E1", "bio", "X1"), expert("E2", "bio", "X2")]
    experts += [expert(f"Z{i:02}", "ict", f"Y{i}") for i in range(20)]
    instance = Instance(apps, experts, per_application=2, max_load=1)
    problem = _problem(instance)
    picks = _solve_flow_pruned(problem, prune_above=0, extra=0)
    # Then the pruned network (2 matched + 4 reserve pairs) answers, at the bound
    assert problem.network_pairs == 6 < problem.pair_app.size == 22
    assert int(problem.pair_milli[picks].sum()) == _affinity_bound(problem) == 2000


def test_the_full_network_is_solved_when_the_bound_is_not_reached() -> None:
    # Given two applications contending for the only matched expert, of capacity 1
    apps = [Application("A1", "bio", "U1"), Application("A2", "bio", "U2")]
    experts = [expert("E1", "bio", "X1", load=1)]
    experts += [expert(f"Z{i:02}", "ict", f"Y{i}") for i in range(20)]
    instance = Instance(apps, experts, per_application=1, max_load=3)
    problem = _problem(instance)
    # The bound counts E1 for both, no assignment can: the pruned answer is not proven optimal
    assert _affinity_bound(problem) == 2000
    picks = _solve_flow_pruned(problem, prune_above=0, extra=0)
    # Then the full network was solved, and its optimum (one match) is returned
    assert problem.network_pairs == problem.pair_app.size == 42
    assert int(problem.pair_milli[picks].sum()) == 1000
    _assert_valid(instance, _result(problem, ("min-cost flow", picks)))


def test_the_full_network_is_solved_when_the_pruned_one_is_infeasible() -> None:
    # Given the reserve's two experts already at their maximum load (as in a repair)
    apps = [Application("A1", "bio", "U1")]
    experts = [expert(f"Z{i}", "ict", f"Y{i}", load=1) for i in range(6)]
    instance = Instance(apps, experts, per_application=1, max_load=1)
    problem = _problem(instance, used=np.array([1, 1, 0, 0, 0, 0], dtype=np.int64))
    picks = _solve_flow_pruned(problem, prune_above=0, extra=0)
    # Then the full network routes the demand through a free expert
    assert problem.network_pairs == 6
    assert [int(problem.pair_expert[k]) for k in picks] in ([2], [3], [4], [5])


def test_a_large_instance_is_solved_on_the_pruned_network_with_exact_affinity() -> None:
    instance = _random_instance(seed=5, n_apps=60, n_exp=80, k=3)
    problem = _problem(instance)
    picks = _solve_flow_pruned(problem, prune_above=0)
    full = _solve_flow(_problem(instance))
    assert (problem.network_pairs or 0) < problem.pair_app.size
    assert int(problem.pair_milli[picks].sum()) == int(problem.pair_milli[full].sum())
    assert _solve_flow_pruned(_problem(instance), prune_above=0) == picks  # deterministic
