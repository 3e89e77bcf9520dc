"""The audit chain: events link by hash and stay verifiable whatever their data. Tampering with
rows behind the models' back is tested in ``test_tamper.py``."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wotu.core.audit import GENESIS, audit_record, audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, AuditImmutableError, User

pytestmark = pytest.mark.django_db


def _three_events(actor: User) -> list[AuditEvent]:
    return [
        audit_record(
            actor=actor,
            action="test.step",
            subject=("test.thing", str(n)),
            data={"n": n, "amount": "100.00"},
        )
        for n in range(3)
    ]


def test_events_link_each_to_the_previous_hash(alice: User) -> None:
    first, second, third = _three_events(alice)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert audit_verify() is None


def test_an_event_cannot_be_changed_or_deleted_through_the_models(alice: User) -> None:
    event = _three_events(alice)[0]
    event.data = {"n": 99}
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()


def test_an_empty_chain_verifies(db: None) -> None:
    assert audit_verify() is None


# PostgreSQL's jsonb cannot hold U+0000 (it refuses the insert, so the change rolls back).
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20)
JSON_SCALARS = st.none() | st.booleans() | st.integers() | TEXT
JSON_DATA = st.dictionaries(
    TEXT,
    st.recursive(
        JSON_SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner),
        max_leaves=8,
    ),
    max_size=5,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=JSON_DATA)
def test_any_json_data_survives_the_database_and_still_verifies(
    alice: User, data: dict[str, Any]
) -> None:
    """Whatever the data (Chinese text, nesting, big integers), the database's JSON round trip
    must not change what the hash covers — otherwise verify would cry wolf."""
    event = audit_record(actor=alice, action="test.any", subject=("test.thing", "1"), data=data)
    assert AuditEvent.objects.get(pk=event.pk).data == event.data
    assert audit_verify() is None


# --- data no database can hold ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"memo": "a\x00b"}, 'data["memo"] holds the null character U+0000'),
        ({"memo": "half \ud83d of an emoji"}, 'data["memo"] holds a lone surrogate U+D83D'),
        ({"lines": [["ok", "bad\udc00"]]}, 'data["lines"][0][1] holds a lone surrogate U+DC00'),
        ({"outer": {"k\x00": 1}}, 'the key data["outer"]["k\\u0000"] holds the null character'),
    ],
)
def test_data_with_a_null_or_a_lone_surrogate_is_refused_naming_its_key_before_any_write(
    alice: User, django_assert_num_queries: Any, data: dict[str, Any], named: str
) -> None:
    with django_assert_num_queries(0), pytest.raises(WotuError) as refused:
        audit_record(actor=alice, action="test.bad", subject=("test.thing", "1"), data=data)
    assert named in refused.value.en
    assert "审计事件 test.bad 的数据无法记录" in refused.value.zh
    assert not AuditEvent.objects.exists() and audit_verify() is None


BAD_CHARS = st.sampled_from(["\x00"]) | st.characters(categories=["Cs"])


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=TEXT, bad=BAD_CHARS, after=TEXT, key=TEXT)
def test_any_text_holding_a_null_or_a_lone_surrogate_is_refused_and_the_chain_stays_intact(
    alice: User, before: str, bad: str, after: str, key: str
) -> None:
    audit_record(actor=alice, action="test.ok", subject=("test.thing", "1"), data={"n": 1})
    with pytest.raises(WotuError, match=f"U\\+{ord(bad):04X}"):
        audit_record(actor=alice, action="test.bad", subject=("test.thing", "2"),
                     data={key: {"nested": [before + bad + after]}})  # fmt: skip
    assert not AuditEvent.objects.filter(action="test.bad").exists()
    assert audit_verify() is None


# --- the verifying half lives in its own module ----------------------------------------------


def test_verify_and_checkpoint_are_still_importable_from_the_audit_module() -> None:
    from wotu.core import audit
    from wotu.core import audit_verify as verifying

    names = ("audit_verify", "audit_checkpoint", "audit_inspect", "ChainBreak", "audit_key")
    assert all(getattr(audit, name) is getattr(verifying, name) for name in names)
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        audit.nothing_here  # noqa: B018


@pytest.mark.parametrize(
    "first",
    ["wotu.core.audit", "wotu.core.audit_verify"],
)
def test_either_audit_module_imports_first_in_a_fresh_interpreter(first: str) -> None:
    script = (
        "import django, importlib, sys; django.setup();"
        f" importlib.import_module({first!r});"
        " from wotu.core.audit import audit_checkpoint, audit_inspect, audit_verify;"
        " import wotu.core.audit_verify as v;"
        " assert audit_verify is v.audit_verify and audit_inspect is v.audit_inspect;"
        " print('ok')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wotu.settings"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr
