"""The registry's REST API, through HTTP: search, facts read and write, imports, who may do what."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.utils import override_settings

from wotu.conftest import make_uscc
from wotu.core.models import User
from wotu.core.services import api_token_create
from wotu.organisations.facts import COLUMN_NAMES, EXPORT_COLUMNS
from wotu.organisations.facts_io import table_write
from wotu.organisations.models import EnterpriseYear, ImportBatch, Kind, Organisation, Region

PERSONAS = ("anonymous", "alice", "bob", "carol", "dave", "erin", "frank", "gina")

# A body for PUT .../facts/{year}: a valid year for Haina Robotics, written as a person would.
GOOD_BODY: dict[str, Any] = {
    "name": "海纳机器人有限公司", "district_code": "370212", "registered_on": "2015-03-01",
    "sector": "industrial", "manufacturing": True, "above_designated_size": True,
    "employees": 130, "st_staff": 45, "revenue": "70000000.00", "total_costs": "60000000",
    "total_assets": "65000000.5", "net_assets": None, "rd_expense": "5000000.00",
    "rd_expense_domestic": "4800000.00", "rd_deductible": None, "hitech_revenue": "50000000",
    "ip_class1": 3, "ip_class2": 6, "conversions": 4, "hitech_cert_year": 2022,
    "hitech_first_cert_year": 2019, "tech_sme_number": "", "in_listing_pool": "是",
    "listed": False, "incident": False,
}  # fmt: skip


def api_client(user: User | None) -> Client:
    """A client that calls the API as ``user`` with a bearer token (anonymous for None)."""
    if user is None:
        return Client()
    _, raw = api_token_create(user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def as_user(request: pytest.FixtureRequest) -> Any:
    def client_for(persona: str) -> Client:
        if persona == "anonymous":
            return api_client(None)
        return api_client(request.getfixturevalue(persona))

    return client_for


def put_json(client: Client, url: str, body: Any) -> Any:
    return client.put(url, data=json.dumps(body), content_type="application/json")


def facts_url(org: Organisation, year: int | None = None) -> str:
    return f"/api/organisations/{org.pk}/facts" + (f"/{year}" if year else "")


def facts_snapshot() -> list[Any]:
    return list(EnterpriseYear.objects.order_by("organisation_id", "year").values())


# --- search and pagination ----------------------------------------------------------------


def test_the_list_returns_items_total_page_and_pages(
    alice: User, haina: Organisation, jiaodong: Organisation, laoshan_bank: Organisation,
    hkust: Organisation,
) -> None:  # fmt: skip
    # when
    body = api_client(alice).get("/api/organisations").json()
    # then — ordered by name
    assert body["total"] == 4 and body["page"] == 1 and body["pages"] == 1
    assert [o["name"] for o in body["items"]] == sorted(o["name"] for o in body["items"])
    first = next(o for o in body["items"] if o["id"] == haina.pk)
    assert first == {
        "id": haina.pk, "kind": "enterprise", "region": "CN", "name": "海纳机器人有限公司",
        "name_en": "Haina Robotics Co., Ltd.", "uscc": haina.uscc, "local_id": "",
        "district_code": "370212", "registered_on": "2015-03-01", "sector": "industrial",
        "manufacturing": True,
    }  # fmt: skip


def test_pages_split_the_registry_and_a_page_past_the_end_is_empty(alice: User) -> None:
    # given 25 enterprises
    Organisation.objects.bulk_create(
        Organisation(kind=Kind.ENTERPRISE, name=f"企业{n:02d}", uscc=make_uscc(100 + n))
        for n in range(25)
    )
    client = api_client(alice)
    # when
    pages = [client.get(f"/api/organisations?page_size=10&page={p}").json() for p in (1, 2, 3, 4)]
    # then
    assert [len(p["items"]) for p in pages] == [10, 10, 5, 0]
    assert {p["total"] for p in pages} == {25} and {p["pages"] for p in pages} == {3}
    names = [o["name"] for p in pages for o in p["items"]]
    assert names == [f"企业{n:02d}" for n in range(25)]


BAD_QUERIES = ["page_size=201", "page_size=0", "page=0", "kind=farm", "region=TW",
               "qualification=famous", "district=3702", "year=abc"]  # fmt: skip


@pytest.mark.parametrize("query", BAD_QUERIES)
def test_an_invalid_query_parameter_is_refused_with_422(alice: User, query: str) -> None:
    response = api_client(alice).get(f"/api/organisations?{query}")
    assert response.status_code == 422
    assert response.json()["detail_en"] == "the request is not valid"
    assert response.json()["errors"]


def test_page_size_may_be_200(alice: User, haina: Organisation) -> None:
    assert api_client(alice).get("/api/organisations?page_size=200").status_code == 200


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=海纳", {"haina"}),
        ("q=biotech", {"jiaodong"}),
        (f"q={make_uscc(2, '370203')[:10].lower()}", {"jiaodong"}),
        ("q=HK-UNI-0001", {"hkust"}),
        ("kind=bank", {"laoshan_bank"}),
        ("kind=enterprise", {"haina", "jiaodong"}),
        ("region=HK", {"hkust"}),
        ("district=370203", {"jiaodong"}),
        ("district=370212&kind=enterprise", {"haina"}),
        ("qualification=tech_sme", {"jiaodong"}),
        ("qualification=tech_sme&year=2022", {"haina"}),
        ("qualification=hitech&year=2023", {"haina"}),
        ("qualification=listing_pool", {"haina"}),
        ("qualification=listed", set()),
        ("q=nothing-like-this", set()),
    ],
)
def test_filters_narrow_the_list(
    request: pytest.FixtureRequest, alice: User, query: str, expected: set[str]
) -> None:
    # given
    orgs = {name: request.getfixturevalue(name)
            for name in ("haina", "jiaodong", "laoshan_bank", "hkust")}  # fmt: skip
    # when
    body = api_client(alice).get(f"/api/organisations?{query}").json()
    # then
    assert {o["id"] for o in body["items"]} == {orgs[name].pk for name in expected}
    assert body["total"] == len(expected)


def test_an_applicant_lists_only_its_own_organisation(
    dave: User, jiaodong: Organisation, hkust: Organisation
) -> None:
    body = api_client(dave).get("/api/organisations").json()
    assert [o["id"] for o in body["items"]] == [dave.organisation_id]
    assert body["total"] == 1


def test_an_applicant_cannot_open_another_organisation(dave: User, jiaodong: Organisation) -> None:
    client = api_client(dave)
    for suffix in ("", "/qualifications", "/facts", "/facts/2023"):
        response = client.get(f"/api/organisations/{jiaodong.pk}{suffix}")
        assert response.status_code == 404
        assert response.json()["detail_zh"] and response.json()["detail_en"]


def test_an_unknown_organisation_is_404(alice: User) -> None:
    response = api_client(alice).get("/api/organisations/999999")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "未找到，或您无权查看 / not found, or not visible to you",
        "detail_zh": "未找到，或您无权查看",
        "detail_en": "not found, or not visible to you",
    }


def test_qualifications_list_tech_sme_numbers_certificates_and_listing(
    frank: User, haina: Organisation
) -> None:
    # when — a bank officer may see published qualifications
    body = api_client(frank).get(f"/api/organisations/{haina.pk}/qualifications").json()
    # then
    assert body == {
        "tech_sme": [{"year": 2022, "number": "2022370212A0000001"}],
        "certificates": [
            {"issue_year": 2019, "valid_through": 2021, "first": True},
            {"issue_year": 2022, "valid_through": 2024, "first": False},
        ],
        "listing_pool_years": [2023],
        "listed_since": None,
    }


# --- reading facts ------------------------------------------------------------------------


def test_facts_of_every_year_come_oldest_first_with_money_as_exact_strings(
    bob: User, haina: Organisation
) -> None:
    # when
    years = api_client(bob).get(facts_url(haina)).json()
    # then
    assert [y["year"] for y in years] == [2022, 2023]
    latest = years[1]
    assert set(latest) == {"organisation_id", *COLUMN_NAMES}
    assert latest["uscc"] == haina.uscc and latest["organisation_id"] == haina.pk
    assert latest["revenue"] == "61000000.00" and latest["rd_expense"] == "4200000.00"
    assert latest["total_costs"] == "45000000.00"
    assert latest["rd_expense_domestic"] is None and latest["hitech_cert_year"] == 2022
    assert latest["registered_on"] == "2015-03-01" and latest["in_listing_pool"] is True


def test_one_year_of_facts_is_returned_and_a_missing_year_is_404(
    dave: User, haina: Organisation
) -> None:
    client = api_client(dave)
    assert client.get(facts_url(haina, 2022)).json()["tech_sme_number"] == "2022370212A0000001"
    assert client.get(facts_url(haina, 2019)).status_code == 404


# --- writing facts ------------------------------------------------------------------------


def test_putting_valid_facts_replaces_the_year_and_returns_the_saved_row(
    alice: User, haina: Organisation
) -> None:
    # when
    response = put_json(api_client(alice), facts_url(haina, 2023), GOOD_BODY)
    # then
    assert response.status_code == 200, response.json()
    saved = response.json()
    assert saved["year"] == 2023 and saved["uscc"] == haina.uscc
    assert saved["revenue"] == "70000000.00" and saved["total_assets"] == "65000000.50"
    assert saved["net_assets"] is None and saved["in_listing_pool"] is True
    assert saved["employees"] == 130
    row = EnterpriseYear.objects.get(organisation=haina, year=2023)
    assert row.revenue == Decimal("70000000.00") and row.st_staff == 45
    assert api_client(alice).get(facts_url(haina, 2023)).json() == saved


def test_putting_a_new_year_creates_it(dave: User, haina: Organisation) -> None:
    # when the applicant files its own 2024 figures
    response = put_json(api_client(dave), facts_url(haina, 2024), GOOD_BODY)
    # then
    assert response.status_code == 200
    assert [y["year"] for y in api_client(dave).get(facts_url(haina)).json()] == [2022, 2023, 2024]


def test_json_numbers_are_read_as_decimals_never_through_float(
    alice: User, haina: Organisation
) -> None:
    # given JSON numbers, one of them beyond what a float holds exactly
    body = json.dumps(GOOD_BODY | {"total_assets": "@A", "rd_expense_domestic": "@D"})
    body = body.replace('"@A"', "1234.5").replace('"@D"', "12345678901234567.89")
    # when
    response = api_client(alice).put(
        facts_url(haina, 2023), data=body, content_type="application/json"
    )
    # then the value reached validation digit for digit (float would give 1.2345678901234568e+16)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["column"], error["value"]) == ("rd_expense_domestic", "12345678901234567.89")


def test_a_json_number_is_saved_as_money_with_two_decimals(
    alice: User, haina: Organisation
) -> None:
    body = json.dumps(GOOD_BODY | {"total_assets": "@A"}).replace('"@A"', "1234.5")
    response = api_client(alice).put(
        facts_url(haina, 2023), data=body, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["total_assets"] == "1234.50"


@pytest.mark.parametrize(
    ("changes", "column", "value", "reason_en"),
    [
        ({"revenue": "-1"}, "revenue", "-1", "money must not be negative"),
        ({"revenue": "lots"}, "revenue", "lots", "must be an amount in CNY"),
        ({"revenue": None}, "revenue", "", "a value is required"),
        ({"st_staff": 200}, "st_staff", "200", "S&T staff cannot exceed"),
        ({"rd_expense_domestic": "6000000"}, "rd_expense_domestic", "6000000.00",
         "domestic R&D cannot exceed"),
        ({"sector": "mining"}, "sector", "mining", "unknown sector"),
        ({"registered_on": "2023-02-30"}, "registered_on", "2023-02-30", "no such date"),
        ({"registered_on": "01/03/2015"}, "registered_on", "01/03/2015", "YYYY-MM-DD"),
        ({"employees": "12.5"}, "employees", "12.5", "must be a whole number"),
        ({"employees": True}, "employees", "True", "must be a whole number"),
        ({"listed": "maybe"}, "listed", "maybe", "must be true or false"),
        ({"district_code": "37021"}, "district_code", "37021", "6 digits"),
        ({"hitech_cert_year": 2020}, "hitech_cert_year", "2020", "valid 3 years"),
        ({"name": ""}, "name", "", "a value is required"),
    ],
)  # fmt: skip
def test_each_invalid_value_is_refused_with_the_importers_error_and_nothing_changes(
    alice: User, haina: Organisation, changes: dict[str, Any], column: str, value: str,
    reason_en: str,
) -> None:  # fmt: skip
    # given
    before = facts_snapshot()
    # when
    response = put_json(api_client(alice), facts_url(haina, 2023), GOOD_BODY | changes)
    # then
    assert response.status_code == 422
    body = response.json()
    assert body["detail_en"] == "1 problem(s) found; nothing was saved"
    [error] = body["errors"]
    assert (error["row"], error["column"], error["value"]) == (2, column, value)
    assert reason_en in error["reason_en"] and error["reason_zh"]
    assert facts_snapshot() == before


def test_every_problem_of_a_body_is_reported_at_once(alice: User, haina: Organisation) -> None:
    # given
    body = GOOD_BODY | {"revenue": "-5", "sector": "mining", "employees": None, "listed": "?"}
    # when
    response = put_json(api_client(alice), facts_url(haina, 2023), body)
    # then
    assert response.status_code == 422
    columns = [e["column"] for e in response.json()["errors"]]
    assert sorted(columns) == ["employees", "listed", "revenue", "sector"]


def test_a_year_out_of_range_in_the_url_is_an_error_on_the_year_column(
    alice: User, haina: Organisation
) -> None:
    response = put_json(api_client(alice), facts_url(haina, 1800), GOOD_BODY)
    assert response.status_code == 422
    assert [e["column"] for e in response.json()["errors"]] == ["year"]
    assert not EnterpriseYear.objects.filter(year=1800).exists()


@pytest.mark.parametrize(
    "body",
    [GOOD_BODY | {"revenu": "1"}, GOOD_BODY | {"uscc": "X"}, GOOD_BODY | {"revenue": [1]}, []],
)
def test_a_body_that_is_not_a_facts_object_is_refused(
    alice: User, haina: Organisation, body: Any
) -> None:
    # given
    before = facts_snapshot()
    # when
    response = put_json(api_client(alice), facts_url(haina, 2023), body)
    # then
    assert response.status_code == 422
    assert response.json()["detail_en"] == "the request is not valid"
    assert facts_snapshot() == before


def test_a_body_that_is_not_json_is_a_bilingual_400(alice: User, haina: Organisation) -> None:
    response = api_client(alice).put(
        facts_url(haina, 2023), data="{revenue: 1", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail_en"] == "Cannot parse request body"
    assert response.json()["detail_zh"].startswith("请求无法处理")


def test_an_organisation_without_uscc_cannot_hold_facts(alice: User, hkust: Organisation) -> None:
    response = put_json(api_client(alice), facts_url(hkust, 2023), GOOD_BODY)
    assert response.status_code == 422
    assert response.json()["errors"][0]["column"] == "uscc"
    assert not EnterpriseYear.objects.filter(organisation=hkust).exists()


def test_a_finance_officer_reads_facts_but_may_not_change_them(
    bob: User, haina: Organisation
) -> None:
    before = facts_snapshot()
    response = put_json(api_client(bob), facts_url(haina, 2023), GOOD_BODY)
    assert response.status_code == 403
    assert response.json()["detail_en"] == "your role may not do this"
    assert facts_snapshot() == before


# --- imports ------------------------------------------------------------------------------


def contract_rows(*overrides: dict[str, Any]) -> list[list[Any]]:
    """Rows in the contract's column order: one new enterprise, 2022 and 2023."""
    base: dict[str, Any] = {
        "uscc": make_uscc(77), "name": "青岛蓝谷量子科技有限公司", "district_code": "370212",
        "registered_on": dt.date(2017, 5, 4), "sector": "industrial", "manufacturing": True,
        "above_designated_size": False, "employees": 60, "st_staff": 20,
        "revenue": Decimal("9000000.00"), "total_costs": None, "total_assets": None,
        "net_assets": None, "rd_expense": Decimal("800000.00"), "rd_expense_domestic": None,
        "rd_deductible": None, "hitech_revenue": None, "ip_class1": 1, "ip_class2": 2,
        "conversions": 0, "hitech_cert_year": None, "hitech_first_cert_year": None,
        "tech_sme_number": "", "in_listing_pool": False, "listed": False, "incident": False,
    }  # fmt: skip
    rows = []
    for year, extra in zip((2022, 2023), overrides or ({}, {}), strict=False):
        record = base | {"year": year} | extra
        rows.append([record[name] for name in COLUMN_NAMES])
    return rows


def facts_file(tmp_path: Path, suffix: str, rows: list[list[Any]]) -> SimpleUploadedFile:
    path = tmp_path / f"facts{suffix}"
    table_write(path, columns=EXPORT_COLUMNS, rows=rows)
    return SimpleUploadedFile(path.name, path.read_bytes())


def upload(client: Client, file: SimpleUploadedFile) -> Any:
    return client.post("/api/imports/facts", {"file": file})


def registry_snapshot() -> tuple[int, int, int]:
    return (
        Organisation.objects.count(),
        EnterpriseYear.objects.count(),
        ImportBatch.objects.count(),
    )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_a_good_file_is_imported_and_the_counts_returned(
    alice: User, tmp_path: Path, suffix: str
) -> None:
    # when
    response = upload(api_client(alice), facts_file(tmp_path, suffix, contract_rows()))
    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body | {"batch_id": None} == {
        "filename": f"facts{suffix}", "rows": 2, "created": 2, "updated": 0, "unchanged": 0,
        "organisations_created": 1, "batch_id": None, "warnings": [],
    }  # fmt: skip
    assert ImportBatch.objects.get(pk=body["batch_id"]).imported_by == alice
    assert Organisation.objects.filter(uscc=make_uscc(77)).exists()


def test_importing_the_same_file_again_changes_nothing(alice: User, tmp_path: Path) -> None:
    client = api_client(alice)
    upload(client, facts_file(tmp_path, ".csv", contract_rows()))
    again = upload(client, facts_file(tmp_path, ".csv", contract_rows())).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_a_bad_file_returns_every_error_and_writes_nothing(
    alice: User, haina: Organisation, tmp_path: Path
) -> None:
    # given a CSV with two bad rows
    rows = contract_rows({"st_staff": 999}, {"revenue": Decimal("-3"), "sector": "mining"})
    before = registry_snapshot()
    # when
    response = upload(api_client(alice), facts_file(tmp_path, ".csv", rows))
    # then
    assert response.status_code == 422
    body = response.json()
    assert body["file_error"] is None and body["rows"] == 2
    assert body["detail_en"] == "3 problem(s) in the file; nothing was imported"
    assert [(e["row"], e["column"], e["value"]) for e in body["errors"]] == [
        (2, "st_staff", "999"), (3, "sector", "mining"), (3, "revenue", "-3.00"),
    ]  # fmt: skip
    assert all(e["reason_zh"] and e["reason_en"] for e in body["errors"])
    assert registry_snapshot() == before


