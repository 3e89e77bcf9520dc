"""The finance pages through the test client: preparing a batch from ticked tranches, the
four-eyes buttons, the export download, a return file with every bad row shown, FX imports,
the dashboard's figures and charts, statements and the public open data page."""

# The world fixtures come from test_reports; pytest passes them in by parameter name.
# ruff: noqa: F811

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from wotu.conftest import PASSWORD
from wotu.core.models import User
from wotu.ledger import payments
from wotu.ledger.models import (
    BatchStatus,
    EntryKind,
    FxRate,
    JournalEntry,
    LineStatus,
    PaymentBatch,
    Tranche,
    TrancheStatus,
)
from wotu.ledger.tests.test_reports import World, committed, fiona, paid, return_file  # noqa: F401 - fixtures

D = Decimal


def _as(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client


def _key(page: str, action: str) -> str:
    """The idempotency key a page minted for one of its forms."""
    match = re.search(rf'action="[^"]*/{action}/">.*?name="key" value="([^"]+)"', page, re.S)
    assert match, f"no {action} form on the page"
    return match.group(1)


def _prepared(world: World, bob: User) -> PaymentBatch:
    payable = list(Tranche.objects.filter(status=TrancheStatus.PAYABLE))
    batch = payments.batch_prepare(tranches=payable, actor=bob, key="prepare-views")
    return payments.batch_submit(batch=batch, actor=bob)


# --- preparing -----------------------------------------------------------------------------------


def test_a_finance_officer_prepares_a_batch_from_the_ticked_tranches(
    committed: World, client: Client, bob: User
) -> None:
    page = _as(client, "bob").get(reverse("ledger:batch_prepare")).content.decode()
    key = re.search(r'name="key" value="([^"]+)"', page)
    assert key is not None
    haina = committed.haina.tranches.get(order=1)
    jiaodong = committed.jiaodong.tranches.get()
    assert f'value="{haina.pk}"' in page and f'value="{jiaodong.pk}"' in page
    form = {"key": key.group(1), "tranches": [str(haina.pk), str(jiaodong.pk)]}
    response = client.post(reverse("ledger:batch_prepare"), form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    batch = PaymentBatch.objects.get()
    assert response["Location"] == reverse("ledger:batch", args=[batch.pk])
    paid_tranches = sorted(batch.lines.values_list("tranche_id", flat=True))
    assert paid_tranches == sorted([haina.pk, jiaodong.pk])
    # the browser sends the same form again: the same batch, nothing booked twice
    again = client.post(reverse("ledger:batch_prepare"), form)
    assert again["Location"] == response["Location"] and PaymentBatch.objects.count() == 1


def test_preparing_with_nothing_ticked_says_so_and_makes_no_batch(
    committed: World, client: Client, bob: User
) -> None:
    response = _as(client, "bob").post(reverse("ledger:batch_prepare"), {"key": "k"})
    assert response.status_code == 200
    assert 'data-testid="error-summary"' in response.content.decode()
    assert not PaymentBatch.objects.exists()


# --- four eyes -----------------------------------------------------------------------------------


def test_the_preparer_never_sees_the_approve_button_and_another_officer_does(
    committed: World, client: Client, bob: User, fiona: User, settings: object
) -> None:
    batch = _prepared(committed, bob)
    url = reverse("ledger:batch", args=[batch.pk])
    mine = _as(client, "bob").get(url).content.decode()
    assert 'data-testid="approve"' not in mine
    theirs = _as(Client(), "fiona").get(url).content.decode()
    assert 'data-testid="approve"' in theirs
    assert 'data-testid="prepared-by"' in theirs and "bob" in theirs


def test_a_large_batch_shows_it_needs_two_approvals_and_who_gave_them(
    committed: World, client: Client, bob: User, fiona: User, settings: object
) -> None:
    setattr(settings, "WOTU_TWO_APPROVER_THRESHOLD", "1000000")  # noqa: B010
    batch = _prepared(committed, bob)  # CNY 38.35 M with HKUST
    fiona_client = _as(client, "fiona")
    url = reverse("ledger:batch", args=[batch.pk])
    page = fiona_client.get(url).content.decode()
    assert re.search(r"0 of 2|已审批 0 人，需 2 人", page)
    response = fiona_client.post(reverse("ledger:batch_approve", args=[batch.pk]),
                                 {"key": _key(page, "approve")})  # fmt: skip
    assert response.status_code == 302
    page = fiona_client.get(url).content.decode()
    assert re.search(r"1 of 2|已审批 1 人，需 2 人", page) and "fiona" in page
    assert 'data-testid="approve"' not in page  # she has approved already
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SUBMITTED


# --- export and return ---------------------------------------------------------------------------


@pytest.fixture
def approved(committed: World, bob: User, fiona: User) -> PaymentBatch:
    batch = _prepared(committed, bob)
    return payments.batch_approve(batch=batch, actor=fiona)


def test_exporting_downloads_the_payment_file_once_even_when_clicked_twice(
    approved: PaymentBatch, client: Client
) -> None:
    bob = _as(client, "bob")
    page = bob.get(reverse("ledger:batch", args=[approved.pk])).content.decode()
    key = _key(page, "export")
    first = bob.post(reverse("ledger:batch_export", args=[approved.pk]), {"key": key})
    second = bob.post(reverse("ledger:batch_export", args=[approved.pk]), {"key": key})
    assert first["Content-Type"].startswith("text/csv")
    assert first["Content-Disposition"] == f'attachment; filename="{approved.reference}.csv"'
    assert first.content == second.content
    text = first.content.decode()
    assert text.splitlines()[0].startswith("payee,bank_account,amount,currency,purpose,reference")
    assert "41304347.83,HKD" in text
    assert JournalEntry.objects.filter(kind=EntryKind.EXPORT).count() == 1
    again = bob.get(reverse("ledger:batch_file", args=[approved.pk]))
    assert again.content == first.content


def test_a_return_file_with_bad_rows_lists_every_problem_and_books_nothing(
    approved: PaymentBatch, client: Client, bob: User
) -> None:
    payments.batch_export(batch=approved, actor=bob, key="export-views")
    line = approved.lines.order_by("pk").first()
    assert line is not None
    bad = (f"reference,status,message\n{line.reference},maybe,?\nPB-NOPE,paid,OK\n"
           f"{line.reference},paid,again\n").encode()  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _as(client, "bob").post(
        reverse("ledger:batch_return", args=[approved.pk]),
        {"key": "return-bad", "file": SimpleUploadedFile("return.csv", bad, "text/csv")},
    )
    page = response.content.decode()
    assert response.status_code == 200
    rows = re.findall(r'<td class="num">(\d+)</td><td class="mono">(\w+)</td>', page)
    assert {r[0] for r in rows} >= {"2", "4"}
    assert 'data-testid="row-errors"' in page
    assert not JournalEntry.objects.filter(kind__in=[EntryKind.PAID, EntryKind.FAILED]).exists()
    assert set(approved.lines.values_list("status", flat=True)) == {LineStatus.SENT}


def test_a_failed_line_in_the_return_puts_its_tranche_back_to_payable(
    approved: PaymentBatch, committed: World, client: Client, bob: User
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    payments.batch_export(batch=approved, actor=bob, key="export-views")
    data = return_file(approved, {committed.jiaodong.payee_id})
    response = _as(client, "bob").post(
        reverse("ledger:batch_return", args=[approved.pk]),
        {"key": "return-good", "file": SimpleUploadedFile("return.csv", data, "text/csv")},
    )
    assert response.status_code == 302
    page = client.get(reverse("ledger:batch", args=[approved.pk])).content.decode()
    assert "账户已冻结" in page
    tranche = committed.jiaodong.tranches.get()
    assert tranche.status == TrancheStatus.PAYABLE
    prepare = client.get(reverse("ledger:batch_prepare")).content.decode()
    assert f'value="{tranche.pk}"' in prepare


# --- FX rates ------------------------------------------------------------------------------------


def test_a_finance_officer_imports_rates_and_a_bad_table_shows_every_row(
    db: None, client: Client, bob: User
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    bob_client = _as(client, "bob")
    good = b"date,currency,rate,source\n2026-06-01,HKD,0.9213,PBoC\n2026-06-01,MOP,0.8950,PBoC\n"
    upload = SimpleUploadedFile("rates.csv", good)
    response = bob_client.post(reverse("ledger:fx"), {"file": upload, "source": ""})
    assert response.status_code == 302
    assert FxRate.objects.count() == 2
    bad = b"date,currency,rate\n2026-13-01,HKD,0.92\n2026-06-02,USD,-1\n"
    upload = SimpleUploadedFile("rates.csv", bad)
    response = bob_client.post(reverse("ledger:fx"), {"file": upload, "source": "x"})
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="row-errors"' in page
    assert re.search(r'<td class="num">2</td>', page) and re.search(r'<td class="num">3</td>', page)
    assert FxRate.objects.count() == 2


def test_a_bureau_officer_reads_rates_but_may_not_import_them(
    db: None, client: Client, alice: User
) -> None:
    alice_client = _as(client, "alice")
    page = alice_client.get(reverse("ledger:fx")).content.decode()
    assert 'data-testid="fx-form"' not in page
    assert alice_client.post(reverse("ledger:fx"), {}).status_code == 403


# --- dashboard -----------------------------------------------------------------------------------


def test_the_dashboard_shows_the_totals_and_feeds_the_three_charts(
    paid: World, client: Client, alice: User
) -> None:
    page = _as(client, "alice").get(reverse("ledger:dashboard")).content.decode()
    assert "¥41,500,000.00" in page and "¥38,200,000.00" in page
    budget = json.loads(re.search(r'id="chart-budget"[^>]*>(.*?)</script>', page, re.S)[1])  # type: ignore[index]
    assert len(budget["categories"]) == 3
    # each bar names its funding source first, so a truncated label still tells rows apart
    assert sorted(budget["categories"]) == [
        "崂山区财政 · 沃土计划 · 2026", "青岛市级财政 · 沃土计划 · 2026",
        "青岛市级财政 · 穗港澳联合基础研究 · 2026",
    ]  # fmt: skip
    allocated, committed_, paid_cny = (series["values"] for series in budget["series"])
    assert sorted(zip(allocated, committed_, paid_cny, strict=True)) == [
        ("1000000.00", "450000.00", "200000.00"),
        ("40000000.00", "38000000.00", "38000000.00"),
        ("500000.00", "0.00", "0.00"),
    ]
    crossborder = json.loads(
        re.search(r'id="chart-crossborder"[^>]*>(.*?)</script>', page, re.S)[1]  # type: ignore[index]
    )
    assert crossborder["series"][0]["values"] == ["38000000.00"]
    assert "41304347.83 HKD" in page
    assert 'id="chart-spending"' in page
    assert "vendor/echarts/echarts.min.js" in page
    # nothing loaded from another host (a CDN): every script and stylesheet is served by us
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)


def test_the_dashboard_filter_narrows_to_one_source(
    paid: World, client: Client, alice: User
) -> None:
    url = reverse("ledger:dashboard") + f"?source={paid.laoshan.pk}"
    page = _as(client, "alice").get(url).content.decode()
    assert 'data-source="qd-laoshan"' in page and 'data-source="qd-city"' not in page


# --- statements and open data ---------------------------------------------------------------------


def test_an_applicant_reads_its_own_statement_with_masked_accounts(
    paid: World, client: Client, dave: User
) -> None:
    response = _as(client, "dave").get(reverse("ledger:statements"), follow=True)
    page = response.content.decode()
    assert "海纳机器人有限公司" in page and "¥200,000.00" in page and "¥100,000.00" in page
    for line in paid.haina.tranches.get(order=1).lines.all():
        assert line.bank_account not in page and line.bank_account[-4:] in page
    assert "香港科技大学" not in page


def test_the_open_data_page_is_public_and_links_both_downloads(paid: World, client: Client) -> None:
    page = client.get(reverse("ledger:open_data")).content.decode()
    assert reverse("ledger:open_data_json") in page and reverse("ledger:open_data_xlsx") in page
    assert "CN-USCI-" in page and "香港科技大学" in page
    response = client.get(reverse("ledger:open_data_json"))
    assert response["Content-Type"] == "application/json"
    assert len(json.loads(response.content)["grants"]) == 3
    xlsx = client.get(reverse("ledger:open_data_xlsx"))
    assert xlsx.content[:2] == b"PK" and "attachment" in xlsx["Content-Disposition"]
