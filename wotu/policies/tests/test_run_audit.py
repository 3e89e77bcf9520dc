"""Policy runs in the audit chain: each run and each status change is an event, and a change of
a policy's parameters or formulas is recorded where it first reaches money."""

from __future__ import annotations

from typing import Any

import pytest

from wotu.core.audit import audit_verify
from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.policies import services
from wotu.policies.models import PolicyRun
from wotu.policies.services import run_create
from wotu.policies.tests.support import IMMEDIATE, QINGDAO, YEAR, scenario_registry


@pytest.fixture(autouse=True)
def _tasks_run_immediately(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def city(db: None) -> dict[str, Organisation]:
    return scenario_registry()


def _actions(run: PolicyRun) -> list[str]:
    events = AuditEvent.objects.filter(subject_type="policies.policyrun", subject_id=str(run.pk))
    return [f"{e.action}:{e.data.get('to', '')}" for e in events.order_by("id")]


def test_a_run_and_each_of_its_status_changes_are_audited(
    alice: User, city: dict[str, Organisation]
) -> None:
    run = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    assert _actions(run) == [
        "policy.run.create:", "policy.run.status:running", "policy.run.status:done",
    ]  # fmt: skip
    done = AuditEvent.objects.get(action="policy.run.status", data__to="done")
    assert done.actor == alice and done.data["totals"]["amount"] == "1800000.00"
    assert audit_verify() is None


def test_the_same_parameters_again_record_no_change(
    alice: User, city: dict[str, Organisation]
) -> None:
    run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    assert not AuditEvent.objects.filter(action="policy.parameters").exists()


def test_changed_parameters_are_recorded_when_a_baseline_first_uses_them(
    alice: User, city: dict[str, Organisation], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a baseline run, when the catalogue's formulas change (a new deployment)
    first = run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    monkeypatch.setattr(services, "formulas_hash", lambda policy_id: "f" * 64)
    second = run_create(user=alice, policy_id=QINGDAO, year=YEAR)

    # then the change is in the chain, naming both runs and both hashes
    change = AuditEvent.objects.get(action="policy.parameters")
    assert change.subject_id == str(second.pk) and change.data["previous_run"] == first.pk
    assert change.data["formulas"] == {"from": first.formulas_hash, "to": "f" * 64}
    assert "parameters" not in change.data


def test_a_scenario_is_audited_but_is_not_a_parameter_change(
    alice: User, city: dict[str, Organisation]
) -> None:
    run_create(user=alice, policy_id=QINGDAO, year=YEAR)
    scenario = run_create(
        user=alice, policy_id=QINGDAO, year=YEAR,
        overrides={"hitech_first_cert.rd_cap": "500000"},
    )  # fmt: skip

    created = AuditEvent.objects.get(action="policy.run.create", subject_id=str(scenario.pk))
    assert created.data["overrides"] and created.data["baseline"] is not None
    assert not AuditEvent.objects.filter(action="policy.parameters").exists()
