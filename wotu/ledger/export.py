"""Awards and disbursements as an Excel workbook (openpyxl), the spreadsheet twin of the
360Giving JSON in :mod:`wotu.ledger.opendata`: the same grants, the same identifiers, the same
rule that no person, bank name or account number is ever written.

Sheet 1 "资助 Awards": one row per grant. Sheet 2 "拨付 Disbursements": one row per payment the
bank confirmed, in CNY and, for HKD/MOP payments, in the currency paid with the rate used.
Header row 1 is bilingual; amounts are numbers formatted to the fen.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from wotu.ledger.opendata import grants_360

MONEY_FORMAT = "#,##0.00"
AWARD_HEADERS = (
    ("资助编号", "Identifier"),
    ("项目名称", "Title"),
    ("资助计划", "Grant programme"),
    ("资助单位编号", "Recipient org identifier"),
    ("资助单位", "Recipient organisation"),
    ("资金来源编号", "Funding org identifier"),
    ("资金来源", "Funding organisation"),
    ("资助日期", "Award date"),
    ("币种", "Currency"),
    ("资助金额", "Amount awarded"),
    ("已拨付金额", "Amount disbursed"),
    ("计划开始", "Planned start"),
    ("计划结束", "Planned end"),
)
DISBURSEMENT_HEADERS = (
    ("资助编号", "Grant identifier"),
    ("资助单位", "Recipient organisation"),
    ("拨付日期", "Date"),
    ("金额（元）", "Amount (CNY)"),
    ("支付币种", "Currency paid"),
    ("支付金额", "Amount paid"),
    ("汇率（元/单位）", "Rate (CNY per unit)"),
    ("汇率日期", "Rate date"),
    ("汇率来源", "Rate source"),
)


def _header(sheet: Worksheet, headers: tuple[tuple[str, str], ...]) -> None:
    sheet.append([f"{zh} {en}" for zh, en in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def _money_cells(sheet: Worksheet, columns: tuple[int, ...]) -> None:
    for column in columns:
        sheet.cell(row=sheet.max_row, column=column).number_format = MONEY_FORMAT


def _amount(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _award_row(grant: dict[str, Any]) -> list[Any]:
    planned = (grant.get("plannedDates") or [{}])[0]
    recipient = grant["recipientOrganization"][0]
    funder = grant["fundingOrganization"][0]
    return [
        grant["id"],
        grant["title"],
        grant["grantProgramme"][0]["title"],
        recipient["id"],
        recipient["name"],
        funder["id"],
        funder["name"],
        grant["awardDate"],
        grant["currency"],
        _amount(grant["amountAwarded"]),
        _amount(grant["amountDisbursed"]),
        planned.get("startDate"),
        planned.get("endDate"),
    ]


def _disbursement_row(grant: dict[str, Any], item: dict[str, Any]) -> list[Any]:
    return [
        grant["id"],
        grant["recipientOrganization"][0]["name"],
        item["date"],
        _amount(item["amount"]),
        item.get("currencyPaid", "CNY"),
        _amount(item.get("amountPaid", item["amount"])),
        _amount(item.get("exchangeRate")),
        item.get("exchangeRateDate"),
        item.get("exchangeRateSource", ""),
    ]


def awards_xlsx() -> bytes:
    """The workbook described in the module docstring."""
    grants = grants_360()["grants"]
    book = Workbook()
    awards = book.active
    assert awards is not None
    awards.title = "资助 Awards"
    _header(awards, AWARD_HEADERS)
    for grant in grants:
        awards.append(_award_row(grant))
        _money_cells(awards, (10, 11))
    payments = book.create_sheet("拨付 Disbursements")
    _header(payments, DISBURSEMENT_HEADERS)
    for grant in grants:
        for item in grant["disbursements"]:
            payments.append(_disbursement_row(grant, item))
            _money_cells(payments, (4, 6))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
