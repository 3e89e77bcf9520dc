"""`wotu programmes …`: programmes, calls and applications from the command line — the same
services and selectors as the pages and the API, nothing decided here.

    wotu programmes list [--year Y]
    wotu programmes show CODE
    wotu programmes calls [--status S]
    wotu programmes applications CALL [--status S] [--out FILE.csv|.xlsx]
    wotu programmes call-open|call-close CALL --user U
    wotu programmes formal-check REFERENCE --outcome pass|return|reject [--note TEXT] --user U

``--user`` names who acts; their role is checked as in the web pages. The reading commands take
``--user`` too (then they show what that user may see) and without it read as a bureau officer:
whoever runs the shell already holds the database. A refusal exits 1 with the reason in Chinese
and English; a file with bad rows prints every ``row N, column C, value V: reason`` first.

The general helpers (refusals, who acts, bilingual labels, ``--out`` checks) come from
:mod:`wotu.core.cli_support`; :func:`call_named` and :func:`shanghai` are shared with
``wotu review``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import translation
from tqdm import tqdm

from wotu.core.cli_support import (
    QUIET_HELP,
    READER_HELP,
    USER_HELP,
    bilingual_labels,
    money,
    out_checked,
    progress_stream,
    reader,
    refusals,
    user_named,
)
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.organisations.facts_io import table_write
from wotu.programmes import selectors, services
from wotu.programmes.eligibility import rule_get
from wotu.programmes.models import Application, Call, CallStatus, Programme, StageKind, Status
from wotu.programmes.pipeline import funding_rule
from wotu.programmes.workflow import STATUS_ZH

CALL_STATUS_ZH = {
    CallStatus.DRAFT: "草稿",
    CallStatus.OPEN: "受理中",
    CallStatus.REVIEW: "评审中",
    CallStatus.NOTICE: "公示中",
    CallStatus.DECIDED: "已决定",
}
KIND_ZH = {"enterprise": "企业", "university": "高校", "institute": "科研院所"}
REGION_ZH = {"CN": "内地", "HK": "香港", "MO": "澳门"}
APPLICATION_COLUMNS = (
    ("reference", "str"), ("lead", "str"), ("region", "str"), ("field", "str"), ("title", "str"),
    ("requested", "money"), ("proposed", "money"), ("status", "str"), ("stage", "str"),
)  # fmt: skip


# --- shared with `wotu review` ------------------------------------------------------------------


def call_named(*, user: User, code: str) -> Call:
    """A call by code among those ``user`` may open; the same refusal whether it does not exist
    or is not theirs to see."""
    call = selectors.call_list_for_user(user=user).filter(code=code).first()
    if call is None:
        raise WotuError(f"找不到申报批次 {code}", f"no call {code}")
    return call


def shanghai(moment: Any) -> str:
    return services.shanghai(moment)


# --- the command --------------------------------------------------------------------------------


class Command(BaseCommand):
    help = (
        "计划、申报批次与申请 / programmes, calls and applications: list, show, calls,"
        " applications, call-open, call-close, formal-check"
    )

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listed = actions.add_parser("list", help="列出计划 / list the programmes")
        listed.add_argument("--year", type=int, help="年度 / year")
        listed.add_argument("--user", help=READER_HELP)

        show = actions.add_parser(
            "show", help="计划详情：预算、申报资格、评审流程及各阶段状态 / one programme in full"
        )
        show.add_argument("code", help="计划代码 / programme code")
        show.add_argument("--user", help=READER_HELP)

        calls = actions.add_parser("calls", help="列出申报批次 / list the calls")
        calls.add_argument("--status", choices=CallStatus.values, help="批次状态 / call status")
        calls.add_argument("--user", help=READER_HELP)

        apps = actions.add_parser(
            "applications", help="批次的申请（不含专家信息）/ a call's applications (no experts)"
        )
        apps.add_argument("call", help="申报批次代码 / call code")
        apps.add_argument("--status", choices=Status.values, help="申请状态 / application status")
        apps.add_argument("--out", type=Path, help="写出 CSV 或 XLSX / write a .csv or .xlsx file")
        apps.add_argument("--user", help=READER_HELP)
        apps.add_argument("--quiet", action="store_true", help=QUIET_HELP)

        for name, text in (
            ("call-open", "开始受理申报 / open a draft call"),
            ("call-close", "截止受理并进入评审 / close an open call for review"),
        ):
            step = actions.add_parser(name, help=text)
            step.add_argument("call", help="申报批次代码 / call code")
            step.add_argument("--user", required=True, help=USER_HELP)

        check = actions.add_parser("formal-check", help="形式审查 / the formal check")
        check.add_argument("reference", help="申请编号 / application reference")
        check.add_argument(
            "--outcome", required=True, choices=services.FORMAL_OUTCOMES,
            help="pass 通过（进入评审）/ return 退回修改 / reject 不予受理",
        )  # fmt: skip
        check.add_argument(
            "--note",
            default="",
            help="说明（退回或不予受理时必填）/ note (needed to return/reject)",
        )
        check.add_argument("--user", required=True, help=USER_HELP)

    def handle(self, *args: Any, **options: Any) -> None:
        with refusals(self.stderr):
            action = options["action"]
            if action == "list":
                self._list(options)
            elif action == "show":
                self._show(options)
            elif action == "calls":
                self._calls(options)
            elif action == "applications":
                self._applications(options)
            elif action in {"call-open", "call-close"}:
                self._call_status(options)
            else:
                self._formal_check(options)

    # --- reading --------------------------------------------------------------------------------

    def _list(self, options: dict[str, Any]) -> None:
        programmes = selectors.programme_list_for_user(user=reader(options["user"]))
        if options["year"] is not None:
            programmes = programmes.filter(year=options["year"])
        for p in programmes:
            self.stdout.write(
                f"{p.code}  {p.year}  {p.title} / {p.title_en}  {money(p.budget)}"
                f"  ({getattr(p, 'call_count', 0)} 个批次 / calls)"
            )
        self.stdout.write(f"共 {programmes.count()} 个计划 / {programmes.count()} programme(s)")

    def _show(self, options: dict[str, Any]) -> None:
        user = reader(options["user"])
        programme = (
            selectors.programme_list_for_user(user=user).filter(code=options["code"]).first()
        )
        if programme is None:
            raise WotuError(f"找不到计划 {options['code']}", f"no programme {options['code']}")
        for line in programme_lines(programme):
            self.stdout.write(line)
        calls = selectors.call_list_for_user(user=user).filter(programme=programme)
        self.stdout.write("申报批次及评审进度 / calls and their review stages:")
        for call in calls:
            self.stdout.write(call_line(call))
            with translation.override("zh-hans"):
                zh = selectors.call_pipeline(call=call)
            with translation.override("en"):
                en = selectors.call_pipeline(call=call)
            for step_zh, step_en in zip(zh, en, strict=True):
                self.stdout.write(
                    f"    {step_zh.order}. {step_zh.label} / {step_en.label}:"
                    f" {step_zh.state_label} / {step_en.state_label}"
                )
        if not calls:
            self.stdout.write("  （尚无批次）/ (no calls yet)")

    def _calls(self, options: dict[str, Any]) -> None:
        calls = selectors.call_list_for_user(user=reader(options["user"]))
        if options["status"]:
            calls = calls.filter(status=options["status"])
        for call in calls:
            self.stdout.write(call_line(call))
        self.stdout.write(f"共 {calls.count()} 个批次 / {calls.count()} call(s)")

    def _applications(self, options: dict[str, Any]) -> None:
        user = reader(options["user"])
        call = call_named(user=user, code=options["call"])
        out = out_checked(options["out"])
        applications = selectors.applications_for_user(
            user=user, call=call, status=options["status"] or ""
        )
        bar = tqdm(
            applications, total=applications.count(), file=progress_stream(self.stderr),
            disable=options["quiet"] or out is None, unit="row", leave=False,
            desc="读取申请 / reading applications",
        )  # fmt: skip
        rows = [application_row(a) for a in bar]
        if out is None:
            for row in rows:
                self.stdout.write("  ".join("—" if v is None else str(v) for v in row))
            self.stdout.write(f"共 {len(rows)} 项申请 / {len(rows)} application(s)")
            return
        table_write(out, columns=APPLICATION_COLUMNS, rows=rows)
        self.stdout.write(
            f"已写出 {len(rows)} 项申请到 {out}\nwrote {len(rows)} application(s) to {out}"
        )

    # --- writing --------------------------------------------------------------------------------

    def _call_status(self, options: dict[str, Any]) -> None:
        actor = user_named(options["user"])
        call = call_named(user=actor, code=options["call"])
        service = services.call_open if options["action"] == "call-open" else services.call_close
        call = service(actor=actor, call=call)
        self.stdout.write(call_line(call))

    def _formal_check(self, options: dict[str, Any]) -> None:
        actor = user_named(options["user"])
        reference = options["reference"]
        application = (
            selectors.applications_for_user(user=actor).filter(reference=reference).first()
        )
        if application is None:
            raise WotuError(f"找不到申请 {reference}", f"no application {reference}")
        application = services.application_formal_check(
            application=application, actor=actor, outcome=options["outcome"], note=options["note"]
        )
        status = Status(application.status)
        stage = ""
        if application.stage is not None:
            stage = f"; 阶段 / stage: {bilingual_labels(StageKind(application.stage.kind))}"
        self.stdout.write(f"{application.reference}: {STATUS_ZH[status]} / {str_en(status)}{stage}")


# --- lines --------------------------------------------------------------------------------------


def str_en(choice: Any) -> str:
    with translation.override("en"):
        return str(choice.label)


def call_line(call: Call) -> str:
    status = CallStatus(call.status)
    return (
        f"{call.code}  {CALL_STATUS_ZH[status]} / {str_en(status)}  {call.title} / {call.title_en}"
        f"  {shanghai(call.opens_at)} → {shanghai(call.closes_at)}（北京时间 / Beijing time）"
    )


def _yes(value: bool) -> str:
    return "是 / yes" if value else "否 / no"


def programme_lines(programme: Programme) -> list[str]:
    """What `programmes show` prints about the programme itself (its calls follow)."""
    rule, share = funding_rule(funding=programme.funding)
    funding = f"{rule}" + (f"（最低比例 / min share {share}）" if rule == "partial" else "")
    lines = [
        f"{programme.code}  {programme.title} / {programme.title_en}  ({programme.year})",
        f"预算 / budget: {money(programme.budget)};"
        f" 单项上限 / maximum per application: {money(programme.max_award)}",
        "申报单位 / who may apply: "
        + "、".join(KIND_ZH.get(k, k) for k in programme.kinds)
        + f" / {', '.join(programme.kinds)};"
        + " 地区 / regions: "
        + "、".join(REGION_ZH.get(r, r) for r in programme.regions)
        + f" / {', '.join(programme.regions)};"
        + f" 港澳单位可牵头 / HK/MO may lead: {_yes(programme.hkmo_may_lead)}",
    ]
    rules = [rule_get(r) for r in programme.eligibility]
    lines.append(
        "资格条件 / eligibility: "
        + ("; ".join(f"{r.id} {r.label_zh} / {r.label_en}" for r in rules) or "无 / none")
    )
    lines.append(f"资助规则 / funding rule: {funding}")
    lines.append("评审流程 / review pipeline:")
    for order, spec in enumerate(programme.pipeline, start=1):
        kind = StageKind(spec["kind"])
        text = f"  {order}. {bilingual_labels(kind)}"
        if spec.get("panel_size"):
            text += (
                f"  专家 / panel {spec['panel_size']}, 上限 / max load {spec.get('max_load')},"
                f" 晋级 / pass {json.dumps(spec.get('pass_rule'), ensure_ascii=False)}"
            )
        lines.append(text)
    return lines


def application_row(application: Application) -> list[Any]:
    """One row of `programmes applications`: never an expert's name or score."""
    status = Status(application.status)
    stage = application.stage
    return [
        application.reference,
        application.organisation.name,
        application.organisation.region,
        application.field,
        application.title,
        application.requested,
        application.proposed,
        f"{STATUS_ZH[status]} / {str_en(status)}",
        f"{stage.order}. {bilingual_labels(StageKind(stage.kind))}" if stage else None,
    ]
