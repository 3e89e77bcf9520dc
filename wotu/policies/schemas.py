"""What the policies REST API reads and writes (ninja schemas).

Money is a string with exactly two decimals ("150000.00"), never a JSON number; a difference
may be negative ("-100000.00").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import PlainSerializer, WithJsonSchema

from wotu.core.money import round_fen
from wotu.organisations.schemas import FactErrorOut, Money, MoneyOrNone, Problem

SignedMoney = Annotated[
    Decimal,
    PlainSerializer(lambda v: f"{round_fen(v):f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["-100000.00"]}),
]


# --- the catalogue ------------------------------------------------------------------------


class ReferenceOut(Schema):
    document: str
    article: str
    url: str
    note: str


class PolicyOut(Schema):
    id: str
    zh: str
    en: str
    kind: Literal["evaluate", "assess"]
    years: list[int] | None = Field(description="first and last year the policy runs for")
    description_zh: str
    description_en: str
    reference: ReferenceOut | None
    outputs: list[str]
    tables: list[str] = Field(description="extra input tables besides facts, e.g. loans")


class RuleVersionOut(Schema):
    since: dt.date | None = Field(description="null: in force from the start")


class RuleOut(Schema):
    name: str
    label_zh: str
    label_en: str
    unit: str
    output: bool
    reference: ReferenceOut
    versions: list[RuleVersionOut]


class CombinationOut(Schema):
    name: str
    mode: str
    rules: list[str]
    cap: str | None


class ValueOut(Schema):
    since: dt.date
    value_text: str
    reference: ReferenceOut


class ParameterOut(Schema):
    name: str
    label_zh: str
    label_en: str
    unit: str
    scale: bool
    note: str
    values: list[ValueOut]


class PolicyDetailOut(PolicyOut):
    rules: list[RuleOut]
    combinations: list[CombinationOut]
    parameters: list[ParameterOut]
    formulas_hash: str
    parameters_hash: str


# --- totals -------------------------------------------------------------------------------


class SchemeTotalOut(Schema):
    scheme: str
    label_zh: str
    label_en: str
    beneficiaries: int
    amount: Money


class DistrictTotalOut(Schema):
    district_code: str
    label_zh: str
    label_en: str
    beneficiaries: int
    amount: Money


class OutputCountOut(Schema):
    output: str
    label_zh: str
    label_en: str
    true_count: int


class TotalsOut(Schema):
    kind: Literal["evaluate", "assess"]
    enterprises: int = Field(description="enterprises evaluated in the year")
    beneficiaries: int
    amount: Money
    schemes: list[SchemeTotalOut]
    districts: list[DistrictTotalOut]
    outputs: list[OutputCountOut] = Field(description="assess: yes counts per yes/no output")


# --- evaluating posted rows ---------------------------------------------------------------


class EvaluateIn(Schema):
    """Facts rows as the facts contract names the columns (money as text like "1234.50" or as a
    JSON number, booleans as true/false); every year the rules look back to may be included."""

    year: int = Field(ge=1949, le=2100)
    rows: list[dict[str, Any]]
    loans: list[dict[str, Any]] | None = Field(None, description="the loans table, if needed")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description='scenario values, e.g. {"hitech_first_cert.rd_cap": '
        '"500000"}',
    )  # fmt: skip
    explain: bool = Field(False, description="add an explanation tree to each row (≤ 1,000)")


class EvaluateOut(Schema):
    policy: str
    kind: str
    year: int
    parameters_hash: str
    overrides: dict[str, Any]
    count: int = Field(description="enterprises with a row in the year")
    totals: TotalsOut
    results: list[dict[str, Any]] = Field(
        description="per enterprise of the year: uscc, year, the policy's outputs (money as"
        " text), basis, name, district_code — and explanation when asked"
    )


class PostedFactErrorOut(FactErrorOut):
    index: int = Field(description="0-based position in rows (row = index + 2)")


class EvaluateInvalid(Problem):
    errors: list[PostedFactErrorOut]


# --- runs ---------------------------------------------------------------------------------


class RunIn(Schema):
    policy_id: str = Field(max_length=80)
    year: int = Field(ge=1949, le=2100)
    overrides: dict[str, Any] = Field(default_factory=dict)
    baseline_id: int | None = Field(None, description="the baseline run of a scenario")
    scenario: str = Field("", max_length=200, description="a name for the scenario")


class RunOut(Schema):
    id: int
    policy_id: str
    kind: str
    year: int
    status: Literal["queued", "running", "done", "failed"]
    progress: int = Field(description="0–100")
    progress_message: str
    created_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    parameters_hash: str
    formulas_hash: str
    input_hash: str
    input_source: str
    input_rows: int | None
    overrides: dict[str, Any]
    scenario: str
    baseline_id: int | None
    totals: TotalsOut | None = Field(description="when done; null for applicants")
    error_zh: str
    error_en: str


class RunQuery(Schema):
    policy_id: str | None = None
    year: int | None = Field(None, ge=1949, le=2100)
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class RunPage(Schema):
    items: list[RunOut]
    total: int
    page: int
    page_size: int
    pages: int


class ResultOut(Schema):
    uscc: str
    name: str
    district_code: str
    organisation_id: int | None
    scheme: str | None
    amount: MoneyOrNone
    values: dict[str, Any]
    basis: str


class ResultQuery(Schema):
    scheme: str | None = Field(None, max_length=100)
    uscc: str | None = Field(None, max_length=18, description="a USCC or its beginning")
    q: str | None = Field(None, max_length=200, description="USCC prefix or name")
    order: Literal["uscc", "name", "district", "scheme", "amount", "-amount"] = "uscc"
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class ResultPage(Schema):
    items: list[ResultOut]
    total: int
    page: int
    page_size: int
    pages: int


# --- comparisons --------------------------------------------------------------------------


class RunSummaryOut(Schema):
    id: int
    policy_id: str
    year: int
    scenario: str
    overrides: dict[str, Any]
    parameters_hash: str
    input_hash: str
    finished_at: dt.datetime | None


class LineChangeOut(Schema):
    key: str = Field(description="the scheme or district code; empty for the total")
    label_zh: str
    label_en: str
    baseline_beneficiaries: int
    scenario_beneficiaries: int
    baseline_amount: Money
    scenario_amount: Money
    difference: SignedMoney


class FirmChangeOut(Schema):
    uscc: str
    name: str
    district_code: str
    baseline: Money
    scenario: Money
    difference: SignedMoney


class CompareOut(Schema):
    policy_id: str
    year: int
    baseline: RunSummaryOut
    scenario: RunSummaryOut
    same_input: bool = Field(description="both runs read identical facts")
    schemes: list[LineChangeOut]
    districts: list[LineChangeOut]
    total: LineChangeOut
    winners_count: int
    losers_count: int
    new_count: int
    dropped_count: int
    winners: list[FirmChangeOut] = Field(description="award rose (new ones included)")
    losers: list[FirmChangeOut] = Field(description="award fell (dropped ones included)")
    new_beneficiaries: list[FirmChangeOut]
    dropped_beneficiaries: list[FirmChangeOut]
    budget_impact: SignedMoney
