"""`wotu review …`: the expert pool, conflicts, assignment, a stage's progress, closing and
results, the public notice, objections and the decision from the shell — the same services as
the pages, refusals in Chinese and English with exit status 1."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from wotu.core.models import AuditEvent, User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Award, CallStatus, Stage, StageStatus, Status
from wotu.programmes.tests.factories import PIPELINE, SHANGHAI
from wotu.reviews.models import AssignmentRun, Conflict, Expert, Notice
from wotu.reviews.notice import notice_publish, objection_file
from wotu.reviews.services import stage_assign, stage_close
from wotu.reviews.tests.test_stages import (
    affirm_and_score_all,
    expert_make,
    expert_users,
    review_call,
)

pytestmark = pytest.mark.django_db

#: One scored stage, then the notice: closing it draws the funding line.
ONE_STAGE: list[dict[str, Any]] = [
    {**PIPELINE[0], "panel_size": 1, "normalise": False},
    {"kind": "notice"},
    {"kind": "committee"},
]
HEADER = "code,name,organisation,region,title,fields,max_load\n"


def run(*args: str) -> str:
    out = StringIO()
    call_command("review", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> tuple[CommandError, str]:
    """The refusal and what was printed on stderr before it."""
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("review", *args, stdout=StringIO(), stderr=err)
    return caught.value, err.getvalue()


def both(error: CommandError, zh: str, en: str) -> bool:
    return error.returncode == 1 and zh in str(error) and en in str(error)


@pytest.fixture
def stage(alice: User, haina: Organisation, jiaodong: Organisation) -> Stage:
    """A call in review: two applications at its only scored stage, two experts in the pool."""
    _, stage, _ = review_call(applicants=[haina, jiaodong], panel=1, pipeline=ONE_STAGE)
    expert_users(2)
    return stage


@pytest.fixture
def closed(stage: Stage, alice: User) -> Stage:
    """The stage assigned, every assignment affirmed and scored, and closed."""
    stage_assign(stage=stage, actor=alice)
    affirm_and_score_all(stage)
    stage_close(stage=stage, actor=alice)
    return stage


def code_of(stage: Stage) -> str:
    return stage.call.code


# --- the expert pool --------------------------------------------------------------------------


def test_experts_lists_the_pool_filtered_by_field_and_region(hkust: Organisation) -> None:
    expert_make(code="E-CN", name="张工", fields=("electronics",))
    expert_make(code="E-HK", name="陈教授", fields=("biomedicine",), region="HK",
                organisation=hkust)  # fmt: skip
    out = run("experts")
    assert "E-CN  张工" in out and "E-HK  陈教授  香港科技大学  HK" in out
    assert "共 2 位专家 / 2 expert(s)" in out
    assert "E-CN" not in run("experts", "--field", "biomedicine")
    assert "E-HK" in run("experts", "--region", "HK")


def test_experts_import_adds_every_row_of_a_csv(
    alice: User, haina: Organisation, hkust: Organisation, tmp_path: Path
) -> None:
    path = tmp_path / "experts.csv"
    path.write_text(
        HEADER
        + f"E-101,李明,{haina.uscc},CN,教授级高工,electronics;machinery,\n"
        + "E-102,陈大文,HK-UNI-0001,hk,Professor,biomedicine,5\n",
        encoding="utf-8",
    )
    out = run("experts-import", str(path), "--user", "alice", "--quiet")
    assert "已导入 2 位专家" in out and "imported 2 expert(s)" in out
    li = Expert.objects.get(code="E-101")
    assert li.fields == ["electronics", "machinery"] and li.organisation == haina
    chen = Expert.objects.get(code="E-102")
    assert (chen.region, chen.max_load, chen.organisation) == ("HK", 5, hkust)
    assert AuditEvent.objects.filter(action="expert.create").count() == 2


def test_experts_import_reads_xlsx(alice: User, haina: Organisation, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    sheet.append(["E-201", "王芳", haina.uscc, "CN", "", "energy", 8])
    path = tmp_path / "experts.xlsx"
    book.save(path)
    run("experts-import", str(path), "--user", "alice", "--quiet")
    assert Expert.objects.get(code="E-201").max_load == 8


def test_experts_import_reports_every_bad_row_and_imports_nothing(
    alice: User, haina: Organisation, tmp_path: Path
) -> None:
    expert_make(code="E-OLD")
    path = tmp_path / "experts.csv"
    path.write_text(
        HEADER
        + f"E-301,好行,{haina.uscc},CN,,electronics,\n"  # fine on its own
        + "E-302,坏单位,91370212NOSUCH000,CN,,electronics,\n"
        + f"E-303,坏领域,{haina.uscc},CN,,electronics;astrology,\n"
        + f"E-304,坏地区,{haina.uscc},TW,,electronics,x\n"
        + f"E-301,重复,{haina.uscc},CN,,electronics,\n"
        + f"E-OLD,已有,{haina.uscc},CN,,electronics,\n",
        encoding="utf-8",
    )
    error, printed = refused("experts-import", str(path), "--user", "alice", "--quiet")
    assert both(error, "未导入任何内容", "nothing was imported")
    lines = printed.splitlines()
    assert any(line.startswith("row 3, column organisation, value 91370212NOSUCH000:")
               for line in lines)  # fmt: skip
    assert any(line.startswith("第 3 行，列 organisation") for line in lines)
    assert any("row 4, column fields, value electronics;astrology:" in line for line in lines)
    assert any(line.startswith("row 5, column region, value TW:") for line in lines)
    assert any(line.startswith("row 5, column max_load, value x:") for line in lines)
    assert any(line.startswith("row 6, column code, value E-301: duplicates row 2")
               for line in lines)  # fmt: skip
    assert any(line.startswith("row 7, column code, value E-OLD:") and "already taken" in line
               for line in lines)  # fmt: skip
    assert not Expert.objects.filter(code__in=["E-301", "E-302"]).exists()
    assert not AuditEvent.objects.filter(action="expert.create").exists()


def test_experts_import_refuses_a_file_without_the_required_columns(
    alice: User, tmp_path: Path
) -> None:
    path = tmp_path / "experts.csv"
    path.write_text("code,name\nE-1,李明\n", encoding="utf-8")
    error, _ = refused("experts-import", str(path), "--user", "alice")
    assert both(error, "缺少列：organisation, fields", "lacks the column(s) organisation, fields")


@pytest.mark.parametrize("persona", ["bob", "carol", "dave"])
def test_only_a_bureau_officer_imports_experts(
    request: pytest.FixtureRequest, persona: str, tmp_path: Path
) -> None:
    request.getfixturevalue(persona)
    path = tmp_path / "experts.csv"
    path.write_text(HEADER, encoding="utf-8")
    error, _ = refused("experts-import", str(path), "--user", persona)
    assert both(error, "只有科技局工作人员可以管理专家库", "only bureau officers may manage")


# --- conflicts and assignment -----------------------------------------------------------------


def test_conflicts_detect_finds_an_expert_of_the_applicants_own_organisation(
    stage: Stage, alice: User, haina: Organisation
) -> None:
    expert_make(code="E-HAINA", organisation=haina)
    assert "共 0 项" in run("conflicts", code_of(stage), "1", "--user", "alice")
    out = run("conflicts", code_of(stage), "1", "--detect", "--user", "alice")
    assert "检测完成：1 项有效回避 / detected: 1 active conflict(s)" in out
    assert "E-HAINA" in out and "有效 / active" in out
    assert Conflict.objects.filter(expert__code="E-HAINA").count() == 1


def test_assign_prints_the_run_pairs_objective_solver_and_input_hash(
    stage: Stage, alice: User
) -> None:
    out = run("assign", code_of(stage), "1", "--seed", "7", "--user", "alice", "--quiet")
    run_row = AssignmentRun.objects.get(stage=stage)
    assert "分配 / assigned pairs: 2" in out
    assert "目标值（亲和度合计）/ objective (total affinity): 2" in out
    assert f"({run_row.solver_version}); 种子 / seed 7" in out
    assert f"输入哈希 / input sha256: {run_row.input_hash}" in out
    stage.refresh_from_db()
    assert stage.status == StageStatus.SCORING


def test_an_impossible_assignment_prints_the_diagnosis_and_exits_1(
    alice: User, haina: Organisation
) -> None:
    _, stage, _ = review_call(applicants=[haina], panel=3, pipeline=ONE_STAGE)
    expert_users(1)
    error, printed = refused("assign", stage.call.code, "1", "--user", "alice", "--quiet")
    assert both(error, "无法分配专家，原因如上", "no assignment is possible; the diagnosis")
    assert printed.count("  - ") >= 2  # each problem, in Chinese and in English
    stage.refresh_from_db()
    assert stage.status == StageStatus.PENDING and not AssignmentRun.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "carol", "dave"])
def test_only_a_bureau_officer_assigns(
    request: pytest.FixtureRequest, stage: Stage, persona: str
) -> None:
    request.getfixturevalue(persona)
    error, _ = refused("assign", code_of(stage), "1", "--user", persona)
    assert both(error, "只有科技局工作人员可以分配评审专家", "only bureau officers may assign")
    assert not AssignmentRun.objects.exists()


def test_an_unknown_stage_is_refused(stage: Stage, alice: User) -> None:
    error, _ = refused("assign", code_of(stage), "2", "--user", "alice")
    assert both(error, "没有第 2 个评分阶段", "has no scored stage 2")
    error, _ = refused("progress", "no-such-call", "1")
    assert both(error, "申报批次 no-such-call", "call no-such-call")


# --- progress, closing and results ------------------------------------------------------------


def test_progress_counts_declarations_and_scores(stage: Stage, alice: User) -> None:
    stage_assign(stage=stage, actor=alice)
    out = run("progress", code_of(stage), "1")
    assert "评分中 / Scoring" in out
    assert "申请 / applications 2; 分配 / assignments 2" in out
    assert "待声明 / awaiting declaration 2" in out and "已评分 / scored 0%" in out


def test_progress_is_refused_to_an_applicant(stage: Stage, dave: User) -> None:
    error, _ = refused("progress", code_of(stage), "1", "--user", "dave")
    assert both(error, "您的角色无权执行此操作", "your role may not do this")


def test_close_prints_passed_and_failed_and_the_funding_line(stage: Stage, alice: User) -> None:
    stage_assign(stage=stage, actor=alice)
    affirm_and_score_all(stage)
    out = run("close", code_of(stage), "1", "--user", "alice")
    assert "通过 / passed 1, 未通过 / failed 1" in out
    assert "资助线 / funding line: 1 项拟资助 / proposed, 合计 / total CNY 200,000.00" in out
    assert "预算余额 / budget left CNY 13,900,000.00" in out
    assert stage.call.applications.filter(status=Status.NOTICE).count() == 1


def test_close_is_refused_while_scores_are_missing(stage: Stage, alice: User) -> None:
    stage_assign(stage=stage, actor=alice)
    error, _ = refused("close", code_of(stage), "1", "--user", "alice")
    assert both(error, "还有 2 份评分未提交", "still has 2 unscored assignment(s)")


def test_results_come_only_after_the_stage_closes(stage: Stage) -> None:
    error, _ = refused("results", code_of(stage), "1")
    assert both(error, "尚未结束，结束后才有结果", "is not closed yet")


def test_results_list_ranks_and_go_to_csv_without_expert_names(
    closed: Stage, tmp_path: Path
) -> None:
    out = run("results", code_of(closed), "1")
    assert "   1  " in out and "通过 / passed" in out and "未通过 / not passed" in out
    for expert in Expert.objects.all():
        assert expert.code not in out and expert.name not in out
    path = tmp_path / "results.csv"
    run("results", code_of(closed), "1", "--out", str(path))
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["rank"] for r in rows] == ["1", "2"]
    assert [r["passed"] for r in rows] == ["true", "false"]


# --- notice, objections, decision -------------------------------------------------------------


def test_notice_publish_prints_the_window_in_shanghai_time(closed: Stage, alice: User) -> None:
    out = run("notice-publish", code_of(closed), "--working-days", "7", "--user", "alice")
    notice = Notice.objects.get(call=closed.call)
    assert notice.working_days == 7
    closes = notice.closes_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert f"→ {closes}（北京时间，7 个工作日 / Asia/Shanghai, 7 working days)" in out
    assert "公示 1 项，合计 CNY 200,000.00" in out
    closed.call.refresh_from_db()
    assert closed.call.status == CallStatus.NOTICE


def test_notice_publish_is_refused_before_the_review_is_finished(stage: Stage, alice: User) -> None:
    error, _ = refused("notice-publish", code_of(stage), "--user", "alice")
    assert both(error, "仍有申请未完成评审", "still has applications in formal check or review")


@pytest.mark.parametrize("persona", ["bob", "dave"])
def test_only_a_bureau_officer_publishes_or_decides(
    request: pytest.FixtureRequest, closed: Stage, persona: str
) -> None:
    request.getfixturevalue(persona)
    error, _ = refused("notice-publish", code_of(closed), "--user", persona)
    assert both(error, "只有科技局工作人员可以发布公示", "only bureau officers may publish")
    error, _ = refused("decide", code_of(closed), "--minutes", "2026-12", "--user", persona)
    assert both(error, "只有科技局工作人员可以记录", "only bureau officers may record")
    assert not Notice.objects.exists()


def test_objections_lists_each_with_its_receipt_and_outcome(closed: Stage, alice: User) -> None:
    notice = notice_publish(call=closed.call, actor=alice)
    objection = objection_file(
        notice=notice, name="王建国", contact="13812345678",
        text="该项目申报材料中的专利并非申报单位所有，请核实。",
    )  # fmt: skip
    out = run("objections", code_of(closed))
    assert f"N{notice.pk}-{objection.pk:06d}" in out and "王建国 (13812345678)" in out
    assert "共 1 条，未处理 1 条 / 1 objection(s), 1 open" in out


def test_objections_are_refused_to_other_roles_and_before_a_notice(
    closed: Stage, dave: User
) -> None:
    error, _ = refused("objections", code_of(closed), "--user", "dave")
    assert both(error, "只有科技局工作人员可以查看异议", "only a bureau officer may read")
    error, _ = refused("objections", code_of(closed))
    assert both(error, "尚未发布公示", "has no public notice")


def test_decide_after_the_window_prints_the_funded_count_and_total(
    closed: Stage, alice: User
) -> None:
    notice_publish(
        call=closed.call, actor=alice, published_at=dt.datetime(2026, 6, 1, 10, tzinfo=SHANGHAI)
    )
    out = run("decide", code_of(closed), "--minutes", "2026年第12次局务会", "--user", "alice")
    assert "资助 / funded: 1 项 / project(s), 合计 / total CNY 200,000.00" in out
    assert Award.objects.get().amount == Decimal("200000.00")
    closed.call.refresh_from_db()
    assert closed.call.status == CallStatus.DECIDED


def test_decide_is_refused_while_the_notice_window_is_open(closed: Stage, alice: User) -> None:
    notice_publish(call=closed.call, actor=alice)
    error, _ = refused("decide", code_of(closed), "--minutes", "2026-12", "--user", "alice")
    assert both(error, "结束后才能记录决定", "the decision can be recorded only after it closes")
    assert not Award.objects.exists()


def test_the_help_of_each_sub_command_is_in_chinese_and_english(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        call_command("review", "assign", "--help")
    shown = capsys.readouterr().out
    assert "阶段序号（1 起）/ stage order (from 1)" in shown
    assert "随机种子 / seed" in shown
