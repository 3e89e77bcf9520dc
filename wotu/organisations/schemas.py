"""What the registry's REST API reads and writes (ninja schemas).

Money is written as a string with exactly two decimals ("52000000.00"), never as a JSON
number, so no client ever sees a float. A facts body (PUT) takes the values as a person or a
spreadsheet would write them — strings, numbers, booleans or null — and hands them unchanged to
the importer's validation, so the API accepts and refuses exactly what a facts file does.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, PlainSerializer, StrictBool, StrictInt, StrictStr, WithJsonSchema

from wotu.core.money import round_fen
from wotu.organisations.models import EnterpriseYear, Kind, Region

MONEY_PATTERN = r"^\d+\.\d{2}$"


def _money_text(amount: Decimal) -> str:
    return f"{round_fen(amount):f}"


Money = Annotated[
    Decimal,
    PlainSerializer(_money_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["52000000.00"]}),
]
MoneyOrNone = Annotated[
    Decimal | None,
    PlainSerializer(lambda v: None if v is None else _money_text(v), return_type=str | None),
    WithJsonSchema(
        {"type": ["string", "null"], "pattern": MONEY_PATTERN, "examples": ["52000000.00"]}
    ),
]


# --- registry -----------------------------------------------------------------------------


class RegistryQuery(Schema):
    q: str = Field("", max_length=200, description="name (zh or en), USCC prefix or local id")
    kind: Kind | None = None
    region: Region | None = None
    district: str = Field("", pattern=r"^(\d{6})?$", description="6-digit division code")
    qualification: Literal["tech_sme", "hitech", "listing_pool", "listed"] | None = None
    year: int | None = Field(
        None, ge=1949, le=2100, description="qualification year; default: newest year with facts"
    )
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class OrganisationOut(Schema):
    id: int
    kind: str
    region: str
    name: str
    name_en: str
    uscc: str | None
    local_id: str
    district_code: str
    registered_on: dt.date | None
    sector: str
    manufacturing: bool


class OrganisationPage(Schema):
    items: list[OrganisationOut]
    total: int
    page: int
    page_size: int
    pages: int


class TechSmeOut(Schema):
    year: int
    number: str


class CertificateOut(Schema):
    issue_year: int
    valid_through: int
    first: bool


class QualificationsOut(Schema):
    tech_sme: list[TechSmeOut]
    certificates: list[CertificateOut]
    listing_pool_years: list[int]
    listed_since: int | None


# --- yearly facts -------------------------------------------------------------------------


class FactsOut(Schema):
    """One enterprise-year, in the facts contract's columns (empty optional cells are null)."""

    organisation_id: int
    uscc: str
    year: int
    name: str
    district_code: str
    registered_on: dt.date
    sector: str
    manufacturing: bool
    above_designated_size: bool
    employees: int
    st_staff: int
    revenue: Money
    total_costs: MoneyOrNone
    total_assets: MoneyOrNone
    net_assets: MoneyOrNone
    rd_expense: Money
    rd_expense_domestic: MoneyOrNone
    rd_deductible: MoneyOrNone
    hitech_revenue: MoneyOrNone
    ip_class1: int | None
    ip_class2: int | None
    conversions: int | None
    hitech_cert_year: int | None
    hitech_first_cert_year: int | None
    tech_sme_number: str
    in_listing_pool: bool
    listed: bool
    incident: bool

    @staticmethod
    def resolve_uscc(obj: EnterpriseYear) -> str:
        return obj.organisation.uscc or ""


# A cell as written: the importer's validation decides whether it is good. Lists and objects
# are refused by the schema itself; every scalar reaches the importer.
Cell = StrictStr | StrictBool | StrictInt | Decimal | None


def _doc(json_type: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": [json_type, "null"], "description": description, **extra}


AMOUNT = ["1234567.89"]
Text = Annotated[Cell, WithJsonSchema(_doc("string", "text"))]
Required = Annotated[Cell, WithJsonSchema(_doc("string", "text, required"))]
Day = Annotated[Cell, WithJsonSchema(_doc("string", "date YYYY-MM-DD, required", format="date"))]
Whole = Annotated[Cell, WithJsonSchema(_doc("integer", "whole number ≥ 0"))]
WholeRequired = Annotated[Cell, WithJsonSchema(_doc("integer", "whole number ≥ 0, required"))]
Year = Annotated[Cell, WithJsonSchema(_doc("integer", "a year such as 2022"))]
Flag = Annotated[Cell, WithJsonSchema(_doc("boolean", "true/false (or 1/0, 是/否); null: false"))]
Amount = Annotated[Cell, WithJsonSchema(_doc("string", "CNY, 2 decimals", examples=AMOUNT))]
AmountRequired = Annotated[
    Cell, WithJsonSchema(_doc("string", "CNY, 2 decimals, required", examples=AMOUNT))
]


class FactsIn(Schema):
    """The facts columns except ``uscc`` (from the organisation) and ``year`` (from the URL).

    PUT replaces the whole year: a column left out or null is stored empty.
    """

    model_config = ConfigDict(extra="forbid")

    name: Required = None
    district_code: Text = None
    registered_on: Day = None
    sector: Text = Field(None, description="industrial, service or other")
    manufacturing: Flag = None
    above_designated_size: Flag = None
    employees: WholeRequired = None
    st_staff: WholeRequired = None
    revenue: AmountRequired = None
    total_costs: Amount = None
    total_assets: Amount = None
    net_assets: Amount = None
    rd_expense: AmountRequired = None
    rd_expense_domestic: Amount = None
    rd_deductible: Amount = None
    hitech_revenue: Amount = None
    ip_class1: Whole = None
    ip_class2: Whole = None
    conversions: Whole = None
    hitech_cert_year: Year = None
    hitech_first_cert_year: Year = None
    tech_sme_number: Text = None
    in_listing_pool: Flag = None
    listed: Flag = None
    incident: Flag = None


# --- errors and imports -------------------------------------------------------------------


class Problem(Schema):
    """Every refusal: ``detail`` is ``detail_zh / detail_en``."""

    detail: str
    detail_zh: str
    detail_en: str


class FactErrorOut(Schema):
    row: int
    column: str
    value: str
    reason_zh: str
    reason_en: str


class FactsInvalid(Problem):
    errors: list[FactErrorOut]


class Message(Schema):
    zh: str
    en: str


class ImportOut(Schema):
    filename: str
    rows: int
    created: int
    updated: int
    unchanged: int
    organisations_created: int
    batch_id: int | None
    warnings: list[Message]


class ImportInvalid(Problem):
    filename: str
    rows: int
    errors: list[FactErrorOut]
    file_error: Message | None
    warnings: list[Message]
