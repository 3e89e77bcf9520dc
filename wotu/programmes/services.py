"""Writes for programmes, calls and applications: lifecycle steps 1 and 2.

1. A bureau officer creates a programme (form, budget lines, review pipeline) and its calls
   (stages copied from the pipeline), and opens and closes them.
2. An applicant saves drafts and submits before the call closes (Asia/Shanghai); an officer runs
   the formal check: pass (to review, at the first scored stage), return for correction, reject.

Services check *who* may act and *what* may be written; an application's status changes only
through :func:`wotu.programmes.workflow.application_transition`. Validation reports every
problem at once as :class:`Invalid` (one :class:`~wotu.programmes.formschema.FieldError` per
field, in Chinese and English); nothing is written when anything is invalid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from wotu.core import permissions
from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.organisations.models import Kind, Organisation, Region
from wotu.programmes import eligibility
from wotu.programmes.attachments import (
    AttachmentInfo,
    attachment_digest,
    attachment_display_name,
    attachment_sniff,
    attachment_store_name,
)
from wotu.programmes.formschema import (
    FieldError,
    budget_clean,
    budget_spec_validate,
    form_answers_clean,
    form_spec_validate,
)
from wotu.programmes.models import (
    OPEN_STATUSES,
    Application,
    Attachment,
    Call,
    CallStatus,
    Programme,
    Stage,
    StageKind,
    Status,
)
from wotu.programmes.workflow import STATUS_ZH, application_transition
from wotu.reviews.fields import BY_CODE as FIELD_CODES

SHANGHAI = ZoneInfo("Asia/Shanghai")
APPLICANT_KINDS = (Kind.ENTERPRISE, Kind.UNIVERSITY, Kind.INSTITUTE)
REGIONS = (Region.MAINLAND, Region.HONG_KONG, Region.MACAO)
KIND_ZH = {"enterprise": "企业", "university": "高校", "institute": "科研院所", "bank": "银行"}
REGION_ZH = {"CN": "内地", "HK": "香港", "MO": "澳门"}
REGION_EN = {"CN": "the mainland", "HK": "Hong Kong", "MO": "Macao"}
#: The order stages run in; a pipeline is any subsequence of it.
STAGE_ORDER = (
    StageKind.PROFESSIONAL,
    StageKind.DEFENCE,
    StageKind.SITE,
    StageKind.NOTICE,
    StageKind.COMMITTEE,
)
SCORED = (StageKind.PROFESSIONAL, StageKind.DEFENCE, StageKind.SITE)
STAGE_KEYS = frozenset(
    {
        "kind",
        "panel_size",
        "max_load",
        "min_hkmo",
        "rubric",
        "pass_rule",
        "normalise",
        "exclude_experts_of",
    }
)
PROGRAMME_FIELDS = (
    "title",
    "title_en",
    "description",
    "year",
    "budget",
    "max_award",
    "kinds",
    "regions",
    "hkmo_may_lead",
    "eligibility",
    "form",
    "budget_lines",
    "pipeline",
)
FORMAL_OUTCOMES = ("pass", "return", "reject")


class Invalid(WotuError):
    """Several problems at once, each tied to a field (``errors``); nothing was saved."""

    def __init__(self, errors: Sequence[FieldError], *, zh: str = "", en: str = "") -> None:
        self.errors = list(errors)
        count = len(self.errors)
        head_zh = zh or f"有 {count} 处需要修改"
        head_en = en or f"{count} problem{'s' if count != 1 else ''} to correct"
        super().__init__(
            f"{head_zh}：" + "；".join(e.message_zh for e in self.errors),
            f"{head_en}: " + "; ".join(e.message_en for e in self.errors),
        )


class Refused(PermissionDenied):
    """The role may not do this; ``zh``/``en`` say what (the API answers 403 with them)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def _problem(name: str, value: Any, zh: str, en: str, code: str = "invalid") -> FieldError:
    return FieldError(name, value, zh, en, code)


def shanghai(moment: dt.datetime) -> str:
    """``2026-03-31 17:00`` in Asia/Shanghai, whatever zone ``moment`` is in."""
    return timezone.localtime(moment, SHANGHAI).strftime("%Y-%m-%d %H:%M")


# --- programmes -------------------------------------------------------------------------------


def _require_manager(actor: Any) -> None:
    if not permissions.can_manage_programmes(actor):
        raise Refused(
            "只有科技局工作人员可以管理计划和申报", "only bureau officers manage programmes"
        )


