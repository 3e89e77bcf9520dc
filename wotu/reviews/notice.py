"""Step 4 of a call: the public notice (公示) with objections (step 5, the committee decision,
is :mod:`wotu.reviews.decision`).

| who            | notices, lists, downloads | file an objection | read, resolve | publish, decide |
|----------------|---------------------------|-------------------|---------------|-----------------|
| bureau officer | all (also not yet public) | as anyone         | yes           | yes             |
| anyone else    | published ones            | inside the window | no            | no              |

The notice's entries are a snapshot taken at publication (reference, lead organisation, title,
field, proposed amount) and never name experts or scores. An objection is filed under a real
name with a phone number or e-mail address; the public gets a receipt number and never sees
anyone's objection. The committee decision is recorded only after the window has closed and
every objection is resolved; it turns each application on notice into FUNDED (with an
:class:`~wotu.programmes.models.Award`) or, when an upheld objection names it, NOT_FUNDED.

Role refusals raise :class:`Refused` (a ``PermissionDenied`` with a bilingual reason: 403);
objects outside the user's view raise ``Http404``; a refusal a person can act on raises
:class:`~wotu.core.errors.WotuError`.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from wotu.core import permissions
from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.models import Role, User
from wotu.programmes.models import Application, Call, CallStatus, StageKind, StageStatus, Status
from wotu.reviews.calendar import NOTICE_WORKING_DAYS, SHANGHAI, calendar_load, notice_window
from wotu.reviews.models import Notice, Objection, ObjectionOutcome

#: Applications still waiting for a step before the notice: the notice waits for them.
UNDECIDED = (Status.SUBMITTED, Status.RETURNED, Status.IN_REVIEW)
NAME_MIN, NAME_MAX = 2, 40
TEXT_MIN, TEXT_MAX = 10, 5000
#: One contact may file at most this many objections against one notice (a flood guard).
OBJECTIONS_PER_CONTACT = 10
#: Words people write instead of a name. Compared after lower-casing and removing spaces.
ANONYMOUS_NAMES = frozenset(
    {
        "匿名", "匿名者", "匿名人", "匿名用户", "无名", "无名氏", "某某", "某某某", "某人", "有人",
        "群众", "热心群众", "知情人", "知情者", "知情人士", "网友", "路人", "不详", "未知", "保密",
        "无", "没有", "本人", "我", "公民", "市民", "举报人", "anonymous", "anon", "anonym",
        "unknown", "noname", "nobody", "none", "null", "n/a", "na", "test", "someone",
        "citizen", "johndoe", "janedoe", "xxx",
    }
)  # fmt: skip
#: Letters of a person's name: CJK, Latin (with accents), the middle dot of transliterated
#: names (·, •), spaces, hyphens, apostrophes and full stops.
NAME_PATTERN = re.compile(r"[\u4e00-\u9fffA-Za-zÀ-ÿ][\u4e00-\u9fffA-Za-zÀ-ÿ·•.'\- ]*")
PHONE_PATTERNS = (
    re.compile(r"(?:\+?86)?1[3-9]\d{9}"),  # mainland mobile
    re.compile(r"(?:\+?86)?0\d{2,3}\d{7,8}"),  # mainland landline with area code
    re.compile(r"\+?852[2-9]\d{7}"),  # Hong Kong
    re.compile(r"\+?853(?:6\d{7}|28\d{6})"),  # Macao mobile or landline
)


class Refused(PermissionDenied):
    """The role may not do this (403), with the reason in Chinese and English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


def _officer_require(actor: Any, what_zh: str, what_en: str) -> None:
    if not permissions.can_manage_programmes(actor):
        raise Refused(f"只有科技局工作人员可以{what_zh}", f"only a bureau officer may {what_en}")


def _local(moment: datetime) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


# --- publishing ---------------------------------------------------------------------------------


def notice_entries(*, call: Call) -> list[dict[str, str]]:
    """The proposed list as the notice publishes it: the call's applications on NOTICE, by
    reference. No expert names, scores or contact details, ever."""
    applications = (
        Application.objects.filter(call=call, status=Status.NOTICE)
        .select_related("organisation")
        .order_by("reference")
    )
    return [
        {
            "reference": a.reference,
            "organisation": a.organisation.name,
            "organisation_en": a.organisation.name_en,
            "title": a.title,
            "field": a.field,
            "amount": f"{a.proposed if a.proposed is not None else a.requested:.2f}",
        }
        for a in applications
    ]


