"""The expert pool: adding and changing experts (fields from the taxonomy), and the admission
checklist Hong Kong and Macao experts complete before they may be assigned."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.reviews.models import AdmissionCondition, Expert
from wotu.reviews.selectors import ExpertFilter, expert_list_for_user
from wotu.reviews.services import expert_admit, expert_create, expert_update
from wotu.reviews.tests.test_stages import expert_make

ALL_CONDITIONS = ["identity", "senior_title", "confidentiality", "mainland_rules", "integrity"]


def valid(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"code": "E1", "name": "李工", "fields": ["machinery"]}
    values.update(overrides)
    return values


def test_the_five_usual_admission_conditions_are_seeded_in_both_languages(db: None) -> None:
    conditions = list(AdmissionCondition.objects.all())
    assert [c.code for c in conditions] == ALL_CONDITIONS
    assert all(c.label and c.label_en and c.active for c in conditions)
    assert conditions[0].label == "持有效身份证明"


def test_an_officer_adds_an_expert_and_the_change_is_audited(
    alice: User, haina: Organisation
) -> None:
    expert = expert_create(actor=alice, organisation=haina, **valid(fields=["energy", "ht_bio"]))
    assert expert.fields == ["energy", "ht_bio"] and expert.in_pool
    assert AuditEvent.objects.filter(action="expert.create", subject_id=str(expert.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"fields": []}, "at least one review field"),
        ({"fields": ["machinery", "robots"]}, "robots are not in the taxonomy"),
        ({"region": "TW"}, "use CN, HK or MO"),
        ({"max_load": 0}, "positive whole number"),
        ({"code": " "}, "must not be empty"),
        ({"name": ""}, "must not be empty"),
    ],
)
def test_a_bad_expert_record_is_refused_with_the_reason(
    alice: User, haina: Organisation, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(Exception, match=message):
        expert_create(actor=alice, organisation=haina, **valid(**overrides))
    assert not Expert.objects.exists()


def test_an_expert_number_is_used_once(alice: User, haina: Organisation) -> None:
    expert_create(actor=alice, organisation=haina, **valid())
    with pytest.raises(Exception, match="already taken"):
        expert_create(actor=alice, organisation=haina, **valid(name="另一位"))


def test_only_an_expert_account_not_yet_linked_can_be_linked(
    alice: User, carol: User, dave: User, haina: Organisation
) -> None:
    with pytest.raises(Exception, match="does not have the expert role"):
        expert_create(actor=alice, organisation=haina, account=dave, **valid())
    expert_create(actor=alice, organisation=haina, account=carol, **valid())
    with pytest.raises(Exception, match="already linked"):
        expert_create(actor=alice, organisation=haina, account=carol, **valid(code="E2"))


@pytest.mark.parametrize("persona", ["bob", "carol", "dave", "frank"])
def test_only_bureau_officers_manage_the_pool(
    request: pytest.FixtureRequest, haina: Organisation, persona: str
) -> None:
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        expert_create(actor=user, organisation=haina, **valid())
    expert = expert_make(region="HK", admitted=False)
    with pytest.raises(PermissionDenied):
        expert_admit(expert=expert, actor=user, ticked=ALL_CONDITIONS)
    with pytest.raises(PermissionDenied):
        expert_list_for_user(user=user)


def test_moving_an_expert_to_hong_kong_sends_them_through_admission(
    alice: User, haina: Organisation, hkust: Organisation
) -> None:
    expert = expert_make(organisation=haina)
    expert_update(
        expert=expert, actor=alice, name=expert.name, organisation=hkust, fields=["ht_bio"],
        region="HK", title="教授", max_load=3, active=True,
    )  # fmt: skip
    assert expert.region == "HK" and not expert.in_pool and expert.max_load == 3
    assert AuditEvent.objects.filter(action="expert.update").exists()


def test_an_hkmo_expert_joins_the_pool_only_when_every_condition_is_ticked(
    alice: User, hkust: Organisation
) -> None:
    expert = expert_make(organisation=hkust, region="HK", admitted=False)
    with pytest.raises(Exception) as caught:
        expert_admit(expert=expert, actor=alice, ticked=["identity", "senior_title"])
    assert "签署保密与回避承诺" in str(caught.value) and "misconduct" in str(caught.value)
    assert "持有效身份证明" not in str(caught.value)
    expert.refresh_from_db()
    assert not expert.in_pool
    expert_admit(expert=expert, actor=alice, ticked=ALL_CONDITIONS)
    assert expert.in_pool and all(expert.admission.values())
    assert AuditEvent.objects.filter(action="expert.admit").count() == 1


def test_an_inactive_condition_is_not_required(alice: User, hkust: Organisation) -> None:
    AdmissionCondition.objects.filter(code="mainland_rules").update(active=False)
    expert = expert_make(organisation=hkust, region="MO", admitted=False)
    expert_admit(
        expert=expert, actor=alice, ticked=[c for c in ALL_CONDITIONS if c != "mainland_rules"]
    )
    assert expert.in_pool


@pytest.mark.parametrize(
    ("region", "admitted", "ticked", "message"),
    [
        ("CN", False, ALL_CONDITIONS, "needs no admission"),
        ("HK", True, ALL_CONDITIONS, "already admitted"),
        ("HK", False, [*ALL_CONDITIONS, "bribe"], "bribe"),
    ],
)
def test_admission_refusals_say_why(
    alice: User, region: str, admitted: bool, ticked: list[str], message: str
) -> None:
    expert = expert_make(region=region, admitted=admitted)
    with pytest.raises(Exception, match=message):
        expert_admit(expert=expert, actor=alice, ticked=ticked)


def test_the_pool_filters_by_field_region_and_active(alice: User) -> None:
    expert_make(code="A", fields=("energy",))
    expert_make(code="B", fields=("ht_energy",), region="MO")
    expert_make(code="C", fields=("energy",), active=False)

    def codes(**kw: str) -> list[str]:
        return [e.code for e in expert_list_for_user(user=alice, filters=ExpertFilter(**kw))]

    assert codes(field="energy") == ["A", "C"]  # "energy" does not match "ht_energy"
    assert codes(region="MO") == ["B"]
    assert codes(active="no") == ["C"]
    assert codes(in_pool="yes") == ["A", "B"]
