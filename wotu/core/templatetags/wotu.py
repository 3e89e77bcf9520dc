"""Template tags shared by every screen: money, districts, and the links a user may follow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from wotu.core import permissions
from wotu.core.districts import district_label
from wotu.core.models import Role
from wotu.core.money import round_fen

register = template.Library()

DASH = "—"


@register.filter
def money(value: Any) -> str:
    """¥1,234.50 — two decimals, half-up, thousands separated; a dash for no value."""
    if value is None or value == "":
        return DASH
    try:
        amount = round_fen(Decimal(str(value)))
    except InvalidOperation:
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


@register.filter
def district(code: str | None) -> str:
    """The district's name in the active language; an unknown code is shown as it is."""
    if not code:
        return DASH
    return district_label(code, get_language() or "zh-hans")


@register.filter
def role_label(user: Any) -> str:
    if getattr(user, "is_superuser", False):
        return str(_("Administrator"))
    role = getattr(user, "role", "")
    return str(Role(role).label) if role in Role.values else ""


@dataclass(frozen=True)
class Link:
    key: str
    url: str
    title: str
    description: str


@register.simple_tag
def links_for(user: Any) -> list[Link]:
    """What this user may open, in the order the home page and the menu show it.

    Whether a link is shown is decided by :mod:`wotu.core.permissions`, like the page itself.
    """
    links: list[Link] = []
    org_id = getattr(user, "organisation_id", None)
    if permissions.can_browse_registry(user) and permissions.sees_whole_registry(user):
        links.append(
            Link(
                "registry",
                reverse("organisations:list"),
                str(_("Registry")),
                str(_("Search enterprises, universities, institutes and banks.")),
            )
        )
    elif permissions.can_browse_registry(user) and org_id:
        links.append(
            Link(
                "own",
                reverse("organisations:detail", args=[org_id]),
                str(_("My organisation")),
                str(_("Your organisation's identity, qualifications and yearly facts.")),
            )
        )
    if permissions.can_import_facts(user):
        links.append(
            Link(
                "import",
                reverse("organisations:import"),
                str(_("Import facts")),
                str(_("Upload a CSV, Excel or Parquet file of yearly facts.")),
            )
        )
    if permissions.can_export_facts(user):
        links.append(
            Link(
                "export",
                reverse("organisations:export"),
                str(_("Export facts")),
                str(_("Download one year's facts as CSV, Excel or Parquet.")),
            )
        )
    if permissions.can_view_policy_catalogue(user):
        links.append(
            Link(
                "policies",
                reverse("policies:catalogue"),
                str(_("Policy catalogue")),
                str(_("Each policy's rules and dated parameters, with their legal references.")),
            )
        )
    if permissions.can_view_runs(user):
        links.append(
            Link(
                "runs",
                reverse("policies:runs"),
                str(_("Policy runs")),
                str(_("Run a policy for a year, follow it, compare scenarios, export results.")),
            )
        )
    elif permissions.can_view_own_run_results(user):
        links.append(
            Link(
                "explain",
                reverse("policies:explain_start"),
                str(_("My policy results")),
                str(_("How each award or assessment of your organisation was reached.")),
            )
        )
    links += _programme_links(user)
    if getattr(user, "is_staff", False):
        links.append(
            Link(
                "admin",
                reverse("admin:index"),
                str(_("Administration")),
                str(_("Accounts, roles and raw records (Django admin).")),
            )
        )
    return links


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _public(user: Any) -> bool:
    return True


def _applies_or_reviews(user: Any) -> bool:
    """Signed in, but not an officer (officers reach calls through their programmes)."""
    return _signed_in(user) and not _reads_programmes(user)


def _public_notices(user: Any) -> bool:
    """Officers who manage notices have their own page; everyone else sees the public one."""
    return not permissions.can_manage_programmes(user)


def _public_challenges(user: Any) -> bool:
    return not permissions.can_read_all_applications(user)


def _expert_with_record(user: Any) -> bool:
    from wotu.reviews.selectors import expert_of

    return permissions.is_expert(user) and expert_of(user) is not None


def _reads_ledger(user: Any) -> bool:
    from wotu.ledger.permissions import can_read_ledger

    return can_read_ledger(user)


def _prepares_payments(user: Any) -> bool:
    from wotu.ledger.permissions import can_prepare_payments

    return can_prepare_payments(user)


def _sees_own_payments(user: Any) -> bool:
    from wotu.ledger.permissions import can_see_own_payments

    return can_see_own_payments(user)


def _reads_programmes(user: Any) -> bool:
    return permissions.can_manage_programmes(user) or permissions.can_read_all_applications(user)


# (who, key, url name, title, description) for calls, reviews, notices and challenge tasks.
PROGRAMME_LINKS: tuple[tuple[Callable[[Any], bool], str, str, Any, Any], ...] = (
    (_reads_programmes, "programmes", "programmes:list", _("Programmes and calls"),
     _("Create programmes and calls, open and close them, run the formal check.")),
    (permissions.can_manage_programmes, "experts", "reviews:experts", _("Expert pool"),
     _("Experts by field and region; admit Hong Kong and Macao experts.")),
    (permissions.can_manage_programmes, "stages", "reviews:stages", _("Review stages"),
     _("Assign experts, follow scoring, close stages.")),
    (permissions.can_manage_programmes, "notices-manage", "notices:manage",
     _("Notices and decisions"),
     _("Publish notices, resolve objections, record committee decisions.")),
    (permissions.can_read_all_applications, "challenges-manage", "challenges:manage",
     _("Manage challenge tasks"), _("Post tasks, review bids, select winners, accept milestones.")),
    (_expert_with_record, "assignments", "reviews:mine", _("My assignments"),
     _("Declare conflicts and score the applications assigned to you.")),
    (permissions.can_apply, "applications", "programmes:mine", _("My applications"),
     _("Drafts, submissions, status and feedback of your organisation.")),
    (permissions.can_apply, "bids", "challenges:mine", _("My bids"),
     _("Your bids for challenge tasks and their milestones.")),
    (_applies_or_reviews, "calls", "programmes:open", _("Open calls"),
     _("Calls accepting applications now or soon.")),
    (_reads_ledger, "ledger", "ledger:dashboard", _("Finance dashboard"),
     _("Budgets, commitments and payments by programme, year and source; cross-border flows.")),
    (_prepares_payments, "batches", "ledger:batches", _("Payment batches"),
     _("Prepare, approve and send payment batches; book the bank's return files.")),
    (_sees_own_payments, "payments", "ledger:statements", _("My awards and payments"),
     _("What was awarded to your organisation and what has been paid.")),
    (_public_notices, "notices", "notices:list", _("Public notices"),
     _("Proposed funding lists on public notice, and decisions.")),
    (_public_challenges, "challenges", "challenges:list", _("Open challenges"),
     _("Challenge tasks (揭榜挂帅) open for bids.")),
    (_public, "open-data", "ledger:open_data", _("Open data"),
     _("Awards and disbursements as 360Giving JSON and Excel.")),
)  # fmt: skip


def _programme_links(user: Any) -> list[Link]:
    return [
        Link(key, reverse(url), str(title), str(description))
        for allowed, key, url, title, description in PROGRAMME_LINKS
        if allowed(user)
    ]
