"""Policies in the browser: the catalogue (rules in plain language, parameters with their dated
values and legal references) and explanations of one enterprise's result; runs over the registry
and a scenario against its baseline are :mod:`wotu.policies.views_runs`. Views parse, call one
selector or service, and render; who may do what is asked of :mod:`wotu.core.permissions`
(through :mod:`wotu.policies.selectors`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import polars as pl
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from wotu.core import permissions
from wotu.core.errors import WotuError
from wotu.core.models import User
from wotu.organisations.facts import COLUMNS
from wotu.organisations.forms import fact_label
from wotu.organisations.models import Sector
from wotu.organisations.selectors import latest_fact_year
from wotu.policies import catalog, selectors
from wotu.policies.engine import PARAM_PREFIX, Plan, Policy, PolicyError, plan_build
from wotu.policies.forms import ExplainForm, YearForm
from wotu.policies.inputs import facts_frame_normalise
from wotu.policies.models import PolicyRun, RunStatus
from wotu.policies.parameters import ParameterError, display

KINDS = {"evaluate": _("Awards"), "assess": _("Assessment")}
UNITS = {
    "CNY": _("CNY"),
    "rate": _("rate"),
    "points": _("points"),
    "bool": _("yes / no"),
    "ratio": _("ratio"),
    "count": _("count"),
    "year": _("year"),
    "days": _("days"),
    "list": _("list"),
    "text": _("text"),
}
COLUMN_BY_NAME = {column.name: column for column in COLUMNS}
REFUSALS = (WotuError, PolicyError, ParameterError)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _refusal(exc: WotuError | PolicyError | ParameterError) -> str:
    return exc.en if _english() else exc.zh


def _policy(policy_id: str) -> Policy:
    try:
        return catalog.policy_get(policy_id)
    except PolicyError:
        raise Http404(policy_id) from None


def _policy_name(policy_id: str) -> str:
    try:
        policy = catalog.policy_get(policy_id)
    except (PolicyError, ParameterError, ImportError):
        return policy_id
    return policy.en if _english() else policy.zh


def _policy_choices() -> list[tuple[str, str]]:
    return [(policy_id, _policy_name(policy_id)) for policy_id in catalog.policy_ids()]


# ---------------------------------------------------------------------------------------------
# The catalogue


@login_required
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    summaries = selectors.policy_list_for_user(user=_user(request))
    lines = []
    for summary in summaries:
        policy = catalog.policy_get(summary["id"])
        counts = {"rules": len(policy.rules), "parameters": len(policy.parameters.parameters)}
        lines.append({**summary, "kind_label": KINDS.get(policy.kind, policy.kind), **counts})
    return render(request, "policies/catalogue.html", {"policies": lines})


@login_required
@require_GET
def policy_detail(request: HttpRequest, policy_id: str) -> HttpResponse:
    user = _user(request)
    detail = selectors.policy_get_for_user(user=user, policy_id=policy_id)
    policy = _policy(policy_id)
    form = YearForm(request.GET)
    year = form.year_or(default_year(policy))
    context = {
        "policy": detail,
        "form": form,
        "year": year,
        "can_run": permissions.can_create_runs(user),
        "can_explain": _may_explain(user),
    }
    return render(request, "policies/detail.html", context | policy_overview(policy, year))


def default_year(policy: Policy) -> int:
    """The latest year with facts (or last calendar year), within the policy's years."""
    year = latest_fact_year() or dt.date.today().year - 1
    if policy.years:
        return max(policy.years[0], min(policy.years[1], year))
    return year


