"""Paying in a real browser: finance officer bob prepares a batch from the payable tranches,
fiona approves it (bob never sees the button), bob sends it to the bank and downloads the file,
the bank's return marks Jiaodong's payment failed, its tranche is payable again, and the
dashboard draws its charts."""

# The world fixtures come from test_reports; pytest passes them in by parameter name.
# ruff: noqa: F811

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are plain synchronous code, so Django's async guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from playwright.sync_api import Page, expect

from wotu.core.models import User
from wotu.core.tests.test_browser import sign_in
from wotu.ledger.models import BatchStatus, LineStatus, PaymentBatch, TrancheStatus
from wotu.ledger.tests.test_reports import World, committed, fiona  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_bob_prepares_fiona_approves_bob_exports_and_a_failed_payment_is_payable_again(
    page: Page, committed: World, bob: User, fiona: User, alice: User, tmp_path: Path
) -> None:
    # bob prepares a batch from every payable tranche and submits it
    sign_in(page, "bob")
    page.goto("/ledger/batches/new/")
    boxes = page.locator("[data-testid=payable-table] input[type=checkbox]")
    expect(boxes).to_have_count(3)
    for index in range(3):
        boxes.nth(index).check()
    page.get_by_test_id("prepare").click()
    expect(page.get_by_test_id("batch-status")).to_be_visible()
    expect(page.get_by_test_id("approve")).to_have_count(0)  # never for the preparer
    page.get_by_test_id("submit").click()
    batch = PaymentBatch.objects.get()
    assert batch.status == BatchStatus.SUBMITTED
    batch_url = f"/ledger/batches/{batch.pk}/"

    # fiona, another finance officer, approves it
    page.context.clear_cookies()
    sign_in(page, "fiona")
    page.goto(batch_url)
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("approvals")).to_contain_text("fiona")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED

    # bob sends it to the bank: the payment file downloads
    page.context.clear_cookies()
    sign_in(page, "bob")
    page.goto(batch_url)
    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    sent = tmp_path / "payment.csv"
    download.value.save_as(sent)
    rows = list(csv.DictReader(io.StringIO(sent.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 3

    # the bank's return: Jiaodong's account is frozen, the others are paid
    failed = batch.lines.get(payee=committed.jiaodong.payee).reference
    answer = tmp_path / "return.csv"
    answer.write_text(
        "reference,status,message\n"
        + "".join(
            f"{row['reference']},{'failed' if row['reference'] == failed else 'paid'},"
            f"{'账户已冻结' if row['reference'] == failed else 'OK'}\n"
            for row in rows
        ),
        encoding="utf-8",
    )
    page.goto(batch_url)
    page.get_by_test_id("return-link").click()
    page.set_input_files("#id_file", str(answer))
    page.get_by_test_id("upload-return").click()
    expect(page.locator(f"tr[data-reference='{failed}']")).to_contain_text("账户已冻结")
    assert batch.lines.get(reference=failed).status == LineStatus.FAILED

    # the failed tranche is payable again and offered for the next batch
    tranche = committed.jiaodong.tranches.get()
    assert tranche.status == TrancheStatus.PAYABLE
    page.goto("/ledger/batches/new/")
    expect(page.locator(f"tr[data-tranche='{tranche.pk}']")).to_be_visible()

    # the dashboard draws its charts
    page.goto("/ledger/")
    expect(page.locator("[data-testid=budget-chart] canvas")).to_have_count(1)
    expect(page.locator("[data-testid=spending-chart] canvas")).to_have_count(1)
    expect(page.locator("[data-testid=crossborder-chart] canvas")).to_have_count(1)
    expect(page.get_by_test_id("total-paid")).to_contain_text("38,200,000.00")
