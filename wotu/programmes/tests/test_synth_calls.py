"""The synthetic calls look like the seed's: sizes, fields, budgets that add up, reproducible."""

from __future__ import annotations

from decimal import Decimal

from wotu.programmes import synth_calls as sc
from wotu.reviews.fields import BY_CODE


def test_quanzhou_has_245_applications_in_five_fields_from_distinct_firms() -> None:
    specs = sc.quanzhou_applications(applicants=2000, seed=2021)
    assert len(specs) == 245
    assert {s.field for s in specs} == set(sc.QUANZHOU_FIELDS)
    assert len({s.applicant for s in specs}) == 245


def test_about_61_requests_fit_the_quanzhou_budget_in_merit_order() -> None:
    specs = sorted(sc.quanzhou_applications(applicants=2000, seed=2021), key=lambda s: -s.quality)
    spent, funded = Decimal(0), 0
    for spec in specs:
        if spent + spec.requested > sc.QUANZHOU_BUDGET:
            break
        spent += spec.requested
        funded += 1
    assert 50 <= funded <= 72


def test_every_budget_adds_up_to_the_request_to_the_fen() -> None:
    for spec in sc.quanzhou_applications(applicants=300, seed=7) + sc.guangzhou_applications(
        mainland=50, hkmo=10, seed=7
    ):
        lines = [Decimal(v) for v in spec.budget.values()]
        assert sum(lines) == spec.requested and min(lines) >= 0


def test_a_third_of_guangzhou_applications_are_led_from_hong_kong_or_macao() -> None:
    specs = sc.guangzhou_applications(mainland=50, hkmo=10, seed=7, count=30)
    hk_led = [s for s in specs if s.applicant >= 50]
    assert len(hk_led) == 10
    assert all(p >= 50 for s in specs if s.applicant < 50 for p in s.partners)
    assert any(not s.partners for s in hk_led), "some HK/MO units apply alone"


def test_the_expert_pool_uses_taxonomy_fields_and_includes_hkmo_experts() -> None:
    regions = ["CN"] * 20 + ["HK"] * 3 + ["MO"] * 2
    experts = sc.expert_pool(organisations=regions, seed=1, fields=sc.QUANZHOU_FIELDS)
    assert len(experts) == 150
    assert all(f in BY_CODE for e in experts for f in e.fields)
    assert sum(e.region != "CN" for e in experts) >= 15
    assert all(e.region == regions[e.organisation] for e in experts)


def test_the_same_seed_gives_the_same_call_and_the_same_marks() -> None:
    first = sc.quanzhou_applications(applicants=400, seed=3)
    assert first == sc.quanzhou_applications(applicants=400, seed=3)
    assert first != sc.quanzhou_applications(applicants=400, seed=4)
    expert = sc.expert_pool(organisations=["CN"] * 5, seed=3, fields=sc.QUANZHOU_FIELDS)[0]
    marks = sc.marks_draw(application=first[0], expert=expert, criteria=["a", "b"], seed=3)
    assert marks == sc.marks_draw(application=first[0], expert=expert, criteria=["a", "b"], seed=3)
    assert all(0 <= v <= 100 for v in marks.values())
