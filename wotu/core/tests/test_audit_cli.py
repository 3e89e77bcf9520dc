"""`wotu audit verify|checkpoint`, the daily checkpoint task, and the production key check."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tasks import default_task_backend

from wotu.core.audit import (
    audit_checkpoint,
    audit_record,
    audit_verify,
    checkpoints_dir_default,
)
from wotu.core.models import User
from wotu.core.tasks import audit_checkpoint_daily, audit_checkpoint_schedule
from wotu.ledger.models import EntryKind, Posting
from wotu.ledger.posting import account_for, entry_post

pytestmark = pytest.mark.django_db
KEY = "a-test-audit-key-of-at-least-32-characters"
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOTU_AUDIT_KEY", KEY)


@pytest.fixture
def unkeyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WOTU_AUDIT_KEY", raising=False)


@pytest.fixture
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def two_entries(bob: User) -> None:
    source, budget = account_for(kind="source"), account_for(kind="budget")
    audit_record(actor=bob, action="test.step", subject=("test.thing", "1"))
    for amount in (Decimal("500.00"), Decimal("250.50")):
        entry_post(kind=EntryKind.ALLOCATE, actor=bob, lines=[(source, amount), (budget, -amount)])


def _audit(*args: str) -> str:
    out = StringIO()
    call_command("audit", *args, stdout=out)
    return out.getvalue()


def test_verify_says_the_chain_and_ledger_are_intact_with_counts(
    two_entries: None, var_dir: Path, keyed: None
) -> None:
    out = _audit("verify")
    assert "链与账簿完整 / chain and ledger intact: 3 events, 2 entries" in out
    assert "0 checkpoints checked" in out


def test_verify_without_the_key_still_verifies_and_says_checkpoints_were_not_checked(
    two_entries: None, var_dir: Path, unkeyed: None
) -> None:
    out = _audit("verify", "--checkpoints", str(var_dir))
    assert "chain and ledger intact" in out
    assert "未检查检查点" in out and "checkpoints not checked: WOTU_AUDIT_KEY is not set" in out


def test_verify_exits_1_naming_the_first_broken_link(two_entries: None, var_dir: Path) -> None:
    posting = Posting.objects.get(amount=Decimal("500.00"))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE ledger_posting DISABLE TRIGGER USER")
        cursor.execute("UPDATE ledger_posting SET amount = 5000 WHERE id = %s", [posting.pk])
    with pytest.raises(CommandError) as failure:
        _audit("verify")
    assert failure.value.returncode == 1
    message = str(failure.value)
    assert "第一个断点" in message and f"id 为 {posting.pk} 的行已被改动" in message
    assert f"first broken link: ledger_posting row #{posting.pk} was changed" in message


def test_checkpoint_prints_the_path_of_a_signed_file(
    two_entries: None, var_dir: Path, keyed: None
) -> None:
    path = Path(_audit("checkpoint").strip())
    assert path.parent == checkpoints_dir_default()
    body = json.loads(path.read_text())
    assert set(body) == {
        "last_id", "last_hash", "ledger_entries", "ledger_postings_digest", "created_at",
        "signature",
    }  # fmt: skip
    assert (body["last_id"], body["ledger_entries"]) == (3, 2)
    assert "1 checkpoints checked" in _audit("verify")


def test_checkpoint_writes_to_the_folder_given_with_out(
    two_entries: None, tmp_path: Path, keyed: None
) -> None:
    path = Path(_audit("checkpoint", "--out", str(tmp_path / "elsewhere")).strip())
    assert path.parent == tmp_path / "elsewhere" and path.exists()
    assert audit_verify(checkpoints_dir=path.parent) is None


def test_checkpoint_refuses_without_the_key_in_both_languages(
    two_entries: None, var_dir: Path, unkeyed: None
) -> None:
    with pytest.raises(CommandError, match="WOTU_AUDIT_KEY") as failure:
        _audit("checkpoint")
    assert "无法写检查点" in str(failure.value) and "cannot write a checkpoint" in str(
        failure.value
    )
    assert not (var_dir / "checkpoints").exists()


def test_checkpoint_refuses_a_short_key(
    two_entries: None, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOTU_AUDIT_KEY", "short")
    with pytest.raises(CommandError, match="shorter than 32 characters"):
        _audit("checkpoint")


def test_checkpoint_refuses_to_vouch_for_a_broken_chain(
    two_entries: None, var_dir: Path, keyed: None
) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute("UPDATE core_auditevent SET actor_label = 'x', action = 'y' WHERE id = 1")
    with pytest.raises(CommandError, match="the chain is broken, so no checkpoint was written"):
        _audit("checkpoint")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], ["审计链", "audit chain", "verify", "checkpoint"]),
        (["verify", "--help"], ["--checkpoints DIR", "检查点目录", "checkpoint folder"]),
        (["checkpoint", "--help"], ["--out DIR", "输出目录", "output folder"]),
    ],
)
def test_help_is_in_chinese_and_english(args: list[str], expected: list[str]) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "wotu.cli", "audit", *args],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    for text in expected:
        assert text in done.stdout


# --- the daily task ----------------------------------------------------------------------


def test_the_daily_task_writes_a_checkpoint_and_queues_itself_for_tomorrow(
    two_entries: None, var_dir: Path, keyed: None, settings: Any
) -> None:
    settings.TASKS = DUMMY
    default_task_backend.clear()  # type: ignore[attr-defined]
    written = Path(audit_checkpoint_daily.call())
    assert written.parent == checkpoints_dir_default() and written.exists()
    queued = default_task_backend.results  # type: ignore[attr-defined]
    assert [r.task.name for r in queued] == ["audit_checkpoint_daily"]
    wait = queued[0].task.run_after - json_time(written)
    assert 23 * 3600 < wait.total_seconds() < 25 * 3600


def json_time(path: Path) -> Any:
    from django.utils.dateparse import parse_datetime

    return parse_datetime(json.loads(path.read_text())["created_at"])


def test_the_daily_task_without_a_key_logs_why_and_still_queues_tomorrow(
    two_entries: None, var_dir: Path, unkeyed: None, settings: Any
) -> None:
    settings.TASKS = DUMMY
    default_task_backend.clear()  # type: ignore[attr-defined]
    assert "WOTU_AUDIT_KEY" in audit_checkpoint_daily.call()
    assert len(default_task_backend.results) == 1  # type: ignore[attr-defined]


def test_scheduling_twice_on_the_database_queue_keeps_one_daily_series(settings: Any) -> None:
    settings.TASKS = DATABASE
    assert audit_checkpoint_schedule() is True
    assert audit_checkpoint_schedule() is False


def test_a_backend_that_cannot_defer_gets_no_next_run(
    two_entries: None, var_dir: Path, keyed: None, settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    assert Path(audit_checkpoint_daily.call()).exists()
    assert audit_checkpoint_schedule(run_after=json_time(audit_checkpoint())) is False


# --- production settings -----------------------------------------------------------------


def _deploy_check(**env: str) -> subprocess.CompletedProcess[str]:
    """`wotu check --deploy` under production settings in a clean environment (as the Makefile's
    deploy-check target runs it), with ``env`` added."""
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return subprocess.run(
        [sys.executable, "-m", "wotu.cli", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True, text=True, check=False,
        env={**keep, "DJANGO_SETTINGS_MODULE": "wotu.settings_production",
             "SECRET_KEY": secrets.token_urlsafe(60), **env},
    )  # fmt: skip


def test_production_refuses_to_start_without_the_audit_key() -> None:
    done = _deploy_check()
    assert done.returncode != 0
    assert "WOTU_AUDIT_KEY" in done.stderr and "至少 32 个字符" in done.stderr


def test_production_check_deploy_is_clean_with_the_audit_key() -> None:
    done = _deploy_check(WOTU_AUDIT_KEY=secrets.token_urlsafe(40))
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout
