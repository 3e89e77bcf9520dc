"""The registry screens, through the test client, for every persona."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from wotu.conftest import facts_row, make_uscc
from wotu.core.models import User
from wotu.core.tests.access import persona_client
from wotu.organisations.facts import COLUMNS
from wotu.organisations.models import EnterpriseYear, ImportBatch, Kind, Organisation, Region

PERSONAS = ["anonymous", "alice", "bob", "carol", "dave", "erin", "frank", "gina"]


@pytest.fixture
def registry(haina: Organisation, jiaodong: Organisation, laoshan_bank: Organisation,
             hkust: Organisation) -> dict[str, Organisation]:  # fmt: skip
    return {"haina": haina, "jiaodong": jiaodong, "bank": laoshan_bank, "hkust": hkust}


def english(client: Client) -> Client:
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    return client


# -- who may open what ---------------------------------------------------------------------------

PAGES = {
    "list": "/registry/",
    "haina": "/registry/{haina}/",
    "jiaodong": "/registry/{jiaodong}/",
    "bank": "/registry/{bank}/",
    "hkust": "/registry/{hkust}/",
    "missing": "/registry/999999/",
    "edit haina": "/registry/{haina}/facts/2023/edit/",
    "edit jiaodong": "/registry/{jiaodong}/facts/2023/edit/",
    "edit missing year": "/registry/{haina}/facts/2001/edit/",
    "add haina": "/registry/{haina}/facts/add/",
    "import": "/registry/import/",
    "export": "/registry/export/",
}
L = 302  # to the sign-in page
# persona:      anon alice bob carol dave erin frank gina
ACCESS = {
    "list":              [L, 200, 200, 403, 200, 200, 200, 200],
    "haina":             [L, 200, 200, 403, 200, 404, 200, 200],
    "jiaodong":          [L, 200, 200, 403, 404, 200, 200, 200],
    "bank":              [L, 200, 200, 403, 404, 404, 200, 200],
    "hkust":             [L, 200, 200, 403, 404, 404, 200, 200],
    "missing":           [L, 404, 404, 403, 404, 404, 404, 404],
    "edit haina":        [L, 200, 403, 403, 200, 404, 403, 200],
    "edit jiaodong":     [L, 200, 403, 403, 404, 200, 403, 200],
    "edit missing year": [L, 404, 403, 403, 404, 404, 403, 404],
    "add haina":         [L, 200, 403, 403, 200, 404, 403, 200],
    "import":            [L, 200, 403, 403, 403, 403, 403, 200],
    "export":            [L, 200, 200, 403, 403, 403, 403, 200],
}  # fmt: skip
CASES = [
    (page, persona, statuses[index])
    for page, statuses in ACCESS.items()
    for index, persona in enumerate(PERSONAS)
]


@pytest.mark.parametrize(("page", "persona", "expected"), CASES)
def test_every_page_answers_every_persona_as_the_role_matrix_says(
    request: pytest.FixtureRequest,
    registry: dict[str, Organisation],
    page: str,
    persona: str,
    expected: int,
) -> None:
    path = PAGES[page].format(**{key: org.pk for key, org in registry.items()})
    response = persona_client(request=request, persona=persona).get(path)
    assert response.status_code == expected
    if expected == L:
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("alice", 200), ("gina", 200), ("dave", 200), ("bob", 403), ("frank", 403), ("carol", 403),
     ("erin", 404)],
)  # fmt: skip
def test_only_editors_may_post_facts(
    request: pytest.FixtureRequest, haina: Organisation, persona: str, expected: int
) -> None:
    response = persona_client(request=request, persona=persona).post(
        f"/registry/{haina.pk}/facts/2023/edit/", form_values(haina, 2023)
    )
    assert response.status_code == (302 if expected == 200 else expected)


# -- the list --------------------------------------------------------------------------------


def names(response: Any) -> list[str]:
    return [org.name for org in response.context["page"].object_list]


def test_the_registry_lists_every_kind_and_region_with_the_count(
    alice: User, registry: dict[str, Organisation]
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/registry/")
    text = response.content.decode()
    assert response.context["page"].paginator.count == 4
    assert "共 4 个机构" in text
    assert "香港科技大学" in text and "HK-UNI-0001" in text
    assert "Haina Robotics Co., Ltd." in text
    assert "崂山区" in text  # the district's name, not its code


EVERYONE = ["崂山农商银行", "海纳机器人有限公司", "胶东生物科技有限公司", "香港科技大学"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=海纳", ["海纳机器人有限公司"]),
        ("q=生物", ["胶东生物科技有限公司"]),
        ("q=haina", ["海纳机器人有限公司"]),
        ("q=913702120", ["海纳机器人有限公司", "崂山农商银行"]),
        ("kind=university", ["香港科技大学"]),
        ("region=HK", ["香港科技大学"]),
        ("district=370203", ["胶东生物科技有限公司"]),
        ("qualification=tech_sme&year=2022", ["海纳机器人有限公司"]),
        ("qualification=tech_sme&year=2023", ["胶东生物科技有限公司"]),
        ("qualification=hitech&year=2023", ["海纳机器人有限公司"]),
        ("qualification=hitech&year=2025", []),
        ("qualification=listing_pool&year=2023", ["海纳机器人有限公司"]),
        ("qualification=listed", []),
        ("kind=farm&region=XX&year=abc", EVERYONE),
    ],
)  # fmt: skip
def test_search_and_filters_narrow_the_registry(
    alice: User, registry: dict[str, Organisation], query: str, expected: list[str]
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get(f"/registry/?{query}")
    assert response.status_code == 200
    assert sorted(names(response)) == sorted(expected)


def test_an_applicant_sees_only_its_own_organisation_in_the_registry(
    dave: User, registry: dict[str, Organisation]
) -> None:
    client = Client()
    client.force_login(dave)
    assert names(client.get("/registry/")) == ["海纳机器人有限公司"]
    assert names(client.get("/registry/?q=胶东")) == []


def test_the_registry_pages_by_fifty_and_keeps_the_filters_in_the_links(alice: User) -> None:
    Organisation.objects.bulk_create(
        Organisation(kind=Kind.UNIVERSITY, region=Region.MACAO, name=f"澳门大学{i:03d}",
                     local_id=f"MO-{i:03d}") for i in range(120)
    )  # fmt: skip
    client = Client()
    client.force_login(alice)
    first = client.get("/registry/?region=MO")
    assert len(first.context["page"].object_list) == 50
    assert 'href="?region=MO&amp;page=2"' in first.content.decode()
    last = client.get("/registry/?region=MO&page=3")
    assert names(last)[-1] == "澳门大学119"
    assert len(last.context["page"].object_list) == 20
    assert client.get("/registry/?page=99").status_code == 200


def test_listing_a_page_takes_the_same_few_queries_however_many_rows(
    alice: User, django_assert_max_num_queries: Any
) -> None:
    Organisation.objects.bulk_create(
        Organisation(kind=Kind.ENTERPRISE, region=Region.MAINLAND, name=f"企业{i:04d}",
                     uscc=make_uscc(1000 + i), district_code="370212") for i in range(200)
    )  # fmt: skip
    client = Client()
    client.force_login(alice)
    with django_assert_max_num_queries(6):  # session, user, count, page
        response = client.get("/registry/?qualification=")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 50


def test_an_htmx_search_returns_only_the_results_and_a_plain_one_the_whole_page(
    alice: User, registry: dict[str, Organisation]
) -> None:
    client = Client()
    client.force_login(alice)
    partial = client.get("/registry/?q=海纳", headers={"HX-Request": "true"}).content.decode()
    assert "海纳机器人有限公司" in partial
    assert "<html" not in partial and 'data-testid="registry-search"' not in partial
    whole = client.get("/registry/?q=海纳").content.decode()
    assert "<html" in whole and 'data-testid="registry-search"' in whole
    restore = client.get(
        "/registry/?q=海纳", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.content.decode()


# -- one organisation --------------------------------------------------------------------------


def test_the_organisation_page_shows_identity_qualifications_facts_and_chart_data(
    alice: User, haina: Organisation
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get(f"/registry/{haina.pk}/")
    text = response.content.decode()
    assert haina.uscc is not None and haina.uscc in text
    assert "2015-03-01" in text
    assert "2022370212A0000001" in text  # tech-SME number of 2022
    assert "2022 年颁发，有效期至 2024 年" in text
    assert "2019 年颁发，有效期至 2021 年" in text and "首次认定" in text
    assert "¥61,000,000.00" in text and "¥4,200,000.00" in text
    for column in COLUMNS:
        if column.name not in {"uscc", "year"}:
            assert f'<span class="colname">{column.name}</span>' in text
    assert "vendor/echarts/echarts.min.js" in text
    chart = response.context["chart"]
    assert chart["years"] == ["2022", "2023"]
    assert chart["series"][0]["values"] == ["52000000.00", "61000000.00"]
    assert chart["series"][1]["values"] == ["3100000.00", "4200000.00"]
    assert 'id="chart-data"' in text


def test_a_bank_officer_sees_identity_and_qualifications_but_no_facts(
    frank: User, haina: Organisation
) -> None:
    client = Client()
    client.force_login(frank)
    text = client.get(f"/registry/{haina.pk}/").content.decode()
    assert 'data-testid="qualifications"' in text
    assert 'data-testid="facts"' not in text
    assert "61,000,000" not in text and "chart-data" not in text and "echarts" not in text


def test_a_university_or_bank_page_has_no_facts_section(
    alice: User, hkust: Organisation, laoshan_bank: Organisation
) -> None:
    client = Client()
    client.force_login(alice)
    for org in (hkust, laoshan_bank):
        text = client.get(f"/registry/{org.pk}/").content.decode()
        assert 'data-testid="qualifications"' in text
        assert 'data-testid="facts"' not in text and "/facts/add/" not in text


def test_a_finance_officer_sees_facts_but_no_edit_links(bob: User, haina: Organisation) -> None:
    client = Client()
    client.force_login(bob)
    text = client.get(f"/registry/{haina.pk}/").content.decode()
    assert 'data-testid="facts"' in text
    assert "/facts/2023/edit/" not in text and "/facts/add/" not in text


def test_an_applicant_may_edit_its_own_facts_from_its_page(dave: User, haina: Organisation) -> None:
    client = Client()
    client.force_login(dave)
    text = client.get(f"/registry/{haina.pk}/").content.decode()
    assert f"/registry/{haina.pk}/facts/2023/edit/" in text


def test_the_organisation_page_reads_in_english_after_the_switch(
    alice: User, haina: Organisation
) -> None:
    client = Client()
    client.force_login(alice)
    text = english(client).get(f"/registry/{haina.pk}/").content.decode()
    assert "Yearly facts" in text and "Qualifications" in text
    assert "issued 2022, valid through 2024" in text
    assert "Revenue" in text and "Laoshan District" in text


# -- editing one year --------------------------------------------------------------------------


def form_values(org: Organisation, of_year: int, **changes: Any) -> dict[str, Any]:
    row = EnterpriseYear.objects.get(organisation=org, year=of_year)
    values: dict[str, Any] = {}
    for column in COLUMNS:
        if column.name in {"uscc", "year"}:
            continue
        value = getattr(row, column.name)
        if isinstance(value, bool):
            if value:
                values[column.name] = "on"
        elif value is not None:
            values[column.name] = value.isoformat() if isinstance(value, dt.date) else str(value)
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def test_the_edit_form_shows_every_contract_column_filled_in(
    alice: User, haina: Organisation
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get(f"/registry/{haina.pk}/facts/2023/edit/")
    form = response.context["form"]
    assert set(form.fields) == {c.name for c in COLUMNS} - {"uscc", "year"}
    assert form.initial["revenue"] == "61000000.00"
    text = response.content.decode()
    assert "销售收入" in text and "研发费用" in text
    assert (
        english(client)
        .get(f"/registry/{haina.pk}/facts/2023/edit/")
        .content.decode()
        .count("R&amp;D expense")
        >= 1
    )


def test_saving_valid_facts_updates_the_year_and_returns_to_the_organisation(
    alice: User, haina: Organisation
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post(
        f"/registry/{haina.pk}/facts/2023/edit/",
        form_values(haina, 2023, revenue="65,000,000.5", listed="on"),
    )
    assert response.status_code == 302
    assert response["Location"] == f"/registry/{haina.pk}/#facts"
    row = EnterpriseYear.objects.get(organisation=haina, year=2023)
    assert row.revenue == Decimal("65000000.50")
    assert row.listed is True
    assert "2023 年度数据已保存" in client.get(response["Location"]).content.decode()


def test_invalid_facts_are_shown_next_to_the_fields_and_nothing_is_saved(
    dave: User, haina: Organisation
) -> None:
    client = Client()
    client.force_login(dave)
    before = list(EnterpriseYear.objects.filter(organisation=haina).values())
    response = client.post(
        f"/registry/{haina.pk}/facts/2023/edit/",
        form_values(haina, 2023, revenue="-5", st_staff="500", registered_on="2015-02-30",
                    employees=""),
    )  # fmt: skip
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["revenue"] == ["金额不得为负数"]
    assert form.errors["registered_on"] == ["不存在的日期"]
    assert form.errors["employees"] == ["必填项为空"]
    text = response.content.decode()
    assert 'data-testid="error-summary"' in text and "未保存任何数据" in text
    assert "money must not be negative" in text  # the summary gives both languages
    assert list(EnterpriseYear.objects.filter(organisation=haina).values()) == before


def test_errors_are_in_english_after_the_switch(alice: User, haina: Organisation) -> None:
    client = english(Client())
    client.force_login(alice)
    response = client.post(
        f"/registry/{haina.pk}/facts/2023/edit/", form_values(haina, 2023, st_staff="500")
    )
    assert response.context["form"].errors["st_staff"] == [
        "S&T staff cannot exceed the 120 employees"
    ]
    assert "Nothing was saved" in response.content.decode()


def test_adding_a_year_starts_from_the_latest_and_saves_a_new_row(
    dave: User, haina: Organisation
) -> None:
    client = Client()
    client.force_login(dave)
    form = client.get(f"/registry/{haina.pk}/facts/add/").context["form"]
    assert form.initial["year"] == 2024
    values = form_values(haina, 2023, year="2024", revenue="70000000")
    response = client.post(f"/registry/{haina.pk}/facts/add/", values)
    assert response.status_code == 302
    assert EnterpriseYear.objects.get(organisation=haina, year=2024).revenue == Decimal("7e7")


@pytest.mark.parametrize(
    ("year", "message"), [("2023", "2023 年度数据已存在"), ("20x4", "年度应为四位数字")]
)
def test_adding_an_existing_or_malformed_year_is_refused(
    alice: User, haina: Organisation, year: str, message: str
) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post(
        f"/registry/{haina.pk}/facts/add/", form_values(haina, 2023, year=year, revenue="1")
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert EnterpriseYear.objects.get(organisation=haina, year=2023).revenue != Decimal(1)


# -- import ------------------------------------------------------------------------------------

HEADER = [c.name for c in COLUMNS]


def csv_file(rows: list[dict[str, Any]], name: str = "facts.csv") -> SimpleUploadedFile:
    lines = [",".join(HEADER)]
    for row in rows:
        lines.append(",".join(str(row.get(name, "")) for name in HEADER))
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode(), "text/csv")


def good_row(serial: int, year: int = 2023, **changes: Any) -> dict[str, Any]:
    row = facts_row(name=f"青岛测试企业{serial}有限公司", **changes)
    row.update(uscc=make_uscc(serial), year=year)
    return {k: ("" if v is None else str(v).lower() if isinstance(v, bool) else v)
            for k, v in row.items()}  # fmt: skip


def importing(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_good_file_is_imported_and_summarised(alice: User) -> None:
    response = importing(alice).post(
        "/registry/import/", {"file": csv_file([good_row(11), good_row(11, 2022), good_row(12)])}
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-testid="import-ok"' in text
    result = response.context["result"]
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    assert EnterpriseYear.objects.count() == 3
    again = importing(alice).post("/registry/import/", {"file": csv_file([good_row(11)])})
    assert again.context["result"].unchanged == 1


def test_a_bad_file_shows_every_problem_in_both_languages_and_saves_nothing(
    alice: User, haina: Organisation
) -> None:
    rows = [good_row(21), good_row(22, revenue="-3"), good_row(23, st_staff=999),
            {**good_row(24), "uscc": "91370212000000240X"}]  # fmt: skip
    before = (
        EnterpriseYear.objects.count(),
        ImportBatch.objects.count(),
        Organisation.objects.count(),
    )
    response = importing(alice).post("/registry/import/", {"file": csv_file(rows)})
    assert response.status_code == 400
    text = response.content.decode()
    assert 'data-testid="import-errors"' in text and "未保存任何数据" in text
    errors = {(e.row, e.column) for e in response.context["result"].errors}
    assert errors == {(3, "revenue"), (4, "st_staff"), (5, "uscc")}
    assert "金额不得为负数" in text and "money must not be negative" in text
    after = (
        EnterpriseYear.objects.count(),
        ImportBatch.objects.count(),
        Organisation.objects.count(),
    )
    assert after == before


def test_an_htmx_upload_returns_the_import_panel_only(alice: User) -> None:
    response = importing(alice).post(
        "/registry/import/", {"file": csv_file([good_row(31, revenue="x")])},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="import-panel"')
    assert "应为金额" in text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("facts.txt", b"uscc,name\n", "不支持的文件类型 .txt"),
        ("facts", b"uscc,name\n", "不支持的文件类型 （无扩展名）"),
        ("facts.xlsx", b"uscc,name\n", "文件内容不是 XLSX 格式"),
        ("facts.parquet", b"PK\x03\x04rest", "文件内容不是 PARQUET 格式"),
        ("facts.csv", "uscc,名称\n".encode("gb18030"), "CSV 文件不是 UTF-8 编码"),
        ("facts.csv", b"uscc,name\n\x00\x00", "含有二进制内容"),
        ("facts.csv", b"PK\x03\x04\x00\x00", "含有二进制内容"),
    ],
)
def test_an_upload_is_checked_by_extension_and_content_before_reading(
    alice: User, name: str, content: bytes, message: str
) -> None:
    response = importing(alice).post(
        "/registry/import/", {"file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text and "未保存任何数据" in text
    assert ImportBatch.objects.count() == 0


def test_an_upload_larger_than_the_limit_is_refused(alice: User, settings: Any) -> None:
    settings.WOTU_MAX_UPLOAD_BYTES = 100
    response = importing(alice).post(
        "/registry/import/", {"file": csv_file([good_row(41), good_row(42)])}
    )
    assert response.status_code == 400
    assert "文件过大" in response.content.decode()


def test_an_xlsx_upload_is_read_like_a_csv(alice: User) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    row = good_row(51)
    sheet.append([row.get(name, "") for name in HEADER])
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("facts.xlsx", buffer.getvalue())
    response = importing(alice).post("/registry/import/", {"file": upload})
    assert response.context["result"].created == 1


def test_a_file_the_reader_cannot_parse_says_so_and_saves_nothing(alice: User) -> None:
    upload = SimpleUploadedFile("facts.xlsx", b"PK\x03\x04 not really a zip")
    response = importing(alice).post("/registry/import/", {"file": upload})
    assert response.status_code == 400
    assert "无法读取 Excel 文件" in response.content.decode()


# -- export ------------------------------------------------------------------------------------


def test_export_downloads_one_years_facts_in_contract_columns(
    bob: User, haina: Organisation, jiaodong: Organisation, tmp_path: Path
) -> None:
    client = Client()
    client.force_login(bob)
    page = client.get("/registry/export/")
    assert page.context["form"].initial["year"] == 2023
    response = client.get("/registry/export/?year=2023&format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="wotu-facts-2023.csv"'
    lines = response.content.decode().splitlines()
    assert lines[0] == ",".join(HEADER)
    assert len(lines) == 3  # ordered by USCC
    assert lines[1].startswith(f"{jiaodong.uscc},胶东生物科技有限公司,2023,370203,2018-06-15")
    assert lines[2].startswith(f"{haina.uscc},海纳机器人有限公司,2023,370212,2015-03-01")


def test_an_exported_xlsx_imports_back_unchanged(alice: User, haina: Organisation) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/registry/export/?year=2023&format=xlsx")
    assert response.content[:4] == b"PK\x03\x04"
    upload = SimpleUploadedFile("back.xlsx", response.content)
    result = client.post("/registry/import/", {"file": upload}).context["result"]
    assert (result.ok, result.unchanged) == (True, 1), result.errors


def test_exporting_a_year_without_facts_says_so(alice: User, haina: Organisation) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/registry/export/?year=2001&format=csv")
    assert response.status_code == 400
    assert "2001 年度没有数据" in response.content.decode()