def test_a_file_missing_a_required_column_says_so(alice: User, tmp_path: Path) -> None:
    content = "uscc,name,year\n" + f"{make_uscc(77)},某公司,2023\n"
    response = upload(api_client(alice), SimpleUploadedFile("facts.csv", content.encode()))
    assert response.status_code == 422
    missing = {e["column"] for e in response.json()["errors"] if e["row"] == 1}
    assert missing == {"registered_on", "employees", "st_staff", "revenue", "rd_expense"}


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


@pytest.mark.parametrize(
    ("name", "content", "reason_en"),
    [
        ("facts.xlsx", PNG, "the content is not XLSX"),
        ("facts.parquet", b"uscc,name\n1,2\n", "the content is not PARQUET"),
        ("facts.csv", PNG, "binary content"),
        ("facts.csv", "uscc,name\n1,青岛\n".encode("gbk"), "not UTF-8"),
        ("facts.txt", b"uscc,name\n", "unsupported file type .txt"),
        ("facts", b"uscc,name\n", "unsupported file type (no extension)"),
        ("facts.csv", b"", "the file is empty"),
        ("facts.xlsx", b"PK\x03\x04" + bytes(60), "cannot read the Excel file"),
        ("facts.parquet", b"PAR1" + bytes(60), "cannot read the Parquet file"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_and_nothing_saved(
    alice: User, name: str, content: bytes, reason_en: str
) -> None:
    # given
    before = registry_snapshot()
    # when
    response = upload(api_client(alice), SimpleUploadedFile(name, content, "application/pdf"))
    # then
    assert response.status_code == 422
    body = response.json()
    assert reason_en in body["file_error"]["en"] and body["file_error"]["zh"]
    assert body["detail_en"] == body["file_error"]["en"] and body["errors"] == []
    assert registry_snapshot() == before


def test_a_file_over_the_size_limit_is_refused(alice: User, tmp_path: Path) -> None:
    # given
    file = facts_file(tmp_path, ".csv", contract_rows())
    before = registry_snapshot()
    # when
    with override_settings(WOTU_MAX_UPLOAD_BYTES=100):
        response = upload(api_client(alice), file)
    # then
    assert response.status_code == 422
    assert "too large" in response.json()["file_error"]["en"]
    assert "100 bytes" in response.json()["file_error"]["en"]
    assert registry_snapshot() == before


def test_an_upload_without_a_file_is_refused(alice: User) -> None:
    response = api_client(alice).post("/api/imports/facts", {})
    assert response.status_code == 422
    assert response.json()["detail_en"] == "the request is not valid"


def test_a_csv_with_a_byte_order_mark_is_accepted(alice: User, tmp_path: Path) -> None:
    # given a CSV as Excel saves "CSV UTF-8"
    csv_path = tmp_path / "facts.csv"
    table_write(csv_path, columns=EXPORT_COLUMNS, rows=contract_rows())
    content = b"\xef\xbb\xbf" + csv_path.read_bytes()
    # when
    response = upload(api_client(alice), SimpleUploadedFile("事实.csv", content))
    # then
    assert response.status_code == 200, response.json()
    assert response.json()["filename"] == "事实.csv"


# --- who may do what ----------------------------------------------------------------------

ACCESS = """
endpoint         anonymous alice bob  carol dave erin frank gina
list             401       200   200  403   200  200  200   200
organisation     401       200   200  403   200  404  200   200
qualifications   401       200   200  403   200  404  200   200
facts            401       200   200  403   200  404  403   200
facts_year       401       200   200  403   200  404  403   200
facts_put        401       200   403  403   200  404  403   200
import           401       200   403  403   403  403  403   200
"""


def _access_table() -> list[tuple[str, str, int]]:
    header, *lines = ACCESS.strip().splitlines()
    personas = header.split()[1:]
    assert tuple(personas) == PERSONAS
    cases: list[tuple[str, str, int]] = []
    for line in lines:
        endpoint, *codes = line.split()
        cases.extend((endpoint, p, int(code)) for p, code in zip(personas, codes, strict=True))
    return cases


def call(endpoint: str, client: Client, org: Organisation, tmp_path: Path) -> Any:
    base = f"/api/organisations/{org.pk}"
    match endpoint:
        case "list":
            return client.get("/api/organisations")
        case "organisation":
            return client.get(base)
        case "qualifications":
            return client.get(f"{base}/qualifications")
        case "facts":
            return client.get(f"{base}/facts")
        case "facts_year":
            return client.get(f"{base}/facts/2023")
        case "facts_put":
            return put_json(client, f"{base}/facts/2023", GOOD_BODY)
        case "import":
            return upload(client, facts_file(tmp_path, ".csv", contract_rows()))
    raise AssertionError(endpoint)


@pytest.mark.parametrize(("endpoint", "persona", "status"), _access_table())
def test_every_role_gets_the_expected_status_on_every_endpoint(
    as_user: Any, haina: Organisation, tmp_path: Path, endpoint: str, persona: str, status: int
) -> None:
    # given Haina Robotics (dave's organisation; erin is another applicant)
    client = as_user(persona)
    # when
    response = call(endpoint, client, haina, tmp_path)
    # then
    assert response.status_code == status, response.content
    if status >= 400:
        body = response.json()
        assert body["detail"] == f"{body['detail_zh']} / {body['detail_en']}"


def test_a_refusal_changes_nothing(as_user: Any, haina: Organisation, tmp_path: Path) -> None:
    # given
    clients = [as_user(p) for p in ("anonymous", "bob", "carol", "erin", "frank")]
    before = registry_snapshot(), facts_snapshot()
    # when
    for client in clients:
        for endpoint in ("facts_put", "import"):
            assert call(endpoint, client, haina, tmp_path).status_code >= 400
    # then
    assert (registry_snapshot(), facts_snapshot()) == before


# --- documentation ------------------------------------------------------------------------


def test_the_openapi_schema_lists_every_endpoint(client: Client) -> None:
    # when
    response = client.get("/api/openapi.json")
    # then
    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) >= {
        "/api/organisations", "/api/organisations/{organisation_id}",
        "/api/organisations/{organisation_id}/qualifications",
        "/api/organisations/{organisation_id}/facts",
        "/api/organisations/{organisation_id}/facts/{year}", "/api/imports/facts",
    }  # fmt: skip
    assert set(schema["components"]["securitySchemes"]) == {"TokenAuth", "SessionAuth"}
    facts_in = schema["components"]["schemas"]["FactsIn"]["properties"]
    assert set(facts_in) == set(COLUMN_NAMES) - {"uscc", "year"}
    assert schema["components"]["schemas"]["FactsOut"]["properties"]["revenue"]["type"] == "string"


def test_the_docs_page_loads(client: Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"/api/openapi.json" in response.content


@pytest.mark.xfail(
    "ninja" not in settings.INSTALLED_APPS,
    reason="needs 'ninja' in INSTALLED_APPS (settings.py), else ninja serves the docs from a CDN",
    strict=True,
)
def test_the_docs_page_loads_its_scripts_locally_never_from_a_cdn(client: Client) -> None:
    html = client.get("/api/docs").content.decode()
    # nothing loaded from another host (a CDN); a random token may well contain "cdn"
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert "/static/ninja/swagger-ui-bundle.js" in html


def test_money_fields_are_never_json_numbers(alice: User, haina: Organisation) -> None:
    raw = api_client(alice).get(facts_url(haina, 2023)).content
    parsed = json.load(io.BytesIO(raw), parse_float=lambda text: pytest.fail(f"float {text}"))
    assert parsed["revenue"] == "61000000.00"


def test_kind_and_region_choices_in_the_schema_match_the_models(client: Client) -> None:
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert set(schemas["Kind"]["enum"]) == set(Kind.values)
    assert set(schemas["Region"]["enum"]) == set(Region.values)
