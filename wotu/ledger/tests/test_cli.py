"""`wotu ledger …`: allocate, commit, a batch from prepare to the bank's return, FX imports and
the trial balance from the command line — reruns with the same --key book nothing twice, and
refusals are printed in Chinese and English without a traceback."""

from __future__ import annotations

import argparse
import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wotu.core.models import User
from wotu.ledger.management.commands.ledger import Command
from wotu.ledger.models import (
    BatchStatus,
    Commitment,
    EntryKind,
    FxRate,
    JournalEntry,
    PaymentBatch,
    TrancheStatus,
)
from wotu.ledger.tests.test_payments import (
    PAY_DAY,
    World,
    hkd_rate,
    payable_make,
    payee_account,
    world_make,
)
from wotu.organisations.models import Organisation


def wotu(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def refusal(*args: str) -> tuple[str, str]:
    """The CommandError message (exit 1, no traceback) and what was printed to stderr first."""
    stderr = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=StringIO(), stderr=stderr)
    return str(caught.value), stderr.getvalue()


@pytest.fixture
def world(bob: User) -> World:
    return world_make(bob=bob)


def test_the_help_is_in_chinese_and_english() -> None:
    parser = Command().create_parser("wotu", "ledger")
    text = parser.format_help()
    assert "账簿与付款 / the ledger and payments" in text and "trial-balance" in text
    (actions,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    sub: dict[str, argparse.ArgumentParser] = actions.choices
    batch_help = sub["batch"].format_help()
    assert "准备批次 / prepare a batch" in batch_help and "导入银行回单" in batch_help
    allocate_help = sub["allocate"].format_help()
    assert "幂等键" in allocate_help and "idempotency key" in allocate_help


def test_allocate_and_commit_book_once_per_key(world: World, haina: Organisation) -> None:
    args = [
        *("ledger", "allocate", "--programme", "gz-joint-2019", "--year", "2019"),
        *("--source", "gz-city", "--amount", "1,000,000.00", "--user", "bob", "--key", "alloc-2"),
    ]
    out, _ = wotu(*args)
    assert "left to commit: CNY 61000000.00" in out
    wotu(*args)
    assert JournalEntry.objects.filter(kind=EntryKind.ALLOCATE).count() == 2  # world's + this
    commit = [
        *("ledger", "commit", "--award", "programmes.award:7", "--payee", str(haina.uscc)),
        *("--amount", "200000", "--programme", "gz-joint-2019", "--year", "2019"),
        *("--source", "gz-city", "--user", "bob", "--key", "c-7"),
    ]
    assert "commitments: 1; 合计 / total: CNY 200000.00" in wotu(*commit)[0]
    wotu(*commit)
    assert Commitment.objects.get().payee == haina


def test_a_batch_is_prepared_approved_exported_and_returned_from_the_command_line(
    world: World, haina: Organisation, tmp_path: Path
) -> None:
    payee_account(haina)
    tranche = payable_make(world, haina, "1500000.00")
    prepare = ["ledger", "batch", "prepare", "--tranches", str(tranche.pk), "--on",
               PAY_DAY.isoformat(), "--user", "bob", "--key", "p"]  # fmt: skip
    out, _ = wotu(*prepare)
    assert out.startswith("PB20190801-") and "CNY 1500000.00" in out and "需 2 人审批" in out
    assert wotu(*prepare)[0] == out and PaymentBatch.objects.count() == 1
    reference = PaymentBatch.objects.get().reference
    wotu("ledger", "batch", "submit", reference, "--user", "bob")
    message, _ = refusal("ledger", "batch", "approve", reference, "--user", "bob")
    assert "不能审批自己准备的批次" in message and "never approve their own batch" in message
    wotu("ledger", "batch", "approve", reference, "--user", "fiona")
    message, _ = refusal("ledger", "batch", "export", reference, "--out", str(tmp_path / "x.csv"),
                         "--user", "bob", "--key", "e")  # fmt: skip
    assert "not approved yet (1 of 2 approvals)" in message
    wotu("ledger", "batch", "approve", reference, "--user", "felix")
    out_file = tmp_path / "pay.csv"
    wotu("ledger", "batch", "export", reference, "--out", str(out_file), "--user", "bob",
         "--key", "e")  # fmt: skip
    rows = list(csv.DictReader(out_file.open(encoding="utf-8")))
    assert [(r["reference"], r["amount"]) for r in rows] == [(f"{reference}-001", "1500000.00")]
    returned = tmp_path / "return.csv"
    returned.write_text(f"reference,status,message\n{reference}-001,paid,ok\n", encoding="utf-8")
    out, _ = wotu("ledger", "batch", "return", reference, str(returned), "--user", "bob",
                  "--key", "r")  # fmt: skip
    assert "已付 / paid 1" in out and "settled" in out
    tranche.refresh_from_db()
    assert tranche.status == TrancheStatus.PAID
    assert PaymentBatch.objects.get().status == BatchStatus.SETTLED
    assert "the trial balance is zero in every currency" in wotu("ledger", "trial-balance")[0]


def test_a_bad_return_file_prints_every_bad_row_and_books_nothing(
    world: World, haina: Organisation, tmp_path: Path
) -> None:
    payee_account(haina)
    tranche = payable_make(world, haina, "100.00")
    wotu("ledger", "batch", "prepare", "--all-payable", "--user", "bob", "--key", "p")
    reference = PaymentBatch.objects.get().reference
    wotu("ledger", "batch", "submit", reference, "--user", "bob")
    wotu("ledger", "batch", "approve", reference, "--user", "fiona")
    wotu("ledger", "batch", "export", reference, "--out", str(tmp_path / "p.csv"), "--user",
         "bob", "--key", "e")  # fmt: skip
    returned = tmp_path / "return.csv"
    returned.write_text(f"reference,status,message\nNOPE,paid,\n{reference}-001,?,\n",
                        encoding="utf-8")  # fmt: skip
    message, stderr = refusal("ledger", "batch", "return", reference, str(returned), "--user",
                              "bob", "--key", "r")  # fmt: skip
    assert "2 problem(s) in the file; nothing was imported" in message
    assert f"row 2, column reference, value NOPE: not a payment of batch {reference}" in stderr
    assert "第 3 行，列 status，值 ?：应为 paid（成功）或 failed（失败）" in stderr
    tranche.refresh_from_db()
    assert tranche.status == TrancheStatus.SENT


def test_fx_rates_are_imported_with_a_source_and_bad_rows_are_printed(
    world: World, tmp_path: Path
) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate\n2019-08-01,HKD,0.8793\n", encoding="utf-8")
    out, _ = wotu("ledger", "fx-import", str(rates), "--source", "PBoC", "--user", "bob",
                  "--quiet")  # fmt: skip
    assert "新增 / created 1" in out and FxRate.objects.get().source == "PBoC"
    rates.write_text("date,currency,rate\n2019-08-02,USD,7.1\n", encoding="utf-8")
    message, stderr = refusal("ledger", "fx-import", str(rates), "--source", "PBoC", "--user",
                              "bob")  # fmt: skip
    assert "row 2, column currency, value USD" in stderr and "nothing was imported" in message
    message, _ = refusal("ledger", "fx-import", str(tmp_path / "none.csv"), "--user", "bob")
    assert "file not found" in message and "找不到文件" in message


def test_only_finance_officers_import_rates_from_the_command_line(
    world: World, alice: User, tmp_path: Path
) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate\n2019-08-01,HKD,0.8793\n", encoding="utf-8")
    message, _ = refusal("ledger", "fx-import", str(rates), "--source", "s", "--user", "alice")
    assert "只有财务人员可以导入汇率表" in message and FxRate.objects.count() == 0


def test_a_deactivated_finance_officer_cannot_act_from_the_command_line(
    world: World, bob: User, tmp_path: Path
) -> None:
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    rates = tmp_path / "rates.csv"
    rates.write_text("date,currency,rate\n2019-08-01,HKD,0.8793\n", encoding="utf-8")
    message, _ = refusal("ledger", "fx-import", str(rates), "--source", "s", "--user", "bob")
    assert "找不到用户 bob（或已停用）" in message and "no active user bob" in message
    assert FxRate.objects.count() == 0


def test_an_hkd_payment_without_a_rate_is_refused_in_both_languages(
    world: World, hkust: Organisation
) -> None:
    payee_account(hkust, "HKD")
    payable_make(world, hkust, "10.00")
    message, _ = refusal("ledger", "batch", "prepare", "--all-payable", "--on", "2019-08-01",
                         "--user", "bob", "--key", "p")  # fmt: skip
    assert "没有 HKD 在 2019-08-01 或之前的汇率" in message
    assert "no HKD rate on or before 2019-08-01" in message
    hkd_rate()
    assert "PB20190801-" in wotu("ledger", "batch", "prepare", "--all-payable", "--on",
                                 "2019-08-01", "--user", "bob", "--key", "p")[0]  # fmt: skip


def test_a_key_reused_for_another_request_is_refused(world: World, haina: Organisation) -> None:
    payee_account(haina)
    one = payable_make(world, haina, "10.00")
    two = payable_make(world, haina, "20.00")
    wotu("ledger", "batch", "prepare", "--tranches", str(one.pk), "--user", "bob", "--key", "k")
    message, _ = refusal("ledger", "batch", "prepare", "--tranches", str(two.pk), "--user", "bob",
                         "--key", "k")  # fmt: skip
    assert "幂等键 “k” 已用于另一请求" in message and "use a new key" in message
