"""Writes for applications: lifecycle step 2 (split from :mod:`wotu.programmes.services`,
which re-exports the public names).

An applicant saves drafts (form answers, budget, partners, attachments) and submits before the
call closes (Asia/Shanghai); an officer runs the formal check: pass (to review, at the first
scored stage), return for correction, reject.

An application's status changes only through
:func:`wotu.programmes.workflow.application_transition`. Validation reports every problem at once
as :class:`~wotu.programmes.errors.Invalid`; nothing is written when anything is invalid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

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
from wotu.programmes.budget import budget_clean
from wotu.programmes.errors import (
    KIND_ZH,
    REGION_EN,
    REGION_ZH,
    Invalid,
    Refused,
    manager_require,
    shanghai,
)
from wotu.programmes.formschema import (
    FieldError,
    form_answers_clean,
    form_spec_validate,
    money_parse,
)
from wotu.programmes.models import (
    OPEN_STATUSES,
    Application,
    Attachment,
    Call,
    CallStatus,
    Programme,
    Stage,
    Status,
)
from wotu.programmes.pipeline import SCORED, field_problem
from wotu.programmes.workflow import STATUS_ZH, application_transition
from wotu.reviews.fields import BY_CODE as FIELD_CODES

FORMAL_OUTCOMES = ("pass", "return", "reject")
_problem = field_problem


# --- accepting ----------------------------------------------------------------------------------


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
    """The budget lines cleaned, the requested total as an amount (0.00 when empty or not an
    amount) and every problem. The total is read like any money answer
    (:func:`~wotu.programmes.formschema.money_parse`: ``"1,234.50"`` and full-width digits
    are amounts); one that cannot be read is a ``budget.total`` problem, never a crash."""
    empty = requested is None or (isinstance(requested, str) and not requested.strip())
    cleaned, errors = budget_clean(
        items=programme.budget_lines,
        lines=lines,
        total="0" if empty else requested,
        max_total=programme.max_award,
    )
    if empty:
        return cleaned, Decimal("0.00"), errors
    amount = money_parse(value=requested)
    if amount is None:
        if not any(e.field == "budget.total" and e.code != "sum" for e in errors):
            errors.append(
                _problem(
                    "budget.total",
                    requested,
                    f"申请总额「{requested}」不是金额（如 1234.50）",
                    f"the requested total {requested!r} is not an amount such as 1234.50",
                )
            )
        return cleaned, Decimal("0.00"), errors
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
    manager_require(actor)
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
