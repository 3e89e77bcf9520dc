"""Bank files: the payment file a bank can read back exactly, and the return file read all or
nothing with every bad cell named as `row N, column C, value V: reason`."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from wotu.core.errors import WotuError
from wotu.ledger.bankfiles import (
    FileRowsError,
    PaymentRow,
    payment_file_write,
    return_file_parse,
    sheet_read,
)


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_return_file_reads_paid_and_failed_lines_in_english_or_chinese() -> None:
    data = "\ufeffReference,Status,Message\nPB1-001,paid,ok\n\nPB1-002,失败,账户冻结\n".encode()
    rows = return_file_parse(data=data)
    assert [(r.row, r.reference, r.status, r.message) for r in rows] == [
        (2, "PB1-001", "paid", "ok"), (3, "PB1-002", "failed", "账户冻结")]  # fmt: skip


def test_a_return_file_may_be_an_excel_workbook_with_an_amount_column() -> None:
    data = xlsx([["reference", "status", "message", "amount"], ["PB1-001", "PAID", None, 120.5]])
    (row,) = return_file_parse(data=data, name="return.xlsx")
    assert (row.status, row.amount, row.message) == ("paid", Decimal("120.5"), "")


def test_every_bad_cell_of_a_return_file_is_reported_in_both_languages() -> None:
    data = b"reference,status,message,amount\n,paid,,1\nPB1-001,sent,,abc\nPB1-001,paid,,0.001\n"
    with pytest.raises(FileRowsError) as refused:
        return_file_parse(data=data)
    errors = refused.value.errors
    assert [e.text_en() for e in errors] == [
        'row 2, column reference, value "": a value is required',
        "row 3, column status, value sent: must be paid or failed",
        "row 3, column amount, value abc: not a number",
        "row 4, column reference, value PB1-001: duplicates row 3: each payment may be answered"
        " once",
        "row 4, column amount, value 0.001: the amount has more than two decimals",
    ]
    assert errors[0].text_zh() == "第 2 行，列 reference，值 （空）：必填项为空"
    assert "5 problem(s); nothing was imported" in refused.value.en
    assert "有 5 处问题，未导入任何内容" in refused.value.zh


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"reference,status\nPB1,paid\n", "r.csv", r"lacks the column\(s\) message"),
        (b"", "r.csv", "the file is empty"),
        (b"reference,status,message\n", "r.csv", "has no data rows"),
        ("reference,status,message\nPB1,paid,\u00e9".encode("latin-1"), "r.csv", "not UTF-8"),
        (b"reference,status,message\n", "r.pdf", "unsupported file type .pdf"),
        (b"reference,status,message\n", "r.xlsx", "the content is not XLSX"),
    ],
)
def test_an_unreadable_return_file_says_why(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(WotuError, match=reason):
        return_file_parse(data=data, name=name)


def test_the_payment_file_has_the_banks_columns_and_two_decimals() -> None:
    content = payment_file_write(rows=[PaymentRow(
        payee="香港科技大学", bank_account="012-345-678", amount=Decimal("43216194.7"),
        currency="HKD", purpose="联合资助 / joint fund", reference="PB1-001",
        bank_name="Bank of China (HK)")])  # fmt: skip
    assert content.decode() == (
        "payee,bank_account,amount,currency,purpose,reference,bank_name\r\n"
        "香港科技大学,012-345-678,43216194.70,HKD,联合资助 / joint fund,PB1-001,"
        "Bank of China (HK)\r\n"
    )


def test_a_cell_that_looks_like_a_formula_is_written_as_text() -> None:
    content = payment_file_write(rows=[PaymentRow(
        payee="=HYPERLINK(1)", bank_account="1", amount=Decimal("1"), currency="CNY",
        purpose="@x", reference="PB1-001", bank_name="b")])  # fmt: skip
    row = list(csv.reader(io.StringIO(content.decode())))[1]
    assert row[0] == "'=HYPERLINK(1)" and row[4] == "'@x"


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@given(
    rows=st.lists(
        st.tuples(
            TEXT,
            TEXT,
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e12"), places=2),
            TEXT,
        ),
        max_size=8,
    )
)
def test_what_the_payment_file_says_reads_back_exactly(
    rows: list[tuple[str, str, Decimal, str]],
) -> None:
    payments = [
        PaymentRow(
            payee=p.strip() or "x",
            bank_account="6217",
            amount=a,
            currency="CNY",
            purpose=u.strip() or "y",
            reference=f"PB1-{i:03d}",
            bank_name=b,
        )
        for i, (p, b, a, u) in enumerate(rows)
    ]
    sheet = sheet_read(data=payment_file_write(rows=payments), name="pay.csv")
    assert [(r[2], r[5]) for r in sheet.rows] == [(f"{p.amount:.2f}", p.reference)
                                                  for p in payments]  # fmt: skip
    shown = ["'" + p.payee if p.payee[:1] in {"=", "+", "-", "@"} else p.payee for p in payments]
    assert [r[0] for r in sheet.rows] == shown