def programme_create(
    *,
    actor: Any,
    code: str,
    title: str,
    title_en: str,
    year: int,
    budget: Decimal,
    kinds: Sequence[str],
    regions: Sequence[str],
    pipeline: Sequence[Mapping[str, Any]],
    hkmo_may_lead: bool = False,
    max_award: Decimal | None = None,
    eligibility: Sequence[str] = (),
    form: Sequence[Mapping[str, Any]] = (),
    budget_lines: Sequence[Mapping[str, Any]] = (),
    description: str = "",
) -> Programme:
    """Create a programme after checking every part of it (raises :class:`Invalid` listing all
    problems: codes, amounts, who may apply, eligibility rule ids, the form spec, budget lines and
    the review pipeline). Writes one ``programme.create`` audit event."""
    _require_manager(actor)
    values: dict[str, Any] = {
        "title": title,
        "title_en": title_en,
        "description": description,
        "year": year,
        "budget": budget,
        "max_award": max_award,
        "kinds": list(kinds),
        "regions": list(regions),
        "hkmo_may_lead": hkmo_may_lead,
        "eligibility": list(eligibility),
        "form": list(form),
        "budget_lines": list(budget_lines),
        "pipeline": [dict(s) for s in pipeline],
    }
    errors = programme_problems(values)
    if not code or not code.replace("-", "").replace("_", "").isalnum() or code != code.lower():
        errors.insert(
            0,
            _problem(
                "code",
                code,
                "代码只能用小写字母、数字、- 和 _",
                "the code takes lowercase letters, digits, - and _ only",
            ),
        )
    elif Programme.objects.filter(code=code).exists():
        errors.insert(
            0, _problem("code", code, f"代码 {code} 已被使用", f"the code {code} is already used")
        )
    if errors:
        raise Invalid(errors, zh="计划未保存", en="the programme was not saved")
    with transaction.atomic():
        programme = Programme.objects.create(code=code, **values)
        audit_record(
            actor=actor,
            action="programme.create",
            subject=programme,
            data={"code": code, "budget": programme.budget},
        )
    return programme


def programme_update(*, actor: Any, programme: Programme, **changes: Any) -> Programme:
    """Change some of a programme's fields (:data:`PROGRAMME_FIELDS`), checked as a whole like
    :func:`programme_create`. Calls already created keep their own stages. Audited."""
    _require_manager(actor)
    unknown = sorted(set(changes) - set(PROGRAMME_FIELDS))
    if unknown:
        raise WotuError(f"不能修改字段 {', '.join(unknown)}", f"cannot change {', '.join(unknown)}")
    values = {name: getattr(programme, name) for name in PROGRAMME_FIELDS} | changes
    errors = programme_problems(values)
    if errors:
        raise Invalid(errors, zh="计划未保存", en="the programme was not saved")
    with transaction.atomic():
        for name, value in changes.items():
            setattr(programme, name, value)
        programme.save(update_fields=list(changes) or None)
        audit_record(
            actor=actor,
            action="programme.update",
            subject=programme,
            data={"fields": sorted(changes)},
        )
    return programme


def programme_problems(values: Mapping[str, Any]) -> list[FieldError]:
    """Every problem with a programme's values (empty when it may be saved)."""
    errors: list[FieldError] = []
    for name in ("title", "title_en"):
        if not str(values.get(name) or "").strip():
            errors.append(
                _problem(name, values.get(name), "标题不能为空", "a title is required", "required")
            )
    year = values.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        errors.append(
            _problem(
                "year",
                year,
                "年度应为 2000–2100 的整数",
                "the year must be a whole number from 2000 to 2100",
            )
        )
    errors += _money_problems(values.get("budget"), values.get("max_award"))
    errors += _who_problems(values.get("kinds"), values.get("regions"))
    unknown_rules = [r for r in values.get("eligibility") or [] if r not in eligibility.RULES]
    if unknown_rules:
        known = ", ".join(eligibility.RULES)
        errors.append(
            _problem(
                "eligibility",
                unknown_rules,
                f"未知的资格条件 {', '.join(map(str, unknown_rules))}（可选：{known}）",
                f"unknown eligibility rules {', '.join(map(str, unknown_rules))} (known: {known})",
            )
        )
    for name, check in (("form", form_spec_validate), ("budget_lines", None)):
        try:
            if check is not None:
                check(spec=values.get(name))
            else:
                budget_spec_validate(items=values.get(name))
        except WotuError as exc:
            errors.append(_problem(name, None, exc.zh, exc.en))
    errors += pipeline_problems(values.get("pipeline"))
    return errors