def policy_overview(policy: Policy, year: int) -> dict[str, Any]:
    """Every rule (formula versions, the branches of the version in force in ``year``) and every
    parameter (all dated values, the one in force that year marked), for the catalogue page."""
    try:
        instant = policy.instant_of(year)
        plan: Plan | None = plan_build(policy, year=year, available=_available(policy, year))
        problem = None
    except PolicyError as exc:  # e.g. a year outside the policy's, or before its parameters
        instant, plan, problem = dt.date(year, 12, 31), None, exc
    names = list(policy.rules) + [n for n in (plan.rules if plan else {}) if n not in policy.rules]
    rules = [_rule_overview(policy, plan, name, instant) for name in names]
    parameters = []
    for name in policy.parameters.names():
        parameter = policy.parameters[name]
        current = _current(instant, [value.since for value in parameter.values])
        parameters.append({
            "name": name, "zh": parameter.label_zh, "en": parameter.label_en,
            "unit": UNITS.get(parameter.unit, parameter.unit), "note": parameter.note,
            "values": [{"since": value.since, "text": display(value.value, parameter.unit),
                        "in_force": value.since == current, "reference": value.reference}
                       for value in parameter.values],
        })  # fmt: skip
    return {"instant": instant, "rules": rules, "parameters": parameters, "problem": problem}


def _available(policy: Policy, year: int) -> list[str]:
    """The columns the engine sees for a policy: the facts contract, plus what ``prepare``
    derives from the policy's extra tables (absent here, as when none is supplied)."""
    empty = facts_frame_normalise(pl.DataFrame(schema={name: pl.String for name in COLUMN_BY_NAME}))
    frame = empty.lazy()
    if policy.prepare is not None:
        frame = policy.prepare(frame, {}, year)
    return frame.collect_schema().names()


def _current(instant: dt.date, dates: list[dt.date]) -> dt.date | None:
    """Of ``dates`` (when each version took effect), the one in force at ``instant``."""
    started = [since for since in dates if since <= instant]
    return max(started) if started else None


def _rule_overview(
    policy: Policy, plan: Plan | None, name: str, instant: dt.date
) -> dict[str, Any]:
    built = plan.rules[name] if plan is not None else None
    rule = built.rule if built is not None else policy.rules[name]
    dates = sorted(version.since for version in rule.versions) if name in policy.rules else []
    current = _current(instant, dates)
    branches = []
    if plan is not None and built is not None:
        for index, branch in enumerate(built.branches.items):
            uses = _uses(plan, built.needs[index])
            branches.append({"zh": branch.zh, "en": branch.en, "otherwise": branch.when is None,
                             **uses})  # fmt: skip
    return {
        "name": name,
        "zh": rule.zh,
        "en": rule.en,
        "unit": UNITS.get(rule.unit, rule.unit),
        "reference": rule.reference,
        "output": name in policy.outputs,
        "versions": [
            {
                "since": None if since <= selectors.DEFAULT_SINCE else since,
                "in_force": since == current,
            }
            for since in dates
        ],
        "branches": branches,
    }


def _uses(plan: Plan, names: list[str]) -> dict[str, list[str]]:
    """The names one branch reads, grouped: facts inputs, parameters, other rules."""
    uses: dict[str, list[str]] = {"inputs": [], "parameters": [], "rules": []}
    for name in names:
        if name.startswith(PARAM_PREFIX):
            uses["parameters"].append(name.removeprefix(PARAM_PREFIX).removesuffix("@weighted"))
        elif name in plan.rules:
            uses["rules"].append(name)
        else:
            uses["inputs"].append(input_label(name))
    return uses


def input_label(name: str) -> str:
    """A facts column as a person reads it, with the years a history value covers."""
    base, _sep, history = name.partition("@")
    column = COLUMN_BY_NAME.get(base)
    label = fact_label(column) if column is not None else base
    if history == "prev":
        return str(_("%(label)s, previous year")) % {"label": label}
    if history == "any_before":
        return str(_("%(label)s, in any earlier year")) % {"label": label}
    if history.startswith("sum"):
        years = history.removeprefix("sum")
        text = _("%(label)s, sum of the last %(years)s years")
        return str(text) % {"label": label, "years": years}
    if history.startswith("count"):
        years = history.removeprefix("count")
        return str(_("years with facts among the last %(years)s")) % {"years": years}
    return label if not history else name


# ---------------------------------------------------------------------------------------------
# Explanations


def _may_explain(user: User) -> bool:
    return permissions.can_view_runs(user) or permissions.can_view_own_run_results(user)


