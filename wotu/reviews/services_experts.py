"""Writes for the expert pool and conflicts of interest.

* The pool: :func:`expert_create`, :func:`expert_update` (fields are codes of
  :data:`wotu.reviews.fields.FIELDS`), :func:`expert_admit` (Hong Kong and Macao experts join
  only once every active admission condition is ticked).
* Conflicts: :func:`conflicts_detect` finds them (same organisation, co-applicant, recent
  partner, declared relation) and :func:`conflict_dismiss` lets an officer set one aside with a
  written reason. An expert's own declaration is never dismissed.

Services check *who* (a bureau officer) and write one audit event per change, in the change's
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from wotu.core.audit import audit_record
from wotu.core.errors import WotuError
from wotu.core.models import Role, User
from wotu.organisations.models import Organisation
from wotu.programmes.models import Application, Call, Stage, Status
from wotu.reviews.fields import BY_CODE
from wotu.reviews.models import Conflict, ConflictSource, Expert, ExpertRelation
from wotu.reviews.selectors import admission_conditions, can_manage_reviews, expert_pool

REGIONS = ("CN", "HK", "MO")
#: Applications in these states count as "applied together" for the past-partner rule.
APPLIED = (
    Status.SUBMITTED,
    Status.RETURNED,
    Status.REJECTED,
    Status.IN_REVIEW,
    Status.NOT_PASSED,
    Status.NOTICE,
    Status.FUNDED,
    Status.NOT_FUNDED,
)


def _officer_required(actor: Any, zh: str, en: str) -> None:
    if not can_manage_reviews(actor):
        raise PermissionDenied(f"{zh} / {en}")


# --- the expert pool ----------------------------------------------------------------------------


def _fields_clean(fields: Sequence[str]) -> list[str]:
    codes = [str(f).strip() for f in fields if str(f).strip()]
    if not codes:
        raise WotuError("专家须至少有一个评审领域", "an expert needs at least one review field")
    unknown = [c for c in codes if c not in BY_CODE]
    if unknown:
        known = ", ".join(BY_CODE)
        raise WotuError(
            f"评审领域代码 {', '.join(unknown)} 不在领域目录中（可用：{known}）",
            f"field code(s) {', '.join(unknown)} are not in the taxonomy (use: {known})",
        )
    return list(dict.fromkeys(codes))


def _region_clean(region: str) -> str:
    value = region.strip().upper()
    if value not in REGIONS:
        raise WotuError(
            f"地区 {region!r} 无效，应为 CN、HK 或 MO",
            f"region {region!r} is not valid: use CN, HK or MO",
        )
    return value


def _load_clean(max_load: int | None) -> int | None:
    if max_load is not None and max_load < 1:
        raise WotuError(
            f"专家本人的最大评审量须为正整数（现为 {max_load}），不设上限请留空",
            f"the expert's own maximum load must be a positive whole number (got {max_load});"
            " leave it empty to use the stage's",
        )
    return max_load


def _account_clean(account: User | None, *, expert: Expert | None = None) -> User | None:
    if account is None:
        return None
    if account.role != Role.EXPERT:
        raise WotuError(
            f"账户 {account.get_username()} 不是评审专家角色，不能关联专家档案",
            f"account {account.get_username()} does not have the expert role; it cannot be"
            " linked to an expert record",
        )
    taken = Expert.objects.filter(user=account)
    if expert is not None:
        taken = taken.exclude(pk=expert.pk)
    if taken.exists():
        raise WotuError(
            f"账户 {account.get_username()} 已关联另一位专家",
            f"account {account.get_username()} is already linked to another expert",
        )
    return account


def expert_create(
    *,
    actor: Any,
    code: str,
    name: str,
    organisation: Organisation,
    fields: Sequence[str],
    region: str = "CN",
    title: str = "",
    max_load: int | None = None,
    active: bool = True,
    account: User | None = None,
) -> Expert:
    """Add an expert to the pool. A Hong Kong or Macao expert is recorded but may be assigned
    only after :func:`expert_admit`. Refuses a taken expert number, an unknown field code, a
    region other than CN/HK/MO, a load below 1 and an account without the expert role."""
    _officer_required(
        actor, "只有科技局工作人员可以管理专家库", "only bureau officers manage experts"
    )
    code = code.strip()
    if not code or not name.strip():
        raise WotuError("专家编号和姓名不能为空", "the expert number and name must not be empty")
    if Expert.objects.filter(code=code).exists():
        raise WotuError(f"专家编号 {code} 已被使用", f"expert number {code} is already taken")
    with transaction.atomic():
        expert = Expert.objects.create(
            code=code,
            name=name.strip(),
            organisation=organisation,
            region=_region_clean(region),
            title=title.strip(),
            fields=_fields_clean(fields),
            max_load=_load_clean(max_load),
            active=active,
            user=_account_clean(account),
        )
        audit_record(actor=actor, action="expert.create", subject=expert, data=_snapshot(expert))
    return expert


def expert_update(
    *,
    expert: Expert,
    actor: Any,
    name: str,
    organisation: Organisation,
    fields: Sequence[str],
    region: str,
    title: str,
    max_load: int | None,
    active: bool,
) -> Expert:
    """Change an expert's record. Moving an expert to another region clears the admission
    (a newly HK/MO expert goes through the checklist)."""
    _officer_required(
        actor, "只有科技局工作人员可以管理专家库", "only bureau officers manage experts"
    )
    if not name.strip():
        raise WotuError("专家姓名不能为空", "the expert's name must not be empty")
    with transaction.atomic():
        locked = Expert.objects.select_for_update().get(pk=expert.pk)
        before = _snapshot(locked)
        new_region = _region_clean(region)
        if new_region != locked.region:
            locked.admission, locked.admitted_at = {}, None
        locked.name = name.strip()
        locked.organisation = organisation
        locked.fields = _fields_clean(fields)
        locked.region = new_region
        locked.title = title.strip()
        locked.max_load = _load_clean(max_load)
        locked.active = active
        locked.save()
        audit_record(
            actor=actor,
            action="expert.update",
            subject=locked,
            data={"before": before, "after": _snapshot(locked)},
        )
    expert.refresh_from_db()
    return expert


def _snapshot(expert: Expert) -> dict[str, Any]:
    return {
        "code": expert.code,
        "name": expert.name,
        "organisation": expert.organisation_id,
        "region": expert.region,
        "fields": list(expert.fields),
        "max_load": expert.max_load,
        "active": expert.active,
    }


def expert_admit(*, expert: Expert, actor: Any, ticked: Iterable[str]) -> Expert:
    """Admit a Hong Kong or Macao expert to the pool once every active admission condition is
    ticked (``ticked`` holds condition codes). Refuses — naming the missing conditions — while
    any is unticked; refuses mainland experts (they need no admission) and a second admission."""
    _officer_required(actor, "只有科技局工作人员可以接纳专家", "only bureau officers admit experts")
    if expert.region == "CN":
        raise WotuError(
            f"专家 {expert.name}（{expert.code}）为内地专家，无需准入审核",
            f"expert {expert.name} ({expert.code}) is from the mainland and needs no admission",
        )
    if expert.admitted_at is not None:
        day = timezone.localdate(expert.admitted_at)
        raise WotuError(
            f"专家 {expert.name} 已于 {day} 准入",
            f"expert {expert.name} was already admitted on {day}",
        )
    conditions = admission_conditions()
    codes = set(ticked)
    unknown = sorted(codes - {c.code for c in conditions})
    if unknown:
        raise WotuError(
            f"准入条件 {', '.join(unknown)} 不存在或已停用",
            f"admission condition(s) {', '.join(unknown)} do not exist or are inactive",
        )
    missing = [c for c in conditions if c.code not in codes]
    if missing:
        raise WotuError(
            f"专家 {expert.name} 尚未满足准入条件：{'；'.join(c.label for c in missing)}",
            f"expert {expert.name} does not yet meet: {'; '.join(c.label_en for c in missing)}",
        )
    with transaction.atomic():
        locked = Expert.objects.select_for_update().get(pk=expert.pk)
        locked.admission = {c.code: True for c in conditions}
        locked.admitted_at = timezone.now()
        locked.save(update_fields=["admission", "admitted_at"])
        audit_record(
            actor=actor,
            action="expert.admit",
            subject=locked,
            data={"code": locked.code, "conditions": sorted(locked.admission)},
        )
    expert.refresh_from_db()
    return expert


# --- conflicts ----------------------------------------------------------------------------------


def conflicts_detect(
    *, stage: Stage | None = None, call: Call | None = None, actor: Any = None
) -> list[Conflict]:
    """Find the conflicts between the experts in the pool and the applications of ``stage``
    (those under review at it) or of ``call`` (every application past the draft), store the new
    ones, and return every conflict *still active* on those applications (including experts'
    own declarations), ordered by application and expert.

    The rules, for an application with lead organisation L and co-applicants P:

    * ``same_org`` — the expert's organisation is L;
    * ``co_applicant`` — the expert's organisation is one of P;
    * ``past_partner`` — the expert's organisation applied together with L (as lead or
      co-applicant) in another application to a programme of the years
      ``year − call.conflict_years`` … ``year`` (``year`` being this call's programme year);
    * ``relation`` — the expert declared a relation with L or one of P that holds in ``year``
      (``until_year`` empty or ≥ ``year``).

    Detection is idempotent: a conflict found before (dismissed or not) is not written again,
    so an officer's dismissal stands.
    """
    if (stage is None) == (call is None):
        raise ValueError("conflicts_detect takes exactly one of stage= or call=")
    the_call = stage.call if stage is not None else call
    assert the_call is not None
    applications = list(
        (
            Application.objects.filter(stage=stage, status=Status.IN_REVIEW)
            if stage is not None
            else Application.objects.filter(call=the_call).exclude(
                status__in=(Status.DRAFT, Status.WITHDRAWN)
            )
        )
        .select_related("organisation")
        .prefetch_related("partners")
    )
    year = the_call.programme.year
    found = _conflicts_found(applications, list(expert_pool()), year, the_call.conflict_years)
    with transaction.atomic():
        known = set(
            Conflict.objects.filter(application__in=applications).values_list(
                "application_id", "expert_id", "source"
            )
        )
        new = [c for c in found if (c.application_id, c.expert_id, c.source) not in known]
        Conflict.objects.bulk_create(new)
        if new:
            audit_record(
                actor=actor,
                action="conflicts.detect",
                subject=stage if stage is not None else the_call,
                data={"applications": len(applications), "new": len(new)},
            )
    return list(
        Conflict.objects.filter(application__in=applications, dismissed_at__isnull=True)
        .select_related("application", "expert")
        .order_by("application__reference", "expert__code", "source")
    )


def _conflicts_found(
    applications: list[Application], experts: list[Expert], year: int, look_back: int
) -> list[Conflict]:
    past = _past_partners(year, look_back)
    relations: dict[int, list[ExpertRelation]] = defaultdict(list)
    for relation in ExpertRelation.objects.filter(
        Q(until_year__isnull=True) | Q(until_year__gte=year)
    ).select_related("organisation"):
        relations[relation.organisation_id].append(relation)
    by_org: dict[int, list[Expert]] = defaultdict(list)
    for expert in experts:
        by_org[expert.organisation_id].append(expert)
    out: list[Conflict] = []
    for app in applications:
        partners = {p.pk: p for p in app.partners.all()}
        lead = app.organisation

        def add(expert: Expert, source: str, detail: str, app: Application = app) -> None:
            out.append(Conflict(application=app, expert=expert, source=source, detail=detail))

        for expert in by_org.get(lead.pk, []):
            add(expert, ConflictSource.SAME_ORGANISATION, lead.name)
        for org_id, org in partners.items():
            for expert in by_org.get(org_id, []):
                add(expert, ConflictSource.CO_APPLICANT, org.name)
        for org_id, reference in past.get(lead.pk, {}).items():
            if org_id == lead.pk or org_id in partners or reference == app.reference:
                continue
            for expert in by_org.get(org_id, []):
                add(expert, ConflictSource.PAST_PARTNER, f"{lead.name} · {reference}")
        pool_ids = {e.pk for e in experts}
        for org_id in (lead.pk, *partners):
            for relation in relations.get(org_id, []):
                if relation.expert_id in pool_ids:
                    add(
                        relation.expert,
                        ConflictSource.DECLARED_RELATION,
                        f"{relation.organisation.name}: {relation.relation}"[:300],
                    )
    unique: dict[tuple[int, int, str], Conflict] = {}
    for conflict in out:
        unique.setdefault((conflict.application.pk, conflict.expert.pk, conflict.source), conflict)
    return list(unique.values())


def _past_partners(year: int, look_back: int) -> dict[int, dict[int, str]]:
    """organisation → {organisation it applied together with → one application reference}, over
    applications to programmes of the years ``year − look_back`` … ``year``."""
    together: dict[int, dict[int, str]] = defaultdict(dict)
    recent = (
        Application.objects.filter(
            status__in=APPLIED,
            call__programme__year__gte=year - look_back,
            call__programme__year__lte=year,
            partners__isnull=False,
        )
        .distinct()
        .prefetch_related("partners")
        .only("pk", "reference", "organisation_id")
    )
    for app in recent:
        members = {app.organisation_id, *(p.pk for p in app.partners.all())}
        for a in members:
            for b in members - {a}:
                together[a].setdefault(b, app.reference)
    return together


def conflict_dismiss(*, conflict: Conflict, actor: Any, reason: str) -> Conflict:
    """Set aside a detected conflict, with the officer's written reason (audited). Refuses an
    expert's own declaration, a same-organisation conflict (the assignment never pairs an
    expert with their own organisation's application), an empty reason and a second
    dismissal."""
    _officer_required(
        actor, "只有科技局工作人员可以撤销回避", "only bureau officers may dismiss conflicts"
    )
    who = f"{conflict.expert.code} × {conflict.application.reference}"
    if conflict.source == ConflictSource.EXPERT_DECLARED:
        raise WotuError(
            f"回避 {who} 由专家本人声明，不能撤销",
            f"conflict {who} was declared by the expert and cannot be dismissed",
        )
    if conflict.source == ConflictSource.SAME_ORGANISATION:
        raise WotuError(
            f"回避 {who} 为同一单位，依规必须回避，不能撤销",
            f"conflict {who} is the expert's own organisation, which always excludes them;"
            " it cannot be dismissed",
        )
    if not reason.strip():
        raise WotuError(
            f"撤销回避 {who} 须填写书面理由", f"dismissing conflict {who} needs a written reason"
        )
    with transaction.atomic():
        locked = Conflict.objects.select_for_update().get(pk=conflict.pk)
        if locked.dismissed_at is not None:
            raise WotuError(f"回避 {who} 已被撤销", f"conflict {who} has already been dismissed")
        locked.dismissed_reason = reason.strip()
        locked.dismissed_by = actor if isinstance(actor, User) else None
        locked.dismissed_at = timezone.now()
        locked.save(update_fields=["dismissed_reason", "dismissed_by", "dismissed_at"])
        audit_record(
            actor=actor,
            action="conflict.dismiss",
            subject=locked,
            data={
                "application": locked.application.reference,
                "expert": locked.expert.code,
                "source": locked.source,
                "reason": locked.dismissed_reason,
            },
        )
    conflict.refresh_from_db()
    return conflict