def _money_problems(budget: Any, max_award: Any) -> list[FieldError]:
    errors = []
    if not isinstance(budget, Decimal) or budget <= 0 or budget != budget.quantize(Decimal("0.01")):
        errors.append(
            _problem(
                "budget",
                budget,
                "预算应为大于 0、最多两位小数的金额",
                "the budget must be an amount above 0 with at most 2 decimals",
            )
        )
    elif max_award is not None and (
        not isinstance(max_award, Decimal) or not Decimal(0) < max_award <= budget
    ):
        errors.append(
            _problem(
                "max_award",
                max_award,
                "单项上限应大于 0 且不超过总预算",
                "the maximum per application must be above 0 and within the budget",
            )
        )
    return errors


def _who_problems(kinds: Any, regions: Any) -> list[FieldError]:
    errors = []
    if not kinds or not isinstance(kinds, list) or set(kinds) - set(APPLICANT_KINDS):
        errors.append(
            _problem(
                "kinds",
                kinds,
                "申报单位类型应取自 企业、高校、科研院所，至少一种",
                "who may apply: one or more of enterprise, university, institute",
            )
        )
    if not regions or not isinstance(regions, list) or set(regions) - set(REGIONS):
        errors.append(
            _problem(
                "regions",
                regions,
                "地区应取自 CN、HK、MO，至少一个",
                "regions: one or more of CN, HK, MO",
            )
        )
    return errors


def pipeline_problems(pipeline: Any) -> list[FieldError]:
    """Problems with a review pipeline: stage kinds in the order professional → defence → site →
    notice → committee (any subset, each at most once), at least one scored stage; scored
    stages with a panel (1+ experts), a maximum load, a valid rubric and pass rule; the notice
    and committee stages without either."""
    from wotu.reviews.scoring import pass_rule_validate

    if not isinstance(pipeline, list) or not pipeline:
        return [
            _problem(
                "pipeline",
                pipeline,
                "评审流程至少需要一个阶段",
                "the review pipeline needs at least one stage",
                "required",
            )
        ]
    errors: list[FieldError] = []
    last = -1
    scored_orders: set[int] = set()
    for order, spec in enumerate(pipeline, start=1):
        where = f"pipeline.{order}"
        if not isinstance(spec, dict):
            errors.append(
                _problem(
                    where, spec, f"第 {order} 阶段应为对象", f"stage {order} must be an object"
                )
            )
            continue
        kind = spec.get("kind")
        if kind not in STAGE_ORDER:
            errors.append(
                _problem(
                    where,
                    kind,
                    f"第 {order} 阶段的类型 {kind!r} 未知",
                    f"stage {order} has an unknown kind {kind!r}",
                )
            )
            continue
        index = STAGE_ORDER.index(kind)
        if index <= last:
            errors.append(
                _problem(
                    where,
                    kind,
                    f"第 {order} 阶段（{kind}）次序不对：阶段须按 专业评审→答辩→"
                    "现场考察→公示→会议决策 排列，且各至多一次",
                    f"stage {order} ({kind}) is out of order: stages run"
                    " professional → defence → site → notice → committee,"
                    " each at most once",
                )
            )
        last = max(last, index)
        unknown = sorted(set(spec) - STAGE_KEYS)
        if unknown:
            errors.append(
                _problem(
                    where,
                    unknown,
                    f"第 {order} 阶段有未知的键 {', '.join(unknown)}",
                    f"stage {order} has unknown keys {', '.join(unknown)}",
                )
            )
        if kind in SCORED:
            errors += _scored_stage_problems(order, spec, scored_orders, pass_rule_validate)
            scored_orders.add(order)
        elif spec.get("panel_size") or spec.get("rubric") or spec.get("pass_rule"):
            errors.append(
                _problem(
                    where,
                    kind,
                    f"第 {order} 阶段（{kind}）不评分，不设专家组和评分表",
                    f"stage {order} ({kind}) is not scored: no panel or rubric",
                )
            )
    if not scored_orders:
        errors.append(
            _problem(
                "pipeline",
                None,
                "评审流程至少需要一个评分阶段（专业评审、答辩或现场考察）",
                "the pipeline needs a scored stage (professional, defence or site)",
            )
        )
    return errors


