"""The calls of the demo, built from the synthetic city through the real services.

- A **Quanzhou-size** talent-project call (seed §5): 245 applications in 5 fields (fewer when the
  demo city is small), formal check, three scored stages with 150 experts, the funding line under
  CNY 14.1 M — and now **on public notice**, so the public can file objections.
- A **Guangzhou-style** joint research call (seed §1): HK/Macao universities lead or apply alone,
  mainland leads bring HK/Macao partners, at least one HK/Macao expert on every cross-border
  panel; **in professional review**, half-scored, so the demo expert has work to do.
- An **open** call for the demo applicant to draft and submit in.

The story happens in the past: services run under a demo clock (``timezone.now`` patched) that
moves from the call's opening, weeks ago, to today, so every record and audit event carries a
believable time; the notice is published at the real time of the build so its window is open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from wotu.core.models import Role, User
from wotu.organisations.models import EnterpriseYear, Kind, Organisation
from wotu.programmes import services as programmes
from wotu.programmes import synth_calls as sc
from wotu.programmes.models import Application, Call, Programme, Stage, StageKind, Status
from wotu.reviews import notice as notices
from wotu.reviews import services_experts as experts_services
from wotu.reviews import services_stages as stages
from wotu.reviews.models import AdmissionCondition, Assignment, AssignmentStatus, Expert

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUANZHOU = "qz-talent-2026"
GUANGZHOU = "gz-hkmo-joint-2026"
OPEN_CALL = "qd-sme-innovation-2027"

RUBRIC = [
    {"code": "innovation", "label_zh": "技术创新性", "label_en": "Innovation", "weight": "0.35",
     "min": 0, "max": 100},
    {"code": "team", "label_zh": "团队实力", "label_en": "Team", "weight": "0.25", "min": 0,
     "max": 100},
    {"code": "market", "label_zh": "产业化前景", "label_en": "Market prospects", "weight": "0.25",
     "min": 0, "max": 100},
    {"code": "plan", "label_zh": "实施方案与预算", "label_en": "Plan and budget", "weight": "0.15",
     "min": 0, "max": 100},
]  # fmt: skip
FORM = [
    {"name": "summary", "type": "text", "label_zh": "项目摘要", "label_en": "Summary",
     "required": True, "max_length": 2000},
    {"name": "start", "type": "date", "label_zh": "计划开始日期", "label_en": "Planned start",
     "required": True},
    {"name": "plan", "type": "file", "label_zh": "项目申报书（PDF）", "label_en": "Proposal (PDF)",
     "required": True, "kinds": ["pdf"]},
]  # fmt: skip
BUDGET_LINES = [
    {"code": "equipment", "label_zh": "设备费", "label_en": "Equipment"},
    {"code": "staff", "label_zh": "劳务费", "label_en": "Staff"},
    {"code": "other", "label_zh": "其他直接费用", "label_en": "Other direct costs"},
]


def _pipeline(*, panel: int, hkmo: int = 0) -> list[dict[str, Any]]:
    return [
        {"kind": "professional", "panel_size": panel, "max_load": 8, "min_hkmo": hkmo,
         "rubric": RUBRIC, "pass_rule": {"top_share": 0.5}, "normalise": True},
        {"kind": "defence", "panel_size": 3, "max_load": 8, "rubric": RUBRIC,
         "pass_rule": {"top_share": 0.6}, "normalise": True},
        {"kind": "site", "panel_size": 2, "max_load": 6, "rubric": RUBRIC,
         "pass_rule": {"min_score": 55}, "exclude_experts_of": [1]},
        {"kind": "notice"},
        {"kind": "committee"},
    ]  # fmt: skip


class Clock:
    """The demo's time: starts in the past and only moves forward."""

    def __init__(self, start: dt.datetime) -> None:
        self.at = start

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


@contextmanager
def _clock(clock: Clock) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", clock):
        yield