def notice_publish(
    *,
    call: Call,
    actor: Any,
    working_days: int = NOTICE_WORKING_DAYS,
    published_at: datetime | None = None,
) -> Notice:
    """Publish the call's proposed funding list for ``working_days`` working days.

    Allowed for a bureau officer once every application of the call is decided up to the
    notice (none submitted, returned or in review) and at least one is proposed (NOTICE). The
    window closes at the end of the ``working_days``-th working day counted from the
    publication day (see :func:`wotu.reviews.calendar.notice_window`: weekends, holidays and
    make-up working days from the YAML calendar). Locks the call row; the call becomes NOTICE
    and its notice stage *in progress* (``scoring``) until the decision closes it; one
    ``notice.publish`` audit event.
    """
    _officer_require(actor, "发布公示", "publish a public notice")
    published_at = published_at or timezone.now()
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        _publishable_check(locked)
        entries = notice_entries(call=locked)
        opens, closes = notice_window(
            calendar=calendar_load(), published_at=published_at, working_days=working_days
        )
        notice = Notice.objects.create(
            call=locked,
            published_at=opens,
            closes_at=closes,
            working_days=working_days,
            entries=entries,
            published_by=actor if isinstance(actor, User) else None,
        )
        locked.status = CallStatus.NOTICE
        locked.save(update_fields=["status"])
        # the notice stage is now in progress; it closes with the committee decision
        locked.stages.filter(kind=StageKind.NOTICE).update(status=StageStatus.SCORING)
        audit_record(
            actor=actor,
            action="notice.publish",
            subject=notice,
            data={
                "call": locked.code,
                "entries": len(entries),
                "total": str(sum((Decimal(e["amount"]) for e in entries), Decimal(0))),
                "published_at": opens,
                "closes_at": closes,
                "working_days": working_days,
            },
        )
    call.refresh_from_db()
    return notice


def _publishable_check(call: Call) -> None:
    if Notice.objects.filter(call=call).exists():
        raise WotuError(
            f"申报批次 {call.code} 已发布过公示，不能重复发布",
            f"call {call.code} already has a public notice; it cannot be published twice",
        )
    if call.status != CallStatus.REVIEW:
        raise WotuError(
            f"申报批次 {call.code} 的状态是「{call.get_status_display()}」，"
            "只有评审中的批次可以发布公示",
            f"call {call.code} is {call.get_status_display()}; only a call in review can be "
            "put on public notice",
        )
    waiting = list(
        Application.objects.filter(call=call, status__in=UNDECIDED)
        .order_by("reference")
        .values_list("reference", flat=True)[:11]
    )
    if waiting:
        shown = ", ".join(waiting[:10]) + (" …" if len(waiting) > 10 else "")
        raise WotuError(
            f"申报批次 {call.code} 仍有申请未完成评审或形式审查（{shown}），请先完成后再发布公示",
            f"call {call.code} still has applications in formal check or review ({shown}); "
            "finish them before publishing the notice",
        )
    if not Application.objects.filter(call=call, status=Status.NOTICE).exists():
        raise WotuError(
            f"申报批次 {call.code} 没有拟资助的申请（状态为「公示中」），无可公示内容",
            f"call {call.code} has no application proposed for funding (status on notice); "
            "there is nothing to publish",
        )


# --- reading notices ----------------------------------------------------------------------------


def notice_list_public(*, now: datetime | None = None) -> QuerySet[Notice]:
    """Notices already published (a notice dated in the future is not public yet), newest
    first. Anyone may read them."""
    now = now or timezone.now()
    return (
        Notice.objects.filter(published_at__lte=now)
        .select_related("call", "call__programme")
        .order_by("-published_at", "pk")
    )


def notice_get_public(*, pk: int, now: datetime | None = None) -> Notice:
    """One published notice, for anyone; Http404 when there is none or it is not public yet."""
    try:
        return notice_list_public(now=now).get(pk=pk)
    except Notice.DoesNotExist as exc:
        raise Http404 from exc


