"""Small, hand-checkable registries and facts frames for the runs, CLI, API and scenario tests.

The scenario city (year 2023, Qingdao plan): four first certifications whose R&D part is below,
exactly at and above the 300,000 cap, and one re-certification::

    firm  serial  district  rd_deductible  R&D part (10 %)  award at cap 300 k  at cap 500 k
    A     11      370202      2,000,000       200,000          350,000.00          350,000.00
    B     12      370203      3,000,000       300,000          450,000.00          450,000.00
    C     13      370212      3,500,000       350,000          450,000.00          500,000.00
    D     14      370212      6,000,000       600,000          450,000.00          650,000.00
    E     15      370211      1,000,000       (re-certified)   100,000.00          100,000.00
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl

from wotu.conftest import facts_row, make_uscc
from wotu.organisations.models import EnterpriseYear, Kind, Organisation, Region
from wotu.policies.inputs import facts_frame_normalise

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
QINGDAO = "qingdao-wotu-2021"
YEAR = 2023

# serial → (district, rd_deductible in yuan, first-cert year)
SCENARIO_FIRMS: dict[str, tuple[int, str, str, int]] = {
    "A": (11, "370202", "2000000", 2023),
    "B": (12, "370203", "3000000", 2023),
    "C": (13, "370212", "3500000", 2023),
    "D": (14, "370212", "6000000", 2023),
    "E": (15, "370211", "1000000", 2019),
}
BASELINE_AWARDS = {
    "A": Decimal("350000.00"),
    "B": Decimal("450000.00"),
    "C": Decimal("450000.00"),
    "D": Decimal("450000.00"),
    "E": Decimal("100000.00"),
}
SCENARIO_AWARDS = BASELINE_AWARDS | {"C": Decimal("500000.00"), "D": Decimal("650000.00")}


def uscc_of(letter: str) -> str:
    serial, district, _, _ = SCENARIO_FIRMS[letter]
    return make_uscc(serial, district)


def scenario_rows() -> list[dict[str, Any]]:
    """The scenario city as facts rows (strings, as a CSV would hold them)."""
    rows = []
    for letter, (_, district, rd, first) in SCENARIO_FIRMS.items():
        rows.append(
            {
                "uscc": uscc_of(letter), "name": f"企业{letter}", "year": str(YEAR),
                "district_code": district, "registered_on": "2012-05-01", "sector": "service",
                "employees": "80", "st_staff": "20", "revenue": "40000000",
                "rd_expense": rd, "rd_deductible": rd, "hitech_cert_year": str(YEAR),
                "hitech_first_cert_year": str(first),
            }
        )  # fmt: skip
    return rows


def facts_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    names = list(dict.fromkeys(name for row in rows for name in row))
    data = {name: [None if r.get(name) is None else str(r[name]) for r in rows] for name in names}
    return facts_frame_normalise(pl.DataFrame(data, schema=dict.fromkeys(names, pl.String)))


def scenario_registry() -> dict[str, Organisation]:
    """The scenario city in the registry; returns the organisations by letter."""
    made = {}
    for letter, (serial, district, rd, first) in SCENARIO_FIRMS.items():
        organisation = Organisation.objects.create(
            kind=Kind.ENTERPRISE, region=Region.MAINLAND, name=f"企业{letter}",
            uscc=make_uscc(serial, district), district_code=district,
            registered_on=dt.date(2012, 5, 1), sector="service",
        )  # fmt: skip
        EnterpriseYear.objects.create(
            organisation=organisation, year=YEAR, **facts_row(
                name=f"企业{letter}", district_code=district, registered_on=dt.date(2012, 5, 1),
                sector="service", above_designated_size=False, employees=80, st_staff=20,
                revenue=Decimal("40000000"), rd_expense=Decimal(rd), rd_deductible=Decimal(rd),
                hitech_cert_year=YEAR, hitech_first_cert_year=first,
            ),
        )  # fmt: skip
        made[letter] = organisation
    return made