def _pdf(title: str) -> SimpleUploadedFile:
    """A one-page PDF; the content is a placeholder proposal, the file is a real PDF."""
    body = b"BT /F1 12 Tf 72 720 Td (Wotu demo proposal) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return SimpleUploadedFile(f"{title[:20]}.pdf", bytes(out), content_type="application/pdf")


def _applicant_user(organisation: Organisation) -> User:
    """The applicant account of an organisation that applies in the demo (no password: these
    accounts exist so the services see a real applicant; the demo login is `applicant`)."""
    existing = User.objects.filter(role=Role.APPLICANT, organisation=organisation).first()
    if existing is not None:
        return existing
    user = User(username=f"org-{organisation.pk}", role=Role.APPLICANT, organisation=organisation)
    user.set_unusable_password()
    user.save()
    return user


def _apply(
    *, call: Call, spec: sc.ApplicationSpec, lead: Organisation, partners: list[Organisation],
    clock: Clock,
) -> Application:  # fmt: skip
    user = _applicant_user(lead)
    application = programmes.application_draft_save(
        actor=user, call=call, title=spec.title, field=spec.field,
        answers={"summary": spec.summary, "start": spec.start.isoformat()},
        partners=[p.pk for p in partners], budget=spec.budget, requested=spec.requested,
        files={"plan": _pdf(spec.title)},
    )  # fmt: skip
    clock.advance(minutes=37)
    return programmes.application_submit(actor=user, application=application)


def _enterprises() -> list[Organisation]:
    newest = EnterpriseYear.objects.order_by("-year").values_list("year", flat=True).first()
    ids = (
        EnterpriseYear.objects.filter(year=newest or 0)
        .order_by("organisation__uscc")
        .values_list("organisation_id", flat=True)
    )
    by_id = Organisation.objects.in_bulk(list(ids))
    return [by_id[i] for i in ids]