def notice_list_for_user(*, user: Any) -> QuerySet[Notice]:
    """Every notice with its objection counts, for a bureau officer; others are refused."""
    _officer_require(user, "管理公示", "manage public notices")
    return (
        Notice.objects.select_related("call", "call__programme")
        .annotate(
            objection_count=Count("objections"),
            open_count=Count("objections", filter=Q(objections__outcome=ObjectionOutcome.OPEN)),
        )
        .order_by("-published_at", "pk")
    )


def notice_get_for_user(*, user: Any, pk: int) -> Notice:
    """A notice for its officers' pages (also before it is public); 403 for other roles."""
    try:
        return notice_list_for_user(user=user).get(pk=pk)
    except Notice.DoesNotExist as exc:
        raise Http404 from exc


def calls_ready_for_notice(*, user: Any) -> list[Call]:
    """Calls in review with no notice yet, for the officer's "publish" list; each carries
    ``proposed_count`` and ``waiting_count`` (applications still in formal check or review)."""
    _officer_require(user, "管理公示", "manage public notices")
    return list(
        Call.objects.filter(status=CallStatus.REVIEW, notice__isnull=True)
        .annotate(
            proposed_count=Count("applications", filter=Q(applications__status=Status.NOTICE)),
            waiting_count=Count("applications", filter=Q(applications__status__in=UNDECIDED)),
        )
        .order_by("closes_at", "code")
    )


def notice_is_open(*, notice: Notice, now: datetime | None = None) -> bool:
    """Whether objections are accepted now: ``published_at <= now <= closes_at``."""
    now = now or timezone.now()
    return notice.published_at <= now <= notice.closes_at


def notice_has_closed(*, notice: Notice, now: datetime | None = None) -> bool:
    """Whether the window is over (``now > closes_at``): the decision may then be recorded."""
    return (now or timezone.now()) > notice.closes_at


def notice_application_get(*, notice: Notice, reference: str) -> Application | None:
    """The application a public objection names, by reference; None for a blank reference,
    Http404 when the reference is not on the notice."""
    if not reference:
        return None
    if reference not in {entry["reference"] for entry in notice.entries}:
        raise Http404
    try:
        return Application.objects.get(call_id=notice.call_id, reference=reference)
    except Application.DoesNotExist as exc:
        raise Http404 from exc


def notice_total(*, notice: Notice) -> Decimal:
    """The sum of the proposed amounts on the notice (CNY)."""
    return sum((Decimal(e["amount"]) for e in notice.entries), Decimal("0.00"))


# --- objections ---------------------------------------------------------------------------------


def objection_receipt(*, objection: Objection) -> str:
    """The receipt number the person who filed the objection keeps, e.g. ``N3-000042``."""
    return f"N{objection.notice_id}-{objection.pk:06d}"


def objector_name_check(*, name: str) -> str:
    """The cleaned real name, or WotuError: empty, too short or long, not letters, or a word
    that stands for no one (匿名, 无名氏, 某某, anonymous …, or any name with 某 or 匿名)."""
    clean = " ".join(name.split())
    folded = clean.lower().replace(" ", "").replace(".", "")
    if not clean:
        raise WotuError(
            "请填写真实姓名：不受理匿名异议",
            "give your real name: anonymous objections are not accepted",
        )
    if not NAME_MIN <= len(clean) <= NAME_MAX:
        raise WotuError(
            f"姓名「{clean}」须为 {NAME_MIN}–{NAME_MAX} 个字符",
            f"the name '{clean}' must be {NAME_MIN}–{NAME_MAX} characters long",
        )
    anonymous = folded in ANONYMOUS_NAMES or "某" in clean or "匿名" in clean
    if anonymous or not NAME_PATTERN.fullmatch(clean):
        raise WotuError(
            f"「{clean}」不是真实姓名：公示异议须署真实姓名，不受理匿名异议",
            f"'{clean}' is not a real name: objections must be filed under a real name; "
            "anonymous objections are not accepted",
        )
    return clean