def _whole(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _scored_stage_problems(
    order: int, spec: Mapping[str, Any], earlier: set[int], pass_rule_validate: Any
) -> list[FieldError]:
    from wotu.reviews.scoring import Criterion, Rubric, rubric_validate

    where = f"pipeline.{order}"
    errors = []
    panel = spec.get("panel_size")
    if not _whole(panel, 1):
        errors.append(
            _problem(
                where,
                panel,
                f"第 {order} 阶段每项申请的专家数应为不小于 1 的整数",
                f"stage {order}: experts per application must be at least 1",
            )
        )
    if not _whole(spec.get("max_load"), 1):
        errors.append(
            _problem(
                where,
                spec.get("max_load"),
                f"第 {order} 阶段每位专家的最大评审量应为不小于 1 的整数",
                f"stage {order}: the maximum load per expert must be at least 1",
            )
        )
    min_hkmo = spec.get("min_hkmo", 0)
    if not _whole(min_hkmo, 0) or (_whole(panel, 1) and min_hkmo > panel):
        errors.append(
            _problem(
                where,
                min_hkmo,
                f"第 {order} 阶段港澳专家数应在 0 与专家组人数之间",
                f"stage {order}: HK/Macao experts must be from 0 to the panel size",
            )
        )
    if not isinstance(spec.get("normalise", False), bool):
        errors.append(
            _problem(
                where,
                spec.get("normalise"),
                f"第 {order} 阶段 normalise 应为 true/false",
                f"stage {order}: normalise must be true or false",
            )
        )
    excluded = spec.get("exclude_experts_of", [])
    if not isinstance(excluded, list) or any(o not in earlier for o in excluded):
        errors.append(
            _problem(
                where,
                excluded,
                f"第 {order} 阶段 exclude_experts_of 只能列出之前的评分阶段序号",
                f"stage {order}: exclude_experts_of may list only earlier scored stages",
            )
        )
    try:
        raw = spec.get("rubric")
        if not isinstance(raw, list):
            raise WotuError("评分表应为指标列表", "the rubric must be a list of criteria")
        criteria = tuple(
            Criterion(
                code=str(c["code"]),
                label_zh=str(c.get("label_zh", "")),
                label_en=str(c.get("label_en", "")),
                weight=Decimal(str(c["weight"])),
                min=Decimal(str(c["min"])),
                max=Decimal(str(c["max"])),
            )
            for c in raw
        )
        rubric_validate(rubric=Rubric(code=f"stage{order}", criteria=criteria))
    except WotuError as exc:
        errors.append(
            _problem(
                where, None, f"第 {order} 阶段评分表：{exc.zh}", f"stage {order} rubric: {exc.en}"
            )
        )
    except (KeyError, TypeError, ArithmeticError):
        errors.append(
            _problem(
                where,
                None,
                f"第 {order} 阶段评分表的每项指标须有 code、weight、min、max",
                f"stage {order} rubric: every criterion needs code, weight, min and max",
            )
        )
    try:
        pass_rule_validate(rule=spec.get("pass_rule") or {})
    except WotuError as exc:
        errors.append(
            _problem(
                where,
                spec.get("pass_rule"),
                f"第 {order} 阶段晋级规则：{exc.zh}",
                f"stage {order} pass rule: {exc.en}",
            )
        )
    return errors


# --- calls ------------------------------------------------------------------------------------


def call_create(
    *,
    actor: Any,
    programme: Programme,
    code: str,
    title: str,
    title_en: str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    conflict_years: int = 3,
) -> Call:
    """A draft call of ``programme`` with its stages copied from the programme's pipeline (a
    later change to the programme never rewrites a running review). ``opens_at`` and
    ``closes_at`` are aware datetimes; the call must close after it opens."""
    _require_manager(actor)
    errors = []
    if Call.objects.filter(code=code).exists() or not code:
        errors.append(
            _problem(
                "code",
                code,
                f"申报批次代码 {code!r} 为空或已被使用",
                f"the call code {code!r} is empty or already used",
            )
        )
    if not title.strip() or not title_en.strip():
        errors.append(
            _problem("title", title, "中英文标题不能为空", "both titles are required", "required")
        )
    if timezone.is_naive(opens_at) or timezone.is_naive(closes_at):
        errors.append(
            _problem(
                "opens_at",
                None,
                "开始和截止时间须带时区",
                "opening and closing times need a time zone",
            )
        )
    elif closes_at <= opens_at:
        errors.append(
            _problem(
                "closes_at",
                shanghai(closes_at),
                f"截止时间 {shanghai(closes_at)} 须晚于开始时间 {shanghai(opens_at)}",
                f"the call must close ({shanghai(closes_at)}) after it opens"
                f" ({shanghai(opens_at)})",
            )
        )
    errors += pipeline_problems(programme.pipeline)
    if errors:
        raise Invalid(errors, zh="申报批次未创建", en="the call was not created")
    with transaction.atomic():
        call = Call.objects.create(
            programme=programme,
            code=code,
            title=title,
            title_en=title_en,
            opens_at=opens_at,
            closes_at=closes_at,
            conflict_years=conflict_years,
            created_by=actor,
        )
        Stage.objects.bulk_create(
            Stage(call=call, order=order, **dict(spec))
            for order, spec in enumerate(programme.pipeline, start=1)
        )
        audit_record(
            actor=actor,
            action="call.create",
            subject=call,
            data={"code": code, "opens_at": opens_at, "closes_at": closes_at},
        )
    return call


def _call_status(*, actor: Any, call: Call, old: CallStatus, new: CallStatus) -> Call:
    _require_manager(actor)
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if locked.status != old:
            raise WotuError(
                f"申报批次 {locked.code} 当前状态为「{locked.get_status_display()}」，不能改为"
                f"「{new.label}」",
                f"call {locked.code} is {locked.status}; it cannot become {new.value}",
            )
        locked.status = new
        locked.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="call.status",
            subject=locked,
            data={"code": locked.code, "from": str(old), "to": str(new)},
        )
    call.refresh_from_db()
    return call


