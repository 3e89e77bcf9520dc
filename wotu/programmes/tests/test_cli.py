"""`wotu programmes …`: what an officer reads and does from the shell — the same services and
selectors as the pages, refusals in Chinese and English with exit status 1."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Call, CallStatus, Status
from wotu.programmes.tests.factories import (
    SHANGHAI,
    application_make,
    call_make,
    first_scored_stage,
    programme_make,
)
from wotu.reviews.models import Expert

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("programmes", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> tuple[CommandError, str]:
    """The refusal and what was printed on stderr before it."""
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("programmes", *args, stdout=StringIO(), stderr=err)
    return caught.value, err.getvalue()


@pytest.fixture
def call(haina: Organisation, jiaodong: Organisation) -> Call:
    """An open call of a 2026 programme with a submitted, an in-review and a draft application."""
    call = call_make(programme=programme_make(code="qz-talent", year=2026), code="qz2026")
    application_make(
        call=call, organisation=haina, status=Status.SUBMITTED, reference="QZ2026-0001",
        title="智能巡检机器人", submitted_at=dt.datetime(2026, 3, 10, 9, tzinfo=SHANGHAI),
    )  # fmt: skip
    application_make(
        call=call, organisation=jiaodong, status=Status.IN_REVIEW, reference="QZ2026-0002",
        stage=first_scored_stage(call), field="biomedicine", title="新型疫苗佐剂",
    )  # fmt: skip
    application_make(call=call, organisation=jiaodong, reference="QZ2026-0003")
    return call


# --- reading --------------------------------------------------------------------------------


def test_list_shows_each_programme_with_its_budget_and_filters_by_year(call: Call) -> None:
    programme_make(code="gz-joint", year=2025, budget=Decimal("60000000.00"))
    out = run("list")
    assert "qz-talent  2026" in out and "gz-joint  2025" in out
    assert "CNY 60,000,000.00" in out
    only_2025 = run("list", "--year", "2025")
    assert "gz-joint" in only_2025 and "qz-talent" not in only_2025
    assert "共 1 个计划 / 1 programme(s)" in only_2025


def test_show_prints_budget_who_may_apply_and_each_calls_stage_states(call: Call) -> None:
    stage = first_scored_stage(call)
    stage.status = "scoring"
    stage.save()
    out = run("show", "qz-talent")
    assert "预算 / budget: CNY 14,100,000.00" in out
    assert "企业、高校、科研院所 / enterprise, university, institute" in out
    assert "港澳单位可牵头 / HK/MO may lead: 是 / yes" in out
    assert "1. 专业评审 / Professional review" in out
    assert "qz2026  受理中 / Accepting applications" in out
    assert "1. 专业评审 / Professional review: 评分中 / Scoring" in out
    assert "2. 答辩评审 / Defence review: 未开始 / Not started" in out


def test_show_refuses_an_unknown_programme_in_both_languages(call: Call) -> None:
    error, _ = refused("show", "no-such-programme")
    assert error.returncode == 1
    assert "找不到计划 no-such-programme" in str(error)
    assert "no programme no-such-programme" in str(error)


def test_an_applicant_may_not_read_programmes(call: Call, dave: User) -> None:
    error, _ = refused("show", "qz-talent", "--user", "dave")
    assert error.returncode == 1
    assert "您的角色无权执行此操作" in str(error) and "your role may not do this" in str(error)


def test_calls_lists_the_calls_and_filters_by_status(call: Call) -> None:
    call_make(code="draft-call", status=CallStatus.DRAFT)
    out = run("calls")
    assert "qz2026  受理中 / Accepting applications" in out and "draft-call  草稿 / Draft" in out
    assert "2026-03-01 09:00 → 2026-03-31 17:00（北京时间 / Beijing time）" in out
    opened = run("calls", "--status", "open")
    assert "qz2026" in opened and "draft-call" not in opened


def test_applications_prints_each_application_with_status_and_stage(call: Call) -> None:
    out = run("applications", "qz2026")
    assert "QZ2026-0001  海纳机器人有限公司  CN  electronics  智能巡检机器人" in out
    assert "已提交 / Submitted" in out
    assert "评审中 / In review  1. 专业评审 / Professional review" in out
    assert "共 3 项申请 / 3 application(s)" in out
    submitted = run("applications", "qz2026", "--status", "submitted")
    assert "QZ2026-0001" in submitted and "QZ2026-0002" not in submitted


def test_applications_are_written_to_csv_without_expert_data(call: Call, tmp_path: Path) -> None:
    out_file = tmp_path / "apps.csv"
    out = run("applications", "qz2026", "--out", str(out_file), "--quiet")
    assert f"wrote 3 application(s) to {out_file}" in out
    with out_file.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "reference", "lead", "region", "field", "title", "requested", "proposed", "status",
        "stage",
    ]  # fmt: skip
    assert rows[0]["reference"] == "QZ2026-0001" and rows[0]["requested"] == "200000.00"
    assert rows[1]["field"] == "biomedicine"
    assert not any("expert" in column for column in rows[0])


def test_applications_are_written_to_xlsx(call: Call, tmp_path: Path) -> None:
    out_file = tmp_path / "apps.xlsx"
    run("applications", "qz2026", "--out", str(out_file), "--quiet")
    sheet = load_workbook(out_file, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "reference" and len(rows) == 4
    assert rows[1][1] == "海纳机器人有限公司"


def test_applications_refuse_an_unknown_call_and_another_file_type(
    call: Call, tmp_path: Path
) -> None:
    error, _ = refused("applications", "nope")
    assert error.returncode == 1 and "找不到申报批次 nope" in str(error)
    assert "no call nope" in str(error)
    error, _ = refused("applications", "qz2026", "--out", str(tmp_path / "apps.txt"))
    assert "请写出 .csv 或 .xlsx 文件" in str(error) and "write a .csv or .xlsx file" in str(error)


# --- writing --------------------------------------------------------------------------------


def test_an_officer_opens_a_draft_call_and_closes_it_for_review(alice: User) -> None:
    draft = call_make(code="gz2026", status=CallStatus.DRAFT)
    opened = run("call-open", "gz2026", "--user", "alice")
    assert "gz2026  受理中 / Accepting applications" in opened
    assert "gz2026  评审中 / In review" in run("call-close", "gz2026", "--user", "alice")
    draft.refresh_from_db()
    assert draft.status == CallStatus.REVIEW
    assert AuditEvent.objects.filter(action="call.status").count() == 2


def test_opening_a_call_twice_is_refused_in_both_languages(call: Call, alice: User) -> None:
    error, _ = refused("call-open", "qz2026", "--user", "alice")
    assert error.returncode == 1
    assert "申报批次 qz2026 当前状态为" in str(error) and "call qz2026 is open" in str(error)


@pytest.mark.parametrize("persona", ["bob", "dave"])
def test_only_a_bureau_officer_opens_or_closes_calls(
    request: pytest.FixtureRequest, call: Call, persona: str
) -> None:
    request.getfixturevalue(persona)
    error, _ = refused("call-close", "qz2026", "--user", persona)
    assert error.returncode == 1
    assert "只有科技局工作人员可以管理计划和申报" in str(error)
    assert "only bureau officers manage programmes" in str(error)
    call.refresh_from_db()
    assert call.status == CallStatus.OPEN


def test_an_unknown_user_is_refused(call: Call) -> None:
    error, _ = refused("call-close", "qz2026", "--user", "mallory")
    assert "找不到用户 mallory" in str(error) and "no active user mallory" in str(error)


def test_formal_check_pass_sends_the_application_to_the_first_scored_stage(
    call: Call, alice: User
) -> None:
    out = run("formal-check", "QZ2026-0001", "--outcome", "pass", "--user", "alice")
    assert "QZ2026-0001: 评审中 / In review; 阶段 / stage: 专业评审 / Professional review" in out
    assert call.applications.get(reference="QZ2026-0001").status == Status.IN_REVIEW


def test_formal_check_return_needs_a_note_and_then_returns_it(call: Call, alice: User) -> None:
    error, _ = refused("formal-check", "QZ2026-0001", "--outcome", "return", "--user", "alice")
    assert error.returncode == 1
    assert "退回或不予受理时须写明理由" in str(error)
    assert "returning or rejecting needs a note" in str(error)
    out = run(
        "formal-check", "QZ2026-0001", "--outcome", "return", "--note", "缺少财务报表",
        "--user", "alice",
    )  # fmt: skip
    assert "退回修改 / Returned for correction" in out
    assert call.applications.get(reference="QZ2026-0001").feedback == "缺少财务报表"


@pytest.mark.parametrize(
    ("persona", "zh", "en"),
    [
        ("bob", "只有科技局工作人员可以管理计划和申报", "only bureau officers manage programmes"),
        ("carol", "您的角色无权执行此操作", "your role may not do this"),
    ],
)
def test_only_a_bureau_officer_runs_the_formal_check(
    request: pytest.FixtureRequest, call: Call, persona: str, zh: str, en: str
) -> None:
    request.getfixturevalue(persona)
    error, _ = refused("formal-check", "QZ2026-0001", "--outcome", "pass", "--user", persona)
    assert error.returncode == 1 and zh in str(error) and en in str(error)
    assert call.applications.get(reference="QZ2026-0001").status == Status.SUBMITTED


def test_formal_check_of_an_unknown_reference_is_refused(call: Call, alice: User) -> None:
    error, _ = refused("formal-check", "QZ2026-9999", "--outcome", "pass", "--user", "alice")
    assert "找不到申请 QZ2026-9999" in str(error) and "no application QZ2026-9999" in str(error)


def test_the_help_of_each_sub_command_is_in_chinese_and_english(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        call_command("programmes", "formal-check", "--help")
    shown = capsys.readouterr().out
    assert "申请编号 / application reference" in shown
    assert "执行人用户名" in shown and "username of who acts" in shown


def test_no_expert_is_ever_named_in_the_applications_listing(
    call: Call, carol: User, haina: Organisation
) -> None:
    Expert.objects.create(user=carol, code="E-CAROL", name="王评审", organisation=haina)
    assert "王评审" not in run("applications", "qz2026")
