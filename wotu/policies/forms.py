"""Forms of the policy screens. They parse what a browser sends; whether a policy can run for a
year, and what a parameter override means, is decided by the engine and the run service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from wotu.organisations.facts import MAX_YEAR, MIN_YEAR
from wotu.organisations.uscc import uscc_problem
from wotu.policies.engine import Policy, PolicyError
from wotu.policies.outcomes import overrides_parse
from wotu.policies.parameters import display

if TYPE_CHECKING:
    from wotu.policies.models import PolicyRun


def policy_choices(policies: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(policy_id, f"{name} · {policy_id}") for policy_id, name in policies]


class YearForm(forms.Form):
    """The year a catalogue page shows (formulas and parameters in force in that year)."""

    year = forms.IntegerField(
        label=_("Year"), required=False, min_value=MIN_YEAR, max_value=MAX_YEAR
    )

    def year_or(self, default: int) -> int:
        self.is_valid()
        year = self.cleaned_data.get("year") if "year" not in self.errors else None
        return int(year) if year else default


class ExplainForm(forms.Form):
    """Which enterprise and year to explain. An applicant's USCC is fixed to its own."""

    policy = forms.ChoiceField(label=_("Policy"), choices=())
    year = forms.IntegerField(label=_("Year"), min_value=MIN_YEAR, max_value=MAX_YEAR)
    uscc = forms.CharField(
        label=_("USCC"),
        min_length=18,
        max_length=18,
        widget=forms.TextInput(
            attrs={"class": "mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def __init__(
        self, *args: Any, policies: list[tuple[str, str]], fixed_uscc: str | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        policy = self.fields["policy"]
        assert isinstance(policy, forms.ChoiceField)
        policy.choices = policy_choices(policies)
        if fixed_uscc:
            # Shown, not editable; the view still refuses another organisation's code.
            self.fields["uscc"].widget.attrs["readonly"] = "readonly"
            self.fields["uscc"].initial = fixed_uscc

    def clean_uscc(self) -> str:
        value = str(self.cleaned_data.get("uscc") or "").strip().upper()
        problem = uscc_problem(value)
        if problem:
            zh, en = problem
            raise forms.ValidationError(en if (get_language() or "").startswith("en") else zh)
        return value


# ---------------------------------------------------------------------------------------------
# Runs


class RunForm(forms.Form):
    """Start a run: a policy and a year; changing any parameter makes it a scenario, compared
    with a baseline (the one chosen, or the newest baseline of the policy and year)."""

    policy = forms.ChoiceField(label=_("Policy"), choices=())
    year = forms.IntegerField(label=_("Year"), min_value=MIN_YEAR, max_value=MAX_YEAR)
    scenario = forms.CharField(
        label=_("Scenario name"),
        required=False,
        max_length=200,
        help_text=_("Optional; by default the changed values name the scenario."),
    )
    baseline = forms.ChoiceField(label=_("Baseline run"), required=False, choices=())

    def __init__(
        self, *args: Any, policies: list[tuple[str, str]], policy: Policy | None,
        baselines: list[tuple[str, str]], **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        choice = self.fields["policy"]
        assert isinstance(choice, forms.ChoiceField)
        choice.choices = policy_choices(policies)
        # A different policy or year has different parameters and baselines: reload the form.
        reload = {
            "hx-get": reverse("policies:run_start"), "hx-trigger": "change",
            "hx-target": "#run-form-panel", "hx-swap": "outerHTML",
            "hx-include": "[name=policy], [name=year]",
        }  # fmt: skip
        choice.widget.attrs.update(reload)
        self.fields["year"].widget.attrs.update(reload)
        baseline = self.fields["baseline"]
        assert isinstance(baseline, forms.ChoiceField)
        baseline.choices = [("", _("The newest baseline (run first if there is none)")), *baselines]
        self.override_names: list[str] = []
        if policy is not None:
            self._add_overrides(policy)

    def _add_overrides(self, policy: Policy) -> None:
        english = (get_language() or "").startswith("en")
        year = str((self.data.get("year") if self.is_bound else self.initial.get("year")) or "")
        try:
            instant = policy.instant_of(int(year)) if year.isdigit() else None
        except PolicyError:  # a year the policy does not cover: the service says so on submit
            instant = None
        for name in policy.parameters.names():
            parameter = policy.parameters[name]
            current = ""
            if instant is not None and parameter.values[0].since <= instant:
                current = display(parameter.at(instant).value, parameter.unit)
            field = forms.CharField(
                label=parameter.label_en if english else parameter.label_zh,
                required=False,
                max_length=500,
                widget=forms.TextInput(attrs={"placeholder": current, "autocomplete": "off"}),
            )
            field.help_text = name
            self.fields[OVERRIDE_PREFIX + name] = field
            self.override_names.append(name)

    def override_fields(self) -> list[forms.BoundField]:
        return [self[OVERRIDE_PREFIX + name] for name in self.override_names]

    def plain_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("policy", "year", "baseline", "scenario")]

    def run_arguments(self, baseline: PolicyRun | None) -> dict[str, Any]:
        """Keyword arguments for ``services.run_create`` (except ``user``). A value that starts
        with ``[`` or ``{`` is JSON (a scale's brackets); others are parsed by the parameter's
        unit (``500000``, ``25%``). Raises ParameterError for malformed JSON."""
        data = self.cleaned_data
        changes = [
            f"{name}={data[OVERRIDE_PREFIX + name].strip()}"
            for name in self.override_names
            if data.get(OVERRIDE_PREFIX + name, "").strip()
        ]
        return {
            "policy_id": data["policy"],
            "year": data["year"],
            "overrides": overrides_parse(changes),
            "baseline": baseline,
            "scenario": data.get("scenario") or "",
        }


OVERRIDE_PREFIX = "set:"
SORTS = ("uscc", "name", "district", "scheme", "amount")


class ResultsFilterForm(forms.Form):
    """Filters and order of a run's results. Invalid values are dropped, never an error page."""

    scheme = forms.ChoiceField(label=_("Scheme"), required=False, choices=())
    q = forms.CharField(label=_("USCC or name"), required=False, max_length=100)
    sort = forms.ChoiceField(required=False, choices=[(s, s) for s in SORTS])
    dir = forms.ChoiceField(required=False, choices=[("asc", "asc"), ("desc", "desc")])

    def __init__(self, *args: Any, schemes: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scheme = self.fields["scheme"]
        assert isinstance(scheme, forms.ChoiceField)
        scheme.choices = [("", _("Every scheme")), *schemes]
        self.is_valid()
        for name in list(self.errors):
            self.cleaned_data[name] = self.fields[name].initial

    def ordering(self, *, evaluate: bool) -> tuple[str, bool]:
        """(sort key, descending): by default the largest awards first, or by USCC."""
        sort = self.cleaned_data.get("sort") or ("amount" if evaluate else "uscc")
        if not evaluate and sort in {"scheme", "amount"}:
            sort = "uscc"
        direction = self.cleaned_data.get("dir") or ("desc" if sort == "amount" else "asc")
        return sort, direction == "desc"