def objector_contact_check(*, contact: str) -> str:
    """The normalised contact: a mainland, Hong Kong or Macao phone number (spaces, hyphens
    and brackets removed; HK/Macao numbers need their +852/+853 prefix) or an e-mail address
    (lower-cased). WotuError otherwise."""
    raw = contact.strip()
    if "@" in raw:
        try:
            validate_email(raw)
        except DjangoValidationError as exc:
            raise _contact_error(raw) from exc
        return raw.lower()
    digits = re.sub(r"[\s\-()（）]", "", raw)
    if any(p.fullmatch(digits) for p in PHONE_PATTERNS):
        return digits
    raise _contact_error(raw)


def _contact_error(raw: str) -> WotuError:
    return WotuError(
        f"联系方式「{raw}」无效：请填写内地手机或座机号码、港澳电话（+852/+853 开头）或电子邮箱",
        f"the contact '{raw}' is not valid: give a mainland mobile or landline number, a Hong "
        "Kong or Macao number (starting +852 or +853) or an e-mail address",
    )


def _text_check(text: str) -> str:
    clean = text.strip()
    if not TEXT_MIN <= len(clean) <= TEXT_MAX:
        raise WotuError(
            f"异议内容须为 {TEXT_MIN}–{TEXT_MAX} 个字（现有 {len(clean)} 个）：请写明事实和理由",
            f"the objection must be {TEXT_MIN}–{TEXT_MAX} characters (it has {len(clean)}): "
            "state the facts and your reasons",
        )
    return clean


def _window_check(notice: Notice, now: datetime) -> None:
    if not notice.published_at <= now <= notice.closes_at:
        raise WotuError(
            f"公示期为 {_local(notice.published_at)} 至 {_local(notice.closes_at)}（北京时间），"
            "期外不受理异议",
            f"objections are accepted only during the notice window, {_local(notice.published_at)}"
            f" to {_local(notice.closes_at)} (Beijing time)",
        )


def _application_check(notice: Notice, application: Application | None) -> None:
    if application is None:
        return
    listed = {entry["reference"] for entry in notice.entries}
    if application.call_id != notice.call_id or application.reference not in listed:
        raise WotuError(
            f"项目 {application.reference} 不在本次公示名单中",
            f"project {application.reference} is not on this notice's list",
        )


def objection_officer_pick(*, notice: Notice) -> User | None:
    """The officer an objection is routed to: round-robin over active bureau officers (by id,
    the n-th objection of a notice to the n-th officer), else the notice's publisher."""
    officers = list(User.objects.filter(role=Role.BUREAU_OFFICER, is_active=True).order_by("pk"))
    if not officers:
        return notice.published_by
    return officers[Objection.objects.filter(notice=notice).count() % len(officers)]


