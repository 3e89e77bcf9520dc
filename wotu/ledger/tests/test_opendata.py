"""Open data: awards and disbursements as 360Giving JSON and Excel, with org-id.guide
identifiers, and never a person's name, a bank name or an account number."""

# The world fixtures come from test_reports; pytest passes them in by parameter name.
# ruff: noqa: F811

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from wotu.core.models import User
from wotu.ledger import export, opendata
from wotu.ledger.models import PaymentLine
from wotu.ledger.tests.test_reports import World, committed, fiona, paid  # noqa: F401 - fixtures
from wotu.organisations.models import Kind, Organisation, Region

D = Decimal
REQUIRED = {"id", "title", "description", "currency", "amountAwarded", "awardDate",
            "recipientOrganization", "fundingOrganization"}  # fmt: skip


def _grants(world: World) -> dict[str, dict[str, Any]]:
    return {g["recipientOrganization"][0]["name"]: g for g in opendata.grants_360()["grants"]}


def test_every_grant_has_the_fields_360giving_requires(paid: World) -> None:
    grants = opendata.grants_360()["grants"]
    assert len(grants) == 3
    for grant in grants:
        assert set(grant) >= REQUIRED
        assert grant["id"].startswith("360G-wotu-C")
        assert grant["currency"] == "CNY"
        assert {"id", "name"} <= set(grant["recipientOrganization"][0])
        assert {"id", "name"} <= set(grant["fundingOrganization"][0])


def test_a_grant_shows_what_was_awarded_disbursed_and_when(paid: World) -> None:
    grant = _grants(paid)["海纳机器人有限公司"]
    assert grant["amountAwarded"] == 300000 and grant["amountDisbursed"] == 200000
    assert grant["plannedDates"] == [{"startDate": "2026-01-10", "endDate": "2027-01-10"}]
    assert grant["grantProgramme"] == [{"code": "qd-wotu-2026", "title": "沃土计划"}]
    assert grant["fundingOrganization"] == [{"id": "360G-wotu-FS-qd-city", "name": "青岛市级财政"}]
    (payment,) = grant["disbursements"]
    assert payment["amount"] == 200000 and payment["currency"] == "CNY"


def test_a_payment_in_hkd_gives_the_amount_currency_and_rate_used(paid: World) -> None:
    (payment,) = _grants(paid)["香港科技大学"]["disbursements"]
    assert payment["amount"] == 38000000
    assert (payment["amountPaid"], payment["currencyPaid"]) == (41304347.83, "HKD")
    assert payment["exchangeRate"] == "0.920000"
    assert payment["exchangeRateDate"] == "2026-01-05"
    assert "PBoC" in payment["exchangeRateSource"]


def test_a_failed_payment_is_not_a_disbursement(paid: World) -> None:
    grant = _grants(paid)["胶东生物科技有限公司"]
    assert grant["amountDisbursed"] == 0 and grant["disbursements"] == []


def test_no_person_bank_or_account_number_is_published(paid: World, bob: User) -> None:
    text = opendata.grants_360_json().decode()
    for line in PaymentLine.objects.all():
        assert line.bank_account not in text
        assert line.bank_name not in text
    for word in ("bob", "fiona", "账户已冻结", "bank_account", "BKCHHKHH"):
        assert word not in text
    book = load_workbook(io.BytesIO(export.awards_xlsx()))
    cells = " ".join(str(c.value) for sheet in book for row in sheet.iter_rows() for c in row)
    for line in PaymentLine.objects.all():
        assert line.bank_account not in cells


IDENTIFIERS = [
    # kind, region, uscc, local id, expected identifier
    (Kind.ENTERPRISE, Region.MAINLAND, "91370212000000015X", "", "CN-USCI-91370212000000015X"),
    (Kind.UNIVERSITY, Region.MAINLAND, "12370000000000001A", "", "CN-USCI-12370000000000001A"),
    (Kind.ENTERPRISE, Region.HONG_KONG, None, "1234567", "HK-CR-1234567"),
    (Kind.ENTERPRISE, Region.HONG_KONG, None, "12345678", "360G-wotu-HK-12345678"),
    (Kind.UNIVERSITY, Region.HONG_KONG, None, "HK-UNI-0001", "360G-wotu-HK-UNI-0001"),
    (Kind.INSTITUTE, Region.MACAO, None, "MO 4321", "360G-wotu-MO-4321"),
    (Kind.UNIVERSITY, Region.MACAO, None, "4321/2020", "360G-wotu-MO-4321-2020"),
]


@pytest.mark.parametrize(("kind", "region", "uscc", "local_id", "expected"), IDENTIFIERS)
def test_organisations_are_identified_as_org_id_guide_lists_them(
    db: None, kind: str, region: str, uscc: str | None, local_id: str, expected: str
) -> None:
    org = Organisation(kind=kind, region=region, name="x", uscc=uscc, local_id=local_id, pk=7)
    assert opendata.org_identifier(organisation=org) == expected


def test_an_organisation_without_any_number_gets_a_stable_local_identifier(db: None) -> None:
    org = Organisation(kind=Kind.INSTITUTE, region=Region.MACAO, name="x", local_id="", pk=42)
    assert opendata.org_identifier(organisation=org) == "360G-wotu-MO-ORG42"


def test_the_local_prefix_comes_from_the_settings(paid: World, settings: Any) -> None:
    settings.WOTU_OPEN_DATA_PREFIX = "360G-qdstb"
    grant = _grants(paid)["香港科技大学"]
    assert grant["id"].startswith("360G-qdstb-C")
    assert grant["recipientOrganization"][0]["id"] == "360G-qdstb-HK-UNI-0001"


def test_the_json_is_valid_utf8_with_chinese_kept_readable(paid: World) -> None:
    data = opendata.grants_360_json()
    assert "海纳机器人有限公司" in data.decode("utf-8")
    assert json.loads(data)["grants"][0]["awardDate"]


def test_the_excel_has_one_row_per_award_and_one_per_confirmed_payment(paid: World) -> None:
    book = load_workbook(io.BytesIO(export.awards_xlsx()))
    awards, payments = book["资助 Awards"], book["拨付 Disbursements"]
    assert awards.max_row == 1 + 3 and payments.max_row == 1 + 2
    assert awards["A1"].value == "资助编号 Identifier"
    amounts = sorted(D(str(row[9].value)) for row in awards.iter_rows(min_row=2))
    assert amounts == [D("150000"), D("300000"), D("38000000")]
    hkd = next(r for r in payments.iter_rows(min_row=2, values_only=True) if r[4] == "HKD")
    assert D(str(hkd[5])) == D("41304347.83") and D(str(hkd[6])) == D("0.92")


def test_amounts_leave_as_exact_json_numbers() -> None:
    assert opendata._number(D("41304347.83")) == 41304347.83
    assert repr(opendata._number(D("1234567890123.45"))) == "1234567890123.45"
    assert opendata._number(D("100.00")) == 100


def test_with_nothing_awarded_the_package_is_empty(db: None) -> None:
    assert opendata.grants_360() == {"grants": []}
    book = load_workbook(io.BytesIO(export.awards_xlsx()))
    assert book["资助 Awards"].max_row == 1