def call_open(*, actor: Any, call: Call) -> Call:
    """A draft call starts accepting applications (between its opening and closing times)."""
    return _call_status(actor=actor, call=call, old=CallStatus.DRAFT, new=CallStatus.OPEN)


def call_close(*, actor: Any, call: Call) -> Call:
    """An open call stops accepting applications and goes to review (only applications
    returned for correction may still be resubmitted)."""
    return _call_status(actor=actor, call=call, old=CallStatus.OPEN, new=CallStatus.REVIEW)


def call_accepting(call: Call, *, now: dt.datetime | None = None) -> bool:
    """New drafts and submissions are accepted: the call is open and ``opens_at ≤ now <
    closes_at`` (aware datetimes compare as instants; times are shown in Asia/Shanghai)."""
    now = now or timezone.now()
    return call.status == CallStatus.OPEN and call.opens_at <= now < call.closes_at


def _window_refusal(call: Call) -> WotuError:
    now = timezone.now()
    if call.status == CallStatus.OPEN and now < call.opens_at:
        return WotuError(
            f"申报批次「{call.title}」尚未开始受理（{shanghai(call.opens_at)} 北京时间开始）",
            f"the call '{call.title_en}' opens at {shanghai(call.opens_at)} (Beijing time)",
        )
    return WotuError(
        f"申报批次「{call.title}」已于 {shanghai(call.closes_at)}（北京时间）截止，不再受理",
        f"the call '{call.title_en}' closed at {shanghai(call.closes_at)} (Beijing time) and"
        " accepts nothing more",
    )


# --- applications: drafts ---------------------------------------------------------------------


def _require_lead(actor: Any, application: Application | None, call: Call | None = None) -> None:
    if not permissions.can_apply(actor):
        raise Refused("只有申报单位的用户可以申报", "only applicants' users may apply")
    if application is not None and application.organisation_id != actor.organisation_id:
        raise Refused(
            f"只有牵头单位可以修改、提交或撤回申请 {application.reference}",
            f"only the lead organisation may change, submit or withdraw {application.reference}",
        )


def _require_editable(application: Application) -> None:
    if application.status not in (Status.DRAFT, Status.RETURNED):
        status = Status(application.status)
        raise WotuError(
            f"申请 {application.reference} 状态为「{STATUS_ZH[status]}」，只有草稿或退回修改的"
            "申请可以修改",
            f"application {application.reference} is {status.label}: only drafts and"
            " applications returned for correction can be changed",
        )