def _reserve(firms: int) -> int:
    """How many firms (the last by USCC) lend experts to the pool instead of applying."""
    return min(40, firms // 5)


def _experts_ensure(*, bureau: User, expert_login: User, seed: int) -> list[Expert]:
    """150 experts from the city's universities, institutes and firms and from HK/Macao
    (admitted against every admission condition); the demo login is the first one."""
    if Expert.objects.exists():
        return list(Expert.objects.order_by("code"))
    homes = list(
        Organisation.objects.filter(kind__in=[Kind.UNIVERSITY, Kind.INSTITUTE]).order_by("id")
    )
    firms = _enterprises()
    homes += firms[-_reserve(len(firms)) :]
    fields = sc.QUANZHOU_FIELDS + sc.GUANGZHOU_FIELDS
    specs = sc.expert_pool(organisations=[o.region for o in homes], seed=seed, fields=fields)
    conditions = list(AdmissionCondition.objects.filter(active=True).values_list("code", flat=True))
    made = []
    for n, spec in enumerate(specs):
        if n == 0:
            account = expert_login
            spec_fields: tuple[str, ...] = fields
        else:
            account = User(username=f"expert-{spec.code.lower()}", role=Role.EXPERT)
            account.set_unusable_password()
            account.save()
            spec_fields = spec.fields
        expert = experts_services.expert_create(
            actor=bureau, code=spec.code, name=spec.name, organisation=homes[spec.organisation],
            fields=list(spec_fields), region=spec.region, title=spec.title, account=account,
        )  # fmt: skip
        if expert.region != "CN":
            expert = experts_services.expert_admit(expert=expert, actor=bureau, ticked=conditions)
        made.append(expert)
    return made


def _score_all(*, stage: Stage, seed: int, specs: dict[int, sc.ApplicationSpec],
               experts: dict[int, sc.ExpertSpec], share: float = 1.0,
               skip: int | None = None) -> None:  # fmt: skip
    """Every assigned expert affirms no conflict and scores (``share`` of the pairs only, in a
    stable order; none of expert ``skip``'s), from the synthetic merit of the application and
    the expert's leniency."""
    criteria = [c["code"] for c in stage.rubric]
    pairs = list(
        Assignment.objects.filter(stage=stage, status=AssignmentStatus.PENDING)
        .exclude(expert_id=skip or 0)
        .select_related("expert__user")
        .order_by("application_id", "expert_id")
    )
    for assignment in pairs[: int(len(pairs) * share)]:
        user = assignment.expert.user
        stages.assignment_declare(assignment=assignment, expert_user=user, no_conflict=True)
        marks = sc.marks_draw(
            application=specs[assignment.application_id],
            expert=experts[assignment.expert_id], criteria=criteria, seed=seed,
        )  # fmt: skip
        stages.score_submit(assignment=assignment, expert_user=user, marks=marks)


def _run_stage(
    *, stage: Stage, bureau: User, clock: Clock, seed: int,
    specs: dict[int, sc.ApplicationSpec], experts: dict[int, sc.ExpertSpec],
) -> None:  # fmt: skip
    experts_services.conflicts_detect(stage=stage, actor=bureau)
    stages.stage_assign(stage=stage, actor=bureau, seed=seed)
    clock.advance(days=2)
    _score_all(stage=stage, seed=seed, specs=specs, experts=experts)
    clock.advance(days=6)
    stages.stage_close(stage=stage, actor=bureau)
    clock.advance(days=3)


def _expert_specs(pool: list[Expert], seed: int) -> dict[int, sc.ExpertSpec]:
    fields = sc.QUANZHOU_FIELDS + sc.GUANGZHOU_FIELDS
    regions = [e.region for e in pool]
    specs = sc.expert_pool(organisations=regions, seed=seed, fields=fields, size=len(pool))
    return {expert.pk: spec for expert, spec in zip(pool, specs, strict=True)}


def quanzhou_build(*, bureau: User, pool: list[Expert], seed: int, now: dt.datetime) -> str:
    if Programme.objects.filter(code=QUANZHOU).exists():
        return "泉州规模申报已存在 / the Quanzhou-size call exists"
    firms = _enterprises()
    eligible = len(firms) - _reserve(len(firms))  # the last firms host experts, not apply
    count = min(sc.QUANZHOU_APPLICATIONS, eligible - eligible // 10)
    budget = (sc.QUANZHOU_BUDGET * count / sc.QUANZHOU_APPLICATIONS).quantize(Decimal("0.01"))
    clock = Clock(now - dt.timedelta(days=75))
    with _clock(clock):
        programme = programmes.programme_create(
            actor=bureau, code=QUANZHOU, title="高层次人才创新创业项目（2026 年度）",
            title_en="High-level talent innovation and entrepreneurship projects (2026)",
            year=2026, budget=budget, kinds=["enterprise"], regions=["CN"],
            pipeline=_pipeline(panel=3), max_award=Decimal("500000.00"), form=FORM,
            budget_lines=BUDGET_LINES,
            description="五个领域：机械装备与智能制造、电子信息、新能源与节能、生物医药、生态环境。"
            "评审：专业评审 → 答辩评审 → 实地考察 → 公示 → 联席会议决策。",
        )  # fmt: skip
        call = programmes.call_create(
            actor=bureau, programme=programme, code=QUANZHOU, title=programme.title,
            title_en=programme.title_en, opens_at=clock.at + dt.timedelta(hours=1),
            closes_at=clock.at + dt.timedelta(days=30),
        )  # fmt: skip
        programmes.call_open(actor=bureau, call=call)
        clock.advance(hours=2)
        specs = sc.quanzhou_applications(applicants=eligible, seed=seed, count=count)
        by_app: dict[int, sc.ApplicationSpec] = {}
        for spec in specs:
            application = _apply(call=call, spec=spec, lead=firms[spec.applicant], partners=[],
                                 clock=clock)  # fmt: skip
            by_app[application.pk] = spec
        clock.at = call.closes_at + dt.timedelta(hours=1)
        programmes.call_close(actor=bureau, call=call)
        _formal_checks(call=call, bureau=bureau, clock=clock)
        experts = _expert_specs(pool, seed)
        for stage in call.stages.filter(kind__in=[StageKind.PROFESSIONAL, StageKind.DEFENCE,
                                                  StageKind.SITE]).order_by("order"):  # fmt: skip
            _run_stage(stage=stage, bureau=bureau, clock=clock, seed=seed, specs=by_app,
                       experts=experts)  # fmt: skip
    notice = notices.notice_publish(call=call, actor=bureau)
    proposed = call.applications.filter(status=Status.NOTICE).count()
    return (
        f"{count} 份申请，{proposed} 项公示中（{notice.closes_at:%Y-%m-%d} 截止）/ "
        f"{count} applications, {proposed} on public notice until {notice.closes_at:%Y-%m-%d}"
    )


def _formal_checks(*, call: Call, bureau: User, clock: Clock) -> None:
    """Pass all but two: one returned for correction (corrected and passed later), one
    rejected (both with a note the applicant reads)."""
    submitted = list(call.applications.filter(status=Status.SUBMITTED).order_by("reference"))
    for n, application in enumerate(submitted):
        outcome, note = "pass", ""
        if n == 3:
            outcome, note = "return", "预算表中设备费明细缺少报价单，请补充后重新提交。"
        elif n == 7:
            outcome, note = "reject", "申报单位注册地不在本市，不符合申报条件。"
        programmes.application_formal_check(
            application=application, actor=bureau, outcome=outcome, note=note
        )
        clock.advance(minutes=9)
    # The returned one is corrected and resubmitted two days later, then passes.
    for application in call.applications.filter(status=Status.RETURNED):
        clock.advance(days=2)
        user = _applicant_user(application.organisation)
        programmes.application_submit(actor=user, application=application)
        programmes.application_formal_check(application=application, actor=bureau, outcome="pass")


def guangzhou_build(
    *, bureau: User, pool: list[Expert], applicant_login: User, seed: int, now: dt.datetime
) -> str:
    if Programme.objects.filter(code=GUANGZHOU).exists():
        return "穗港澳联合申报已存在 / the cross-border call exists"
    mainland = [o for o in _enterprises()[:60] if o.pk != applicant_login.organisation_id]
    mainland += list(Organisation.objects.filter(kind=Kind.UNIVERSITY, region="CN"))
    hkmo = list(Organisation.objects.exclude(region="CN").exclude(kind=Kind.BANK).order_by("id"))
    specs = sc.guangzhou_applications(mainland=len(mainland), hkmo=len(hkmo), seed=seed)
    everyone = mainland + hkmo
    clock = Clock(now - dt.timedelta(days=40))
    with _clock(clock):
        programme = programmes.programme_create(
            actor=bureau, code=GUANGZHOU, title="穗港澳联合基础研究项目（2026 年度）",
            title_en="Joint basic research with Hong Kong and Macao (2026)", year=2026,
            budget=sc.GUANGZHOU_BUDGET, kinds=["enterprise", "university", "institute"],
            regions=["CN", "HK", "MO"], hkmo_may_lead=True, pipeline=_pipeline(panel=3, hkmo=1),
            max_award=Decimal("3000000.00"), form=FORM, budget_lines=BUDGET_LINES,
            description="港澳高校和科研机构可牵头或独立申报（粤府〔2019〕1号）；经费可直接拨付港澳。",
        )  # fmt: skip
        call = programmes.call_create(
            actor=bureau, programme=programme, code=GUANGZHOU, title=programme.title,
            title_en=programme.title_en, opens_at=clock.at + dt.timedelta(hours=1),
            closes_at=clock.at + dt.timedelta(days=25),
        )  # fmt: skip
        programmes.call_open(actor=bureau, call=call)
        clock.advance(hours=2)
        by_app: dict[int, sc.ApplicationSpec] = {}
        own = applicant_login.organisation
        for n, spec in enumerate(specs):
            lead = own if n == 1 and own is not None else everyone[spec.applicant]
            partners = [everyone[p] for p in spec.partners]
            application = _apply(call=call, spec=spec, lead=lead, partners=partners, clock=clock)
            by_app[application.pk] = spec
        clock.at = call.closes_at + dt.timedelta(hours=1)
        programmes.call_close(actor=bureau, call=call)
        for application in call.applications.filter(status=Status.SUBMITTED):
            programmes.application_formal_check(application=application, actor=bureau,
                                                outcome="pass")  # fmt: skip
            clock.advance(minutes=11)
        stage = call.stages.get(order=1)
        experts_services.conflicts_detect(stage=stage, actor=bureau)
        stages.stage_assign(stage=stage, actor=bureau, seed=seed)
        clock.advance(days=3)
        # Most experts have scored; the demo expert (pool[0]) has not, so the login has work.
        _score_all(stage=stage, seed=seed, specs=by_app, experts=_expert_specs(pool, seed),
                   share=0.7, skip=pool[0].pk)  # fmt: skip
    cross = sum(a.is_cross_border for a in call.applications.all())
    return (
        f"{len(specs)} 份申请（{cross} 份跨境），专业评审进行中 / "
        f"{len(specs)} applications ({cross} cross-border), professional review under way"
    )


def open_call_build(*, bureau: User, now: dt.datetime) -> str:
    if Programme.objects.filter(code=OPEN_CALL).exists():
        return "开放申报已存在 / the open call exists"
    programme = programmes.programme_create(
        actor=bureau, code=OPEN_CALL, title="科技型中小企业技术创新项目（2027 年度）",
        title_en="Tech-SME innovation projects (2027)", year=2027,
        budget=Decimal("20000000.00"), kinds=["enterprise"], regions=["CN"],
        pipeline=_pipeline(panel=3), max_award=Decimal("300000.00"), form=FORM,
        budget_lines=BUDGET_LINES, eligibility=["tech_sme"],
    )  # fmt: skip
    start = now.astimezone(SHANGHAI).replace(hour=9, minute=0, second=0, microsecond=0)
    call = programmes.call_create(
        actor=bureau, programme=programme, code=OPEN_CALL, title=programme.title,
        title_en=programme.title_en, opens_at=start - dt.timedelta(days=5),
        closes_at=start + dt.timedelta(days=30, hours=8),
    )  # fmt: skip
    programmes.call_open(actor=bureau, call=call)
    return "开放至 / open until " + f"{call.closes_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def calls_demo_ensure(*, seed: int, progress: Callable[[str], None] | None = None) -> str:
    """Build the three demo calls (each skipped when it exists). Needs the demo logins."""
    bureau = User.objects.filter(role=Role.BUREAU_OFFICER).order_by("id").first()
    expert_login = User.objects.filter(role=Role.EXPERT).order_by("id").first()
    applicant = User.objects.filter(role=Role.APPLICANT).order_by("id").first()
    if bureau is None or expert_login is None or applicant is None:
        return "缺少演示账号，跳过 / demo logins missing, skipped"
    now = timezone.now()
    with transaction.atomic():
        clock = Clock(now - dt.timedelta(days=90))
        with _clock(clock):
            pool = _experts_ensure(bureau=bureau, expert_login=expert_login, seed=seed)
    done: list[str] = []
    builds: list[Callable[[], str]] = [
        partial(quanzhou_build, bureau=bureau, pool=pool, seed=seed, now=now),
        partial(
            guangzhou_build, bureau=bureau, pool=pool, applicant_login=applicant, seed=seed, now=now
        ),
        partial(open_call_build, bureau=bureau, now=now),
    ]
    for build in builds:
        with transaction.atomic():
            done.append(build())
        if progress is not None:
            progress(done[-1])
    return "；".join(done)
