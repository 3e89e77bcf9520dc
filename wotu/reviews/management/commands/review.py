"""`wotu review …`: the expert pool, conflicts, assignment, scoring stages, the public notice and
the committee decision from the command line — the same services and selectors as the pages.

    wotu review experts [--field F] [--region R]
    wotu review experts-import FILE --user U
    wotu review conflicts CALL STAGE_ORDER [--detect] --user U
    wotu review assign CALL STAGE_ORDER [--seed N] --user U
    wotu review progress CALL STAGE_ORDER
    wotu review close CALL STAGE_ORDER --user U
    wotu review results CALL STAGE_ORDER [--out FILE]
    wotu review notice-publish CALL [--working-days 5] --user U
    wotu review objections CALL
    wotu review decide CALL --minutes TEXT --user U

``STAGE_ORDER`` is the stage's place in the call's pipeline (1 = the first stage). ``--user``
names who acts (a bureau officer for every write); reading commands take it too and without it
read as a bureau officer. A refusal exits 1 with the reason in Chinese and English; an
expert file with bad rows imports nothing and prints every ``row N, column C, value V: reason``;
an assignment that cannot be made prints the diagnosis, one line per problem.

The expert file (CSV or XLSX, header in row 1): ``code, name, organisation, region, title,
fields, max_load`` — ``organisation`` is the USCC or HK/MO registration number (or the exact
full name), ``region`` CN/HK/MO (default CN), ``fields`` field codes separated by ``;``,
``max_load`` empty or a whole number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from wotu.core import permissions
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
from wotu.ledger.bankfiles import FileRowsError, RowError, cell_text, columns_check, sheet_read
from wotu.organisations.facts_io import table_write
from wotu.organisations.models import Organisation
from wotu.programmes.management.commands.programmes import call_named, shanghai
from wotu.programmes.models import Call, Stage, StageKind, StageStatus, Status
from wotu.programmes.selectors import applications_for_user
from wotu.reviews import decision, notice, selectors
from wotu.reviews.calendar import NOTICE_WORKING_DAYS
from wotu.reviews.fields import BY_CODE
from wotu.reviews.models import Conflict, ConflictSource, ObjectionOutcome
from wotu.reviews.services_experts import REGIONS, conflicts_detect, expert_create
from wotu.reviews.services_stages import StageInfeasible, stage_assign, stage_close

EXPERT_COLUMNS = ("code", "name", "organisation", "region", "title", "fields", "max_load")
EXPERT_REQUIRED = ("code", "name", "organisation", "fields")
EXPERTS_ZH, EXPERTS_EN = "专家名单", "the expert list"
RESULT_COLUMNS = (
    ("rank", "int"), ("reference", "str"), ("lead", "str"), ("title", "str"),
    ("mean", "money"), ("normalised", "money"), ("passed", "bool"), ("feedback", "str"),
)  # fmt: skip


def officer_required(actor: User, zh: str, en: str) -> None:
    """Refuse early, before any lookup, a user whose role may not run a review step (the
    service checks again)."""
    if not permissions.can_manage_programmes(actor):
        raise WotuError(f"只有科技局工作人员可以{zh}", f"only bureau officers may {en}")


def stage_named(*, user: User, code: str, order: int) -> Stage:
    """The scored stage ``order`` of call ``code`` among the stages ``user`` may open."""
    stage = selectors.stage_list_for_user(user=user).filter(call__code=code, order=order).first()
    if stage is None:
        raise WotuError(
            f"申报批次 {code} 没有第 {order} 个评分阶段（或没有该批次）",
            f"call {code} has no scored stage {order} (or there is no such call)",
        )
    return stage


def stage_title(stage: Stage) -> str:
    return f"{stage.call.code} #{stage.order} {bilingual_labels(StageKind(stage.kind))}"


@dataclass(frozen=True)
class ExpertRow:
    """One parsed row of the expert file (row number as in a spreadsheet, header = 1)."""

    number: int
    code: str
    name: str
    organisation: Organisation
    region: str
    title: str
    fields: list[str]
    max_load: int | None


class Command(BaseCommand):
    help = (
        "专家评审 / expert review: experts, experts-import, conflicts, assign, progress, close,"
        " results, notice-publish, objections, decide"
    )

    def add_arguments(self, parser: Any) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        experts = actions.add_parser("experts", help="专家库 / the expert pool")
        experts.add_argument("--field", choices=list(BY_CODE), help="评审领域 / review field")
        experts.add_argument("--region", choices=REGIONS, help="地区 / region")
        experts.add_argument("--user", help=READER_HELP)

        imported = actions.add_parser(
            "experts-import", help="导入专家（全部或全不）/ import experts (all rows or none)"
        )
        imported.add_argument("file", type=Path, help="CSV/XLSX: " + ", ".join(EXPERT_COLUMNS))
        imported.add_argument("--user", required=True, help=USER_HELP)
        imported.add_argument("--quiet", action="store_true", help=QUIET_HELP)

        conflicts = actions.add_parser("conflicts", help="利益冲突 / conflicts of interest")
        self._stage_args(conflicts)
        conflicts.add_argument(
            "--detect", action="store_true", help="先重新检测 / detect conflicts again first"
        )
        conflicts.add_argument("--user", required=True, help=USER_HELP)

        assign = actions.add_parser("assign", help="分配评审专家 / assign the stage's experts")
        self._stage_args(assign)
        assign.add_argument("--seed", type=int, default=0, help="随机种子 / seed (CP-SAT)")
        assign.add_argument("--user", required=True, help=USER_HELP)
        assign.add_argument("--quiet", action="store_true", help=QUIET_HELP)

        progress = actions.add_parser("progress", help="评审进度（仅计数）/ progress (counts)")
        self._stage_args(progress)
        progress.add_argument("--user", help=READER_HELP)

        close = actions.add_parser(
            "close", help="结束阶段：排名、晋级、资助线 / close: ranks, passes, funding line"
        )
        self._stage_args(close)
        close.add_argument("--user", required=True, help=USER_HELP)

        results = actions.add_parser("results", help="已结束阶段的结果 / a closed stage's results")
        self._stage_args(results)
        results.add_argument("--out", type=Path, help="写出 CSV 或 XLSX / write .csv or .xlsx")
        results.add_argument("--user", help=READER_HELP)

        publish = actions.add_parser("notice-publish", help="发布公示 / publish the public notice")
        publish.add_argument("call", help="申报批次代码 / call code")
        publish.add_argument(
            "--working-days", type=int, default=NOTICE_WORKING_DAYS,
            help="公示工作日数 / working days the notice runs (default 5)",
        )  # fmt: skip
        publish.add_argument("--user", required=True, help=USER_HELP)

        objections = actions.add_parser("objections", help="公示异议 / objections to a notice")
        objections.add_argument("call", help="申报批次代码 / call code")
        objections.add_argument("--user", help=READER_HELP)

        decide = actions.add_parser("decide", help="记录评审委员会决定 / record the decision")
        decide.add_argument("call", help="申报批次代码 / call code")
        decide.add_argument(
            "--minutes", required=True, help="会议纪要编号或摘要 / minutes reference"
        )
        decide.add_argument("--user", required=True, help=USER_HELP)

    @staticmethod
    def _stage_args(parser: Any) -> None:
        parser.add_argument("call", help="申报批次代码 / call code")
        parser.add_argument("stage_order", type=int, help="阶段序号（1 起）/ stage order (from 1)")

    def handle(self, *args: Any, **options: Any) -> None:
        handlers = {
            "experts": self._experts,
            "experts-import": self._experts_import,
            "conflicts": self._conflicts,
            "assign": self._assign,
            "progress": self._progress,
            "close": self._close,
            "results": self._results,
            "notice-publish": self._notice_publish,
            "objections": self._objections,
            "decide": self._decide,
        }
        with refusals(self.stderr):
            handlers[options["action"]](options)

    # --- the expert pool ------------------------------------------------------------------------

    def _experts(self, options: dict[str, Any]) -> None:
        filters = selectors.ExpertFilter(
            field=options["field"] or "", region=options["region"] or ""
        )
        experts = selectors.expert_list_for_user(user=reader(options["user"]), filters=filters)
        for e in experts:
            pool = "在库 / in pool" if e.in_pool else "不可分配 / not assignable"
            load = e.max_load if e.max_load is not None else "—"
            self.stdout.write(
                f"{e.code}  {e.name}  {e.organisation.name}  {e.region}  {e.title or '—'}"
                f"  {';'.join(e.fields)}  上限 / max load {load}  {pool}"
            )
        self.stdout.write(f"共 {experts.count()} 位专家 / {experts.count()} expert(s)")

    def _experts_import(self, options: dict[str, Any]) -> None:
        actor = user_named(options["user"])
        officer_required(actor, "管理专家库", "manage the expert pool")
        path: Path = options["file"]
        if not path.is_file():
            raise WotuError(f"找不到文件 {path}", f"file not found: {path}")
        parsed, errors = expert_rows_read(data=path.read_bytes(), name=path.name)
        bar = tqdm(
            parsed, file=progress_stream(self.stderr), disable=options["quiet"], unit="row",
            desc="导入专家 / importing experts", leave=False,
        )  # fmt: skip
        with transaction.atomic():
            for row in bar:
                try:
                    with transaction.atomic():
                        expert_create(
                            actor=actor, code=row.code, name=row.name,
                            organisation=row.organisation, fields=row.fields, region=row.region,
                            title=row.title, max_load=row.max_load,
                        )  # fmt: skip
                except WotuError as exc:
                    errors.append(RowError(row.number, "code", row.code, exc.zh, exc.en))
            bar.close()
            if errors:
                order = {name: i for i, name in enumerate(EXPERT_COLUMNS)}
                errors.sort(key=lambda e: (e.row, order.get(e.column, 99)))
                raise FileRowsError(errors, what_zh=EXPERTS_ZH, what_en=EXPERTS_EN)
        self.stdout.write(f"已导入 {len(parsed)} 位专家\nimported {len(parsed)} expert(s)")

    # --- conflicts and assignment ---------------------------------------------------------------

    def _conflicts(self, options: dict[str, Any]) -> None:
        actor = user_named(options["user"])
        stage = stage_named(user=actor, code=options["call"], order=options["stage_order"])
        if options["detect"]:
            found: list[Conflict] = conflicts_detect(stage=stage, actor=actor)
            self.stdout.write(
                f"检测完成：{len(found)} 项有效回避 / detected: {len(found)} active conflict(s)"
            )
        conflicts = selectors.conflict_list_for_user(user=actor, stage=stage)
        for c in conflicts:
            state = "有效 / active" if c.active else f"已撤销 / dismissed: {c.dismissed_reason}"
            self.stdout.write(
                f"{c.application.reference}  {c.expert.code} {c.expert.name}"
                f"  {bilingual_labels(ConflictSource(c.source))}  {c.detail}  {state}"
            )
        self.stdout.write(f"共 {conflicts.count()} 项 / {conflicts.count()} conflict(s)")

    def _assign(self, options: dict[str, Any]) -> None:
        actor = user_named(options["user"])
        officer_required(actor, "分配评审专家", "assign experts")
        stage = stage_named(user=actor, code=options["call"], order=options["stage_order"])
        bar = tqdm(
            total=1, file=progress_stream(self.stderr), disable=options["quiet"], unit="step",
            desc="检测回避并求解 / conflicts and solving", leave=False,
        )  # fmt: skip
        try:
            run = stage_assign(stage=stage, actor=actor, seed=options["seed"])
            bar.update(1)
        except StageInfeasible as exc:
            for zh, en in exc.problems:
                self.stderr.write(f"  - {zh}")
                self.stderr.write(f"  - {en}")
            raise CommandError(
                f"{stage_title(stage)}：无法分配专家，原因如上\n"
                f"{stage_title(stage)}: no assignment is possible; the diagnosis is above"
            ) from exc
        finally:
            bar.close()
        p = run.parameters
        self.stdout.write(
            f"{stage_title(stage)}\n"
            f"分配 / assigned pairs: {run.pairs}（申请 / applications {p.get('applications')},"
            f" 专家 / experts {p.get('experts')}, 可选配对 / allowed pairs"
            f" {p.get('allowed_pairs')}）\n"
            f"目标值（亲和度合计）/ objective (total affinity): {run.objective:g}\n"
            f"求解器 / solver: {run.solver} ({run.solver_version}); 种子 / seed {run.seed}\n"
            f"输入哈希 / input sha256: {run.input_hash}\n"
            f"运行编号 / run #{run.pk}"
        )

    # --- a stage's progress, closing and results ------------------------------------------------

    def _progress(self, options: dict[str, Any]) -> None:
        user = reader(options["user"])
        stage = stage_named(user=user, code=options["call"], order=options["stage_order"])
        p = selectors.stage_progress_for_user(user=user, stage=stage)
        self.stdout.write(
            f"{stage_title(stage)}: {bilingual_labels(StageStatus(stage.status))}\n"
            f"申请 / applications {p.applications}; 分配 / assignments {p.assignments}\n"
            f"待声明 / awaiting declaration {p.pending}; 已确认无冲突 / affirmed {p.accepted};"
            f" 回避 / declined {p.declined}; 已评分 / scored {p.scored}\n"
            f"已声明 / declared {p.declared_percent}%; 已评分 / scored {p.scored_percent}%"
        )
        if p.short:
            self.stdout.write(f"专家不足 / short of experts: {', '.join(p.short)}")

    def _close(self, options: dict[str, Any]) -> None:
        actor = user_named(options["user"])
        officer_required(actor, "结束评审阶段", "close a stage")
        stage = stage_named(user=actor, code=options["call"], order=options["stage_order"])
        closed = stage_close(stage=stage, actor=actor)
        self.stdout.write(
            f"{stage_title(stage)}: 通过 / passed {closed.passed}, 未通过 / failed {closed.failed}"
        )
        if closed.awarded is None:
            self.stdout.write("通过者进入下一评分阶段 / those passed go on to the next stage")
            return
        proposed = applications_for_user(user=actor, call=stage.call, status=Status.NOTICE)
        self.stdout.write(
            f"资助线 / funding line: {proposed.count()} 项拟资助 / proposed,"
            f" 合计 / total {money(closed.awarded)};"
            f" 预算余额 / budget left {money(closed.remaining)}"
        )

    def _results(self, options: dict[str, Any]) -> None:
        user = reader(options["user"])
        stage = stage_named(user=user, code=options["call"], order=options["stage_order"])
        if stage.status != StageStatus.CLOSED:
            raise WotuError(
                f"{stage.call.code} 第 {stage.order} 阶段尚未结束，结束后才有结果",
                f"stage {stage.order} of {stage.call.code} is not closed yet: results come after"
                " closing",
            )
        out = out_checked(options["out"])
        rows = [
            [r.rank, r.application.reference, r.application.organisation.name,
             r.application.title, r.mean, r.normalised, r.passed, r.feedback]
            for r in selectors.stage_results_for_user(user=user, stage=stage)
        ]  # fmt: skip
        if out is not None:
            table_write(out, columns=RESULT_COLUMNS, rows=rows)
            self.stdout.write(
                f"已写出 {len(rows)} 项结果到 {out}\nwrote {len(rows)} result(s) to {out}"
            )
            return
        for rank, reference, lead, title, mean, normalised, passed, _ in rows:
            shown = f"{mean}" + (f" (z {normalised})" if normalised is not None else "")
            mark = "通过 / passed" if passed else "未通过 / not passed"
            self.stdout.write(f"{rank:>4}  {reference}  {lead}  {title}  {shown}  {mark}")
        self.stdout.write(f"共 {len(rows)} 项 / {len(rows)} result(s)")

    # --- the notice and the decision ------------------------------------------------------------

    def _notice_publish(self, options: dict[str, Any]) -> None:
        actor = user_named(options["user"])
        officer_required(actor, "发布公示", "publish a public notice")
        call = call_named(user=actor, code=options["call"])
        published = notice.notice_publish(
            call=call, actor=actor, working_days=options["working_days"]
        )
        self.stdout.write(
            f"{call.code}: 公示 {len(published.entries)} 项，合计"
            f" {money(notice.notice_total(notice=published))} / on notice:"
            f" {len(published.entries)} project(s)\n"
            f"公示期 / window: {shanghai(published.published_at)} → {shanghai(published.closes_at)}"
            f"（北京时间，{published.working_days} 个工作日 / Asia/Shanghai,"
            f" {published.working_days} working days)"
        )

    def _objections(self, options: dict[str, Any]) -> None:
        user = reader(options["user"])
        call = _notice_call(user=user, code=options["call"])
        published = notice.notice_list_for_user(user=user).filter(call=call).first()
        if published is None:
            raise WotuError(
                f"申报批次 {call.code} 尚未发布公示", f"call {call.code} has no public notice"
            )
        objections = notice.objection_list_for_user(user=user, notice=published)
        for o in objections:
            what = o.application.reference if o.application else "—"
            self.stdout.write(
                f"{notice.objection_receipt(objection=o)}  {shanghai(o.filed_at)}  {o.name}"
                f" ({o.contact})  {what}  {bilingual_labels(ObjectionOutcome(o.outcome))}"
                f"  {o.text[:60]}" + (f"  → {o.resolution}" if o.resolution else "")
            )
        still_open = objections.filter(outcome=ObjectionOutcome.OPEN).count()
        self.stdout.write(
            f"共 {objections.count()} 条，未处理 {still_open} 条 / {objections.count()}"
            f" objection(s), {still_open} open"
        )

    def _decide(self, options: dict[str, Any]) -> None:
        actor = user_named(options["user"])
        officer_required(actor, "记录评审委员会决定", "record the committee decision")
        call = call_named(user=actor, code=options["call"])
        recorded = decision.decision_record(call=call, actor=actor, minutes=options["minutes"])
        funded = decision.funded_list(call=call)
        total = sum((row.amount for row in funded), start=Decimal("0.00"))
        self.stdout.write(
            f"{call.code}: 决定于 / decided {shanghai(recorded.decided_at)}（北京时间 / Beijing"
            f" time）\n资助 / funded: {len(funded)} 项 / project(s), 合计 / total {money(total)}"
        )


def _notice_call(*, user: User, code: str) -> Call:
    """A call for the officer's notice pages: refuse other roles before looking it up."""
    if not permissions.can_resolve_objections(user):
        raise WotuError(
            "只有科技局工作人员可以查看异议", "only a bureau officer may read objections"
        )
    return call_named(user=user, code=code)