def application_draft_save(
    *,
    actor: Any,
    call: Call,
    application: Application | None = None,
    title: str | None = None,
    field: str | None = None,
    answers: Mapping[str, Any] | None = None,
    partners: Iterable[int] | None = None,
    budget: Mapping[str, Any] | None = None,
    requested: Any = None,
    files: Mapping[str, UploadedFile[bytes]] | None = None,
) -> Application:
    """Create (``application=None``) or update the applicant's draft. ``None`` arguments leave a
    value as it is; given answers replace the same keys. Every given value is checked in full
    (type, format, range, file content) but required fields may stay empty; any problem raises
    :class:`Invalid` with all of them and saves nothing.

    A new application gets the next reference of its call (``QZ2026-0001``). Uploaded files are
    checked by content (PDF ≤ 20 MB, others ≤ 10 MB) and stored under a name made from their
    SHA-256. Refused for someone other than the lead's applicant, for an application that is
    neither a draft nor returned for correction, and — except a returned application — outside
    the call's window.
    """
    _require_lead(actor, application)
    if application is not None:
        call = application.call
        _require_editable(application)
    returned = application is not None and application.status == Status.RETURNED
    if not returned and not call_accepting(call):
        raise _window_refusal(call)
    programme = call.programme
    existing = {} if application is None else _attachment_infos(application)
    infos, errors = _uploads_check(files or {})
    merged = dict(application.answers if application else {}) | dict(answers or {})
    cleaned, problems = form_answers_clean(
        spec=form_spec_validate(spec=programme.form),
        answers=merged,
        files=existing | {name: info for name, (info, _) in infos.items()},
        final=False,
    )
    errors += problems
    errors += _title_field_problems(title, field, final=False)
    lines, amount, budget_errors = _budget_check(
        programme,
        budget if budget is not None else (application.budget if application else {}),
        requested if requested is not None else (application.requested if application else None),
    )
    errors += [e for e in budget_errors if e.code != "sum"]
    partner_orgs, partner_errors = _partners_read(actor, partners)
    errors += partner_errors
    if errors:
        raise Invalid(errors, zh="草稿未保存", en="the draft was not saved")
    with transaction.atomic():
        if application is None:
            application = _application_new(actor, call)
        application.answers = cleaned
        application.budget = lines
        application.requested = amount
        if title is not None:
            application.title = title.strip()
        if field is not None:
            application.field = field
        application.save()
        if partner_orgs is not None:
            application.partners.set(partner_orgs)
        for name, (info, upload) in infos.items():
            _attachment_store(actor, application, name, info, upload)
    return application


def _application_new(actor: Any, call: Call) -> Application:
    """A new draft with the call's next reference, numbered under a lock on the call row."""
    locked = Call.objects.select_for_update().get(pk=call.pk)
    prefix = locked.code.upper()[:24]
    number = locked.applications.count() + 1
    while Application.objects.filter(reference=f"{prefix}-{number:04d}").exists():
        number += 1
    application = Application(
        call=locked,
        reference=f"{prefix}-{number:04d}",
        organisation_id=actor.organisation_id,
        created_by=actor,
        requested=Decimal("0.00"),
    )
    application.save()
    audit_record(
        actor=actor,
        action="application.create",
        subject=application,
        data={"reference": application.reference, "call": locked.code},
    )
    return application


def _attachment_infos(application: Application) -> dict[str, AttachmentInfo]:
    return {
        a.field: AttachmentInfo(kind=a.kind, content_type=a.content_type, size=a.size)
        for a in application.files.all()
    }


def _uploads_check(
    files: Mapping[str, UploadedFile[bytes]],
) -> tuple[dict[str, tuple[AttachmentInfo, UploadedFile[bytes]]], list[FieldError]]:
    infos = {}
    errors = []
    for name, upload in files.items():
        try:
            info = attachment_sniff(
                fileobj=_stream(upload), name=upload.name or "", size=upload.size or 0
            )
        except WotuError as exc:
            errors.append(_problem(name, upload.name, exc.zh, exc.en))
            continue
        infos[name] = (info, upload)
    return infos, errors


def _stream(upload: UploadedFile[bytes]) -> IO[bytes]:
    if upload.file is None:
        raise WotuError("上传的文件无法读取", "the uploaded file cannot be read")
    return upload.file


def _attachment_store(
    actor: Any,
    application: Application,
    name: str,
    info: AttachmentInfo,
    upload: UploadedFile[bytes],
) -> None:
    digest = attachment_digest(fileobj=_stream(upload))
    _stream(upload).seek(0)
    old = Attachment.objects.filter(application=application, field=name).first()
    if old is not None:
        old.delete()  # the stored file stays: equal contents share a name, and audits cite it
    attachment = Attachment(
        application=application,
        field=name,
        kind=info.kind,
        content_type=info.content_type,
        size=info.size,
        sha256=digest,
        original_name=attachment_display_name(name=upload.name or ""),
    )
    attachment.file.save(attachment_store_name(digest=digest, info=info), upload, save=False)
    attachment.save()
    audit_record(
        actor=actor,
        action="application.attachment",
        subject=application,
        data={"field": name, "sha256": digest, "size": info.size, "kind": info.kind},
    )