def objection_file(
    *,
    notice: Notice,
    name: str,
    contact: str,
    text: str,
    application: Application | None = None,
    now: datetime | None = None,
) -> Objection:
    """File a written objection to ``notice`` (anyone, no sign-in needed).

    Refused with WotuError outside the window (``published_at <= now <= closes_at``), for an
    anonymous or implausible name, an invalid contact, a text under 10 characters, an
    application not on the notice, the same text from the same contact again, or more than
    ``OBJECTIONS_PER_CONTACT`` objections from one contact. Locks the notice row so two
    identical submissions cannot both pass the duplicate check. Routed to an officer
    (:func:`objection_officer_pick`); one ``objection.file`` audit event that records ids only.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Notice.objects.select_for_update().select_related("call").get(pk=notice.pk)
        if locked.call.status == CallStatus.DECIDED:
            raise WotuError(
                f"申报批次 {locked.call.code} 已作出决定，不再受理异议",
                f"call {locked.call.code} is decided; objections are no longer accepted",
            )
        _window_check(locked, now)
        clean_name = objector_name_check(name=name)
        clean_contact = objector_contact_check(contact=contact)
        clean_text = _text_check(text)
        _application_check(locked, application)
        _duplicate_check(locked, clean_contact, clean_text)
        objection = Objection.objects.create(
            notice=locked,
            application=application,
            name=clean_name,
            contact=clean_contact,
            text=clean_text,
            filed_at=now,
            officer=objection_officer_pick(notice=locked),
        )
        audit_record(
            actor=None,
            action="objection.file",
            subject=objection,
            data={
                "notice": locked.pk,
                "objection": objection.pk,
                "application": application.reference if application else None,
                "officer": objection.officer_id,
            },
        )
    return objection


def _duplicate_check(notice: Notice, contact: str, text: str) -> None:
    earlier = Objection.objects.filter(notice=notice, contact=contact)
    squeezed = " ".join(text.split())
    if any(" ".join(t.split()) == squeezed for t in earlier.values_list("text", flat=True)):
        raise WotuError(
            "同一联系方式已提交过内容相同的异议，无需重复提交",
            "an objection with the same text was already filed from this contact; "
            "there is no need to file it again",
        )
    if earlier.count() >= OBJECTIONS_PER_CONTACT:
        raise WotuError(
            f"同一联系方式对本次公示最多提交 {OBJECTIONS_PER_CONTACT} 条异议",
            f"one contact may file at most {OBJECTIONS_PER_CONTACT} objections to a notice",
        )


def objection_list_for_user(*, user: Any, notice: Notice) -> QuerySet[Objection]:
    """The objections to ``notice`` (with contact details), for a bureau officer only."""
    if not permissions.can_resolve_objections(user):
        raise Refused("只有科技局工作人员可以查看异议", "only a bureau officer may read objections")
    return (
        Objection.objects.filter(notice=notice)
        .select_related("application", "officer", "resolved_by")
        .order_by("filed_at", "pk")
    )


def objection_get_for_user(*, user: Any, pk: int) -> Objection:
    if not permissions.can_resolve_objections(user):
        raise Refused("只有科技局工作人员可以查看异议", "only a bureau officer may read objections")
    try:
        return Objection.objects.select_related(
            "notice", "notice__call", "application", "officer", "resolved_by"
        ).get(pk=pk)
    except Objection.DoesNotExist as exc:
        raise Http404 from exc


def objection_resolve(
    *, objection: Objection, actor: Any, outcome: str, resolution: str
) -> Objection:
    """Resolve an open objection as ``upheld`` or ``dismissed`` with a written resolution.

    A bureau officer only (not necessarily the one it was routed to). An upheld objection that
    names an application keeps that application from being funded at the decision. Locks the
    objection row; refused once resolved or once the call is decided. One
    ``objection.resolve`` audit event.
    """
    if not permissions.can_resolve_objections(actor):
        raise Refused(
            "只有科技局工作人员可以处理异议", "only a bureau officer may resolve objections"
        )
    if outcome not in (ObjectionOutcome.UPHELD, ObjectionOutcome.DISMISSED):
        raise WotuError(
            f"处理结果须为「成立」(upheld) 或「不成立」(dismissed)，收到 {outcome!r}",
            f"the outcome must be upheld or dismissed, got {outcome!r}",
        )
    resolution = resolution.strip()
    if len(resolution) < 2:
        raise WotuError(
            "请写明处理意见（核查情况与结论）", "write the resolution: what was checked and why"
        )
    with transaction.atomic():
        locked = (
            Objection.objects.select_for_update()
            .select_related("notice__call")
            .get(pk=objection.pk)
        )
        receipt = objection_receipt(objection=locked)
        if locked.outcome != ObjectionOutcome.OPEN:
            raise WotuError(
                f"异议 {receipt} 已处理（{locked.get_outcome_display()}），不能再次处理",
                f"objection {receipt} is already resolved ({locked.outcome}); it cannot be "
                "resolved again",
            )
        if locked.notice.call.status == CallStatus.DECIDED:
            raise WotuError(
                f"申报批次 {locked.notice.call.code} 已作出决定，异议 {receipt} 不能再处理",
                f"call {locked.notice.call.code} is decided; objection {receipt} can no longer "
                "be resolved",
            )
        locked.outcome = outcome
        locked.resolution = resolution
        locked.resolved_by = actor if isinstance(actor, User) else None
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["outcome", "resolution", "resolved_by", "resolved_at"])
        audit_record(
            actor=actor,
            action="objection.resolve",
            subject=locked,
            data={
                "objection": locked.pk,
                "outcome": outcome,
                "application": locked.application.reference if locked.application else None,
            },
        )
    objection.refresh_from_db()
    return objection