def expert_rows_read(*, data: bytes, name: str) -> tuple[list[ExpertRow], list[RowError]]:
    """The expert file's good rows and every bad cell (nothing is written here). Organisations
    are found by USCC, HK/MO registration number or exact full name; ``fields`` are taxonomy
    codes separated by ``;``; a code may appear once in the file. Whether a code is already
    taken is the service's check (reported on the same row)."""
    sheet = sheet_read(data=data, name=name)
    columns_check(sheet=sheet, required=EXPERT_REQUIRED, what_zh=EXPERTS_ZH, what_en=EXPERTS_EN)
    index = {c: sheet.header.index(c) for c in EXPERT_COLUMNS if c in sheet.header}
    rows: list[ExpertRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for offset, cells in enumerate(sheet.rows):
        number = offset + 2
        values = {c: cell_text(cells[i]) for c, i in index.items()}
        row, row_errors = _expert_row_read(number, values)
        code = values.get("code", "")
        if code in seen:
            row_errors.insert(
                0,
                RowError(number, "code", code, f"与第 {seen[code]} 行重复",
                         f"duplicates row {seen[code]}"),
            )  # fmt: skip
        elif code:
            seen[code] = number
        errors += row_errors
        if row is not None and not row_errors:
            rows.append(row)
    return rows, errors


def _expert_row_read(
    number: int, values: dict[str, str]
) -> tuple[ExpertRow | None, list[RowError]]:
    """One row's cells read into an :class:`ExpertRow`, or None with the bad cells."""
    errors: list[RowError] = []

    def bad(column: str, zh: str, en: str) -> None:
        errors.append(RowError(number, column, values.get(column, ""), zh, en))

    for column in EXPERT_REQUIRED:
        if not values.get(column):
            bad(column, "必填项为空", "a value is required")
    organisation = None
    if values.get("organisation"):
        organisation = selectors.organisation_match(text=values["organisation"])
        if organisation is None:
            bad(
                "organisation",
                "找不到该单位（请填统一社会信用代码或港澳登记编号）",
                "no such organisation (give its USCC or HK/MO registration number)",
            )
    region = (values.get("region") or "CN").upper()
    if region not in REGIONS:
        bad("region", "地区应为 CN、HK 或 MO", "the region must be CN, HK or MO")
    text = values.get("fields", "").replace("；", ";")
    fields = [f.strip() for f in text.split(";") if f.strip()]
    unknown = [f for f in fields if f not in BY_CODE]
    if unknown:
        bad(
            "fields",
            f"领域代码 {', '.join(unknown)} 不在领域目录中（可用：{', '.join(BY_CODE)}）",
            f"field code(s) {', '.join(unknown)} are not in the taxonomy"
            f" (use: {', '.join(BY_CODE)})",
        )
    max_load = _whole_or_none(values.get("max_load", ""))
    if max_load is not None and max_load < 1:
        bad("max_load", "应为正整数或留空", "must be a whole number above 0, or empty")
    if errors or organisation is None:
        return None, errors
    row = ExpertRow(
        number=number, code=values["code"], name=values["name"], organisation=organisation,
        region=region, title=values.get("title", ""), fields=fields, max_load=max_load,
    )  # fmt: skip
    return row, errors


def _whole_or_none(text: str) -> int | None:
    """An empty cell is None; ``12`` or Excel's ``12.0`` is 12; anything else is 0 (refused)."""
    if not text:
        return None
    try:
        return int(text.removesuffix(".0"))
    except ValueError:
        return 0