def _title_field_problems(title: str | None, field: str | None, *, final: bool) -> list[FieldError]:
    errors = []
    if title is not None and len(title.strip()) > 200:
        errors.append(
            _problem(
                "title",
                title,
                "项目名称最多 200 个字符",
                "the project title takes at most 200 characters",
            )
        )
    elif final and not (title or "").strip():
        errors.append(
            _problem(
                "title", title, "「项目名称」为必填项", "'Project title' is required", "required"
            )
        )
    if field and field not in FIELD_CODES:
        errors.append(_problem("field", field, f"未知的领域 {field!r}", f"unknown field {field!r}"))
    elif final and not field:
        errors.append(
            _problem("field", field, "「领域」为必填项", "'Field' is required", "required")
        )
    return errors


def _budget_check(
    programme: Programme, lines: Mapping[str, Any], requested: Any
) -> tuple[dict[str, str], Decimal, list[FieldError]]:
    empty = requested is None or (isinstance(requested, str) and not requested.strip())
    cleaned, errors = budget_clean(
        items=programme.budget_lines,
        lines=lines,
        total="0" if empty else requested,
        max_total=programme.max_award,
    )
    amount = Decimal("0.00")
    if not empty and not any(e.field == "budget.total" and e.code != "sum" for e in errors):
        amount = Decimal(str(requested)).quantize(Decimal("0.01"))
    return cleaned, amount, errors


def _partners_read(
    actor: Any, partners: Iterable[int] | None
) -> tuple[list[Organisation] | None, list[FieldError]]:
    if partners is None:
        return None, []
    ids = sorted({int(p) for p in partners})
    found = list(Organisation.objects.filter(pk__in=ids).exclude(kind=Kind.BANK))
    missing = sorted(set(ids) - {o.pk for o in found})
    errors = []
    if missing:
        errors.append(
            _problem(
                "partners",
                missing,
                f"找不到合作单位 {missing}",
                f"no such co-applicant organisation {missing}",
            )
        )
    if actor.organisation_id in ids:
        errors.append(
            _problem(
                "partners",
                actor.organisation_id,
                "牵头单位不能同时是合作单位",
                "the lead organisation cannot also be a co-applicant",
            )
        )
    return found, errors


# --- applications: submission, withdrawal, formal check ----------------------------------------


def application_problems(application: Application) -> list[FieldError]:
    """Everything that stops ``application`` from being submitted, all at once: the form's
    required fields and values, title and field, the budget (lines add up to the amount
    requested, within the programme's maximum), who may apply (kind, region, whether a Hong Kong
    or Macao organisation may lead) and the programme's eligibility rules."""
    programme = application.call.programme
    _, errors = form_answers_clean(
        spec=form_spec_validate(spec=programme.form),
        answers=application.answers,
        files=_attachment_infos(application),
        final=True,
    )
    errors += _title_field_problems(application.title, application.field, final=True)
    _, _, budget_errors = _budget_check(programme, application.budget, application.requested)
    errors += budget_errors
    if application.requested <= 0:
        errors.append(
            _problem(
                "budget.total",
                str(application.requested),
                "申请总额须大于 0",
                "the requested total must be above 0",
            )
        )
    errors += who_may_apply_problems(
        programme=programme,
        organisation=application.organisation,
        partners=list(application.partners.all()),
    )
    for result in eligibility.eligibility_check(
        organisation=application.organisation, rules=programme.eligibility
    ):
        if not result.passed:
            errors.append(
                _problem(
                    f"eligibility.{result.rule}",
                    result.rule,
                    f"不符合资格条件「{result.label_zh}」：{result.reason_zh}",
                    f"not eligible ({result.label_en}): {result.reason_en}",
                    "eligibility",
                )
            )
    return errors