def _explain_form(request: HttpRequest, user: User, policy_id: str | None) -> ExplainForm:
    data = request.GET.copy()
    if policy_id is not None:
        data["policy"] = policy_id
    own = None
    if not permissions.can_view_runs(user) and user.organisation is not None:
        own = user.organisation.uscc
    if own and not data.get("uscc"):
        data["uscc"] = own
    initial = {"policy": policy_id, "year": latest_fact_year() or dt.date.today().year - 1}
    bound = data if "year" in data else None
    return ExplainForm(bound, policies=_policy_choices(), fixed_uscc=own, initial=initial)


@login_required
@require_GET
def explain_start(request: HttpRequest) -> HttpResponse:
    """Choose a policy, a year and (for officers) an enterprise, then see the explanation."""
    user = _user(request)
    if not _may_explain(user):
        raise PermissionDenied
    form = _explain_form(request, user, request.GET.get("policy"))
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        url = reverse("policies:explain", args=[data["policy"]])
        return redirect(f"{url}?{urlencode({'year': data['year'], 'uscc': data['uscc']})}")
    status = 400 if form.is_bound else 200
    return render(request, "policies/explain.html", {"form": form}, status=status)


@login_required
@require_GET
def explanation(request: HttpRequest, policy_id: str) -> HttpResponse:
    """One enterprise's result in the latest finished baseline run of the policy for the year
    (or the run named by ``?run=``), every step with the branch taken and its references."""
    user = _user(request)
    if not _may_explain(user):
        raise PermissionDenied
    policy = _policy(policy_id)
    form = _explain_form(request, user, policy_id)
    context: dict[str, Any] = {"form": form, "policy": policy}
    if not form.is_bound or not form.is_valid():
        status = 400 if form.is_bound else 200
        return render(request, "policies/explain.html", context, status=status)
    year, uscc = form.cleaned_data["year"], form.cleaned_data["uscc"]
    run = _explained_run(user, policy_id, year, request.GET.get("run"))
    context |= {
        "year": year,
        "uscc": uscc,
        "run": run,
        "can_run": permissions.can_create_runs(user),
    }
    if run is None:
        return render(request, "policies/explain.html", context | {"no_run": True}, status=404)
    try:
        tree = selectors.explanation_for_user(user=user, run=run, uscc=uscc)
    except Http404:  # no row for this code in the run's year, or not the user's to see
        return render(request, "policies/explain.html", context | {"missing": True}, status=404)
    except REFUSALS as exc:
        form.add_error(None, _refusal(exc))
        return render(request, "policies/explain.html", context, status=400)
    _tree_for_page(tree["outputs"])
    return render(request, "policies/explain.html", context | {"tree": tree})


def _explained_run(user: User, policy_id: str, year: int, run_id: str | None) -> PolicyRun | None:
    if run_id and run_id.isdigit():
        run = selectors.run_get_for_user(user=user, pk=int(run_id))
        if (run.policy_id, run.year) != (policy_id, year):
            raise Http404
        return run
    runs = selectors.run_list_for_user(user=user, policy_id=policy_id, year=year)
    return runs.filter(status=RunStatus.DONE, baseline__isnull=True).first()


def _tree_for_page(outputs: list[dict[str, Any]]) -> None:
    """Label the inputs for people, and show a rule already explained as an earlier output
    as "see above" instead of again in full."""
    shown: set[str] = set()
    for output in outputs:
        _label_inputs([output], shown)
        shown.add(output["rule"])


def _label_inputs(nodes: list[dict[str, Any]], shown: set[str]) -> None:
    for index, node in enumerate(nodes):
        if node["rule"] in shown and not node.get("see_above"):
            nodes[index] = {"rule": node["rule"], "see_above": True}
            continue
        for item in node.get("inputs", []):
            item["label"] = input_label(item["name"])
            if item["name"] == "sector" and item["value"] in Sector.values:
                item["value_text"] = str(Sector(item["value"]).label)
        _label_inputs(node.get("rules", []), shown)
