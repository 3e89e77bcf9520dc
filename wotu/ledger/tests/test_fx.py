"""Exchange rates: converted half-up to the cent at the latest rate on or before the payment
date; the rate table is imported all or nothing and never silently changes a recorded day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wotu.core.audit import audit_verify
from wotu.core.errors import WotuError
from wotu.core.models import AuditEvent, User
from wotu.ledger.bankfiles import FileRowsError
from wotu.ledger.fx import FxRateMissing, fx_convert, fx_rate_on, fx_rates_import
from wotu.ledger.models import FxRate
from wotu.ledger.tests.test_bankfiles import xlsx

D = Decimal


@pytest.mark.parametrize(
    ("amount_cny", "rate", "foreign"),
    [
        ("38000000.00", "0.879300", "43216194.70"),
        ("0.01", "2", "0.01"),  # 0.005 rounds half up
        ("0.01", "3", "0.00"),  # 0.00333…
        ("100.00", "0.800000", "125.00"),
        ("1.00", "1.030000", "0.97"),  # MOP at ~1.03 CNY
    ],
)
def test_a_cny_amount_converts_half_up_to_the_cent(
    amount_cny: str, rate: str, foreign: str
) -> None:
    assert fx_convert(amount_cny=D(amount_cny), rate=D(rate)) == D(foreign)


@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("1e12"), places=2),
    rate=st.decimals(min_value=D("0.000001"), max_value=D("999999.999999"), places=6),
)
def test_a_conversion_is_within_half_a_cent_of_the_exact_value(
    amount: Decimal, rate: Decimal
) -> None:
    converted = fx_convert(amount_cny=amount, rate=rate)
    assert converted == converted.quantize(D("0.01"))
    assert abs(converted * rate - amount) <= D("0.005") * rate


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(WotuError, match="greater than zero"):
        fx_convert(amount_cny=D("1"), rate=D("0"))


def test_the_rate_used_is_the_latest_on_or_before_the_payment_date(db: None) -> None:
    for day, rate in ((1, "0.87"), (5, "0.88"), (9, "0.89")):
        FxRate.objects.create(date=dt.date(2019, 8, day), currency="HKD", rate=D(rate), source="s")
    FxRate.objects.create(date=dt.date(2019, 8, 6), currency="MOP", rate=D("0.85"), source="s")
    assert fx_rate_on(currency="HKD", on=dt.date(2019, 8, 8)).rate == D("0.88")
    assert fx_rate_on(currency="HKD", on=dt.date(2019, 8, 9)).rate == D("0.89")
    with pytest.raises(FxRateMissing, match="no MOP rate on or before 2019-08-05"):
        fx_rate_on(currency="MOP", on=dt.date(2019, 8, 5))


def test_a_rate_table_imports_from_csv_with_a_source_per_row_or_for_all(bob: User) -> None:
    data = b"date,currency,rate,source\n2019-08-01,HKD,0.8793,PBoC\n2019/08/01,mop,0.853,\n"
    result = fx_rates_import(data=data, name="rates.csv", source="BOCHK", actor=bob)
    assert (result.rows, result.created, result.unchanged) == (2, 2, 0)
    assert sorted(FxRate.objects.values_list("currency", "rate", "source")) == [
        ("HKD", D("0.879300"), "PBoC"), ("MOP", D("0.853000"), "BOCHK")]  # fmt: skip
    event = AuditEvent.objects.get(action="fx.import")
    assert event.data["created"] == 2 and event.actor == bob and audit_verify() is None


def test_a_rate_table_imports_from_excel_with_chinese_headers(db: None) -> None:
    data = xlsx(
        [["日期", "币种", "汇率", "来源"], [dt.datetime(2019, 8, 1), "HKD", 0.8793, "PBoC"]]
    )
    assert fx_rates_import(data=data, name="rates.xlsx").created == 1
    assert FxRate.objects.get().date == dt.date(2019, 8, 1)


def test_importing_the_same_table_again_changes_nothing(db: None) -> None:
    data = b"date,currency,rate,source\n2019-08-01,HKD,0.8793,PBoC\n"
    fx_rates_import(data=data, name="rates.csv")
    again = fx_rates_import(data=data, name="rates.csv")
    assert (again.created, again.unchanged) == (0, 1) and FxRate.objects.count() == 1


def test_a_different_rate_for_a_recorded_day_is_refused(db: None) -> None:
    fx_rates_import(data=b"date,currency,rate,source\n2019-08-01,HKD,0.8793,PBoC\n", name="a.csv")
    data = b"date,currency,rate,source\n2019-08-02,HKD,0.88,PBoC\n2019-08-01,HKD,0.8800,PBoC\n"
    with pytest.raises(FileRowsError) as refused:
        fx_rates_import(data=data, name="b.csv")
    assert [e.text_en() for e in refused.value.errors] == [
        "row 3, column rate, value 0.8800: a different HKD rate 0.879300 (PBoC) is already"
        " recorded for this day; payments may have used it, so it cannot change"]  # fmt: skip
    assert FxRate.objects.count() == 1  # all or nothing: 2019-08-02 was not saved either


def test_every_bad_cell_of_a_rate_table_is_reported(db: None) -> None:
    data = "".join(
        [
            "date,currency,rate,source\n"
            "2019-13-01,HKD,0.88,PBoC\n"
            "2019-08-01,CNY,1,PBoC\n"
            "2019-08-01,HKD,-0.88,PBoC\n"
            "2019-08-01,HKD,0.1234567,PBoC\n"
            "2019-08-02,MOP,,\n"
            "2019-08-03,HKD,0.88,PBoC\n"
            "2019-08-03,HKD,0.88,PBoC\n",
        ]
    ).encode()
    with pytest.raises(FileRowsError) as refused:
        fx_rates_import(data=data, name="rates.csv")
    assert [e.text_en() for e in refused.value.errors] == [
        "row 2, column date, value 2019-13-01: a date must be YYYY-MM-DD",
        "row 3, column currency, value CNY: the currency must be HKD or MOP (rates are CNY per"
        " unit)",
        "row 4, column rate, value -0.88: a rate must be greater than zero",
        "row 5, column rate, value 0.1234567: a rate has at most six decimals",
        'row 6, column rate, value "": a value is required',
        'row 6, column source, value "": name the rate\'s source (a source column, or --source)',
        "row 8, column date, value 2019-08-03: duplicates row 7: one HKD rate per day",
    ]
    assert refused.value.errors[2].text_zh() == "第 4 行，列 rate，值 -0.88：汇率必须大于零"
    assert FxRate.objects.count() == 0


def test_a_rate_table_without_its_columns_is_refused(db: None) -> None:
    with pytest.raises(WotuError, match=r"lacks the column\(s\) rate"):
        fx_rates_import(data=b"date,currency\n2019-08-01,HKD\n", name="rates.csv")


def test_progress_is_reported_while_importing(db: None) -> None:
    rows = "".join(f"{dt.date(2019, 1, 1) + dt.timedelta(days=i)},HKD,0.88\n" for i in range(600))
    seen: list[tuple[int, int]] = []
    fx_rates_import(data=f"date,currency,rate\n{rows}".encode(), name="r.csv", source="s",
                    progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert seen == [(500, 600), (600, 600)]