def who_may_apply_problems(
    *, programme: Programme, organisation: Organisation, partners: Sequence[Organisation] = ()
) -> list[FieldError]:
    """The lead's and co-applicants' kind and region against the programme, and the rule on
    Hong Kong / Macao leads."""
    errors = []
    for org, role_zh, role_en, name in [(organisation, "牵头单位", "the lead", "organisation")] + [
        (p, "合作单位", "co-applicant", "partners") for p in partners
    ]:
        if org.kind not in programme.kinds:
            allowed = "、".join(KIND_ZH.get(k, k) for k in programme.kinds)
            errors.append(
                _problem(
                    name,
                    org.kind,
                    f"{role_zh}「{org.name}」是{KIND_ZH.get(org.kind, org.kind)}，"
                    f"本计划只接受{allowed}",
                    f"{role_en} {org.name_en or org.name} is a {org.kind}; this"
                    f" programme accepts {', '.join(programme.kinds)}",
                )
            )
        if org.region not in programme.regions:
            allowed = "、".join(REGION_ZH.get(r, r) for r in programme.regions)
            errors.append(
                _problem(
                    name,
                    org.region,
                    f"{role_zh}「{org.name}」来自{REGION_ZH.get(org.region)}，"
                    f"本计划只接受{allowed}的单位",
                    f"{role_en} {org.name_en or org.name} is from"
                    f" {REGION_EN.get(org.region)}; this programme accepts"
                    f" {', '.join(programme.regions)}",
                )
            )
    if organisation.region != Region.MAINLAND and not programme.hkmo_may_lead:
        errors.append(
            _problem(
                "organisation",
                organisation.region,
                "本计划不允许港澳单位牵头申报：请由内地单位牵头，港澳单位作为合作单位",
                "Hong Kong and Macao organisations may not lead in this programme:"
                " a mainland organisation must lead, with them as co-applicants",
            )
        )
    return errors


def application_submit(*, actor: Any, application: Application) -> Application:
    """Submit a draft (or resubmit an application returned for correction) after checking it
    completely (:func:`application_problems`; raises :class:`Invalid` with every problem).

    A draft is refused once the call has closed (``closes_at``, compared as an instant; shown in
    Asia/Shanghai); a returned application may be resubmitted after the close."""
    _require_lead(actor, application)
    _require_editable(application)
    returned = application.status == Status.RETURNED
    if not returned and not call_accepting(application.call):
        raise _window_refusal(application.call)
    errors = application_problems(application)
    if errors:
        raise Invalid(errors, zh="申请未提交", en="the application was not submitted")
    return application_transition(
        application=application,
        to=Status.SUBMITTED,
        actor=actor,
        data={"resubmission": returned},
    )


def application_withdraw(*, actor: Any, application: Application, reason: str = "") -> Application:
    """The lead's applicant withdraws its application from any open state (draft, submitted,
    returned, in review, on notice); a decided application cannot be withdrawn."""
    _require_lead(actor, application)
    if application.status not in OPEN_STATUSES:
        status = Status(application.status)
        raise WotuError(
            f"申请 {application.reference} 状态为「{STATUS_ZH[status]}」，已不能撤回",
            f"application {application.reference} is {status.label}: it can no longer be withdrawn",
        )
    return application_transition(
        application=application, to=Status.WITHDRAWN, actor=actor, data={"reason": reason.strip()}
    )


def first_scored_stage(call: Call) -> Stage:
    stage = call.stages.filter(kind__in=SCORED).order_by("order").first()
    if stage is None:
        raise WotuError(
            f"申报批次 {call.code} 没有评分阶段", f"call {call.code} has no scored stage"
        )
    return stage


def application_formal_check(
    *, application: Application, actor: Any, outcome: str, note: str = ""
) -> Application:
    """A bureau officer's formal check of a submitted application: ``pass`` sends it to review at
    the call's first scored stage; ``return`` sends it back for correction; ``reject`` ends it.
    A note (shown to the applicant) is required to return or reject."""
    _require_manager(actor)
    if outcome not in FORMAL_OUTCOMES:
        raise WotuError(
            f"形式审查结论应为 pass、return 或 reject，收到 {outcome!r}",
            f"the formal check outcome must be pass, return or reject, got {outcome!r}",
        )
    note = note.strip()
    if outcome != "pass" and not note:
        raise Invalid(
            [
                _problem(
                    "note",
                    note,
                    "退回或不予受理时须写明理由，申请人会看到",
                    "returning or rejecting needs a note; the applicant will read it",
                    "required",
                )
            ],
            zh="形式审查未记录",
            en="the formal check was not recorded",
        )
    data = {"formal_check": outcome}
    if outcome == "pass":
        stage = first_scored_stage(application.call)
        return application_transition(
            application=application,
            to=Status.IN_REVIEW,
            actor=actor,
            stage=stage,
            feedback=note,
            data=data,
        )
    target = Status.RETURNED if outcome == "return" else Status.REJECTED
    return application_transition(
        application=application, to=target, actor=actor, feedback=note, data=data
    )
