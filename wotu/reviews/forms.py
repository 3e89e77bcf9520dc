"""Forms of the review screens. They parse what a browser sends; the rules (taxonomy codes,
admission, conflicts, rubric ranges) are the services' and :mod:`wotu.reviews.scoring`'s."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from wotu.core.models import Role, User
from wotu.organisations.models import Organisation, Region
from wotu.reviews.fields import FIELDS, field_label
from wotu.reviews.models import AdmissionCondition, Expert
from wotu.reviews.scoring import Rubric
from wotu.reviews.selectors import ExpertFilter, organisation_by_pk, organisation_match


def _english() -> bool:
    return (get_language() or "").startswith("en")


def field_choices() -> list[tuple[str, str]]:
    language = get_language() or "zh-hans"
    return [(f.code, field_label(f.code, language=language)) for f in FIELDS]


class ExpertSearchForm(forms.Form):
    """The pool's filters. Invalid values are dropped, never an error page."""

    q = forms.CharField(label=_("Name, number or organisation"), required=False, max_length=100)
    field = forms.ChoiceField(label=_("Field"), required=False, choices=())
    region = forms.ChoiceField(
        label=_("Region"), required=False, choices=[("", _("Any region")), *Region.choices]
    )
    active = forms.ChoiceField(
        label=_("Active"),
        required=False,
        choices=[("", _("Active or not")), ("yes", _("Active")), ("no", _("Inactive"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice = self.fields["field"]
        assert isinstance(choice, forms.ChoiceField)
        choice.choices = [("", str(_("Any field"))), *field_choices()]

    def filters(self) -> ExpertFilter:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return ExpertFilter(
            q=data.get("q", "") or "",
            field=data.get("field", "") or "",
            region=data.get("region", "") or "",
            active=data.get("active", "") or "",
        )


@dataclass(frozen=True)
class Typed:
    """What was typed in an organisation search box when no suggestion was picked."""

    text: str


class OrganisationPicker(forms.Widget):
    """A search box instead of a list of every organisation: as the officer types a name, USCC
    or local registration number, htmx asks ``reviews:organisation_suggest`` for up to 20
    matches; picking one puts its id in a hidden input named after the field, which is what
    the form posts. Typing again clears the choice. Without JavaScript the typed text is posted
    (as ``<name>_q``) and must name exactly one organisation."""

    template_name = "reviews/_organisation_picker.html"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        chosen = str(data.get(name) or "").strip()
        if chosen:
            return chosen
        typed = str(data.get(f"{name}_q") or "").strip()
        return Typed(typed) if typed else ""

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and f"{name}_q" not in data

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = _organisation_of(value)
        typed = value.text if isinstance(value, Typed) else ""
        context = {
            "name": name,
            "id": (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}",
            "chosen": chosen,
            "text": chosen.name if chosen is not None else typed,
            "suggest_url": reverse("reviews:organisation_suggest"),
        }
        return SafeString(render_to_string(self.template_name, context))


def _organisation_of(value: Any) -> Organisation | None:
    if isinstance(value, Organisation):
        return value
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        return organisation_by_pk(pk=int(value))
    return None


class OrganisationField(forms.Field):
    """An organisation chosen through :class:`OrganisationPicker`; checked on the server: the
    posted id must exist (or the typed text name exactly one organisation)."""

    widget = OrganisationPicker
    default_error_messages = {
        "invalid": _("Choose an organisation from the suggestions."),
    }

    def to_python(self, value: Any) -> Organisation | None:
        if value in (None, ""):
            return None
        if isinstance(value, Typed):
            found = organisation_match(text=value.text)
        else:
            found = _organisation_of(value)
        if found is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return found

    def prepare_value(self, value: Any) -> Any:
        return value.pk if isinstance(value, Organisation) else value


class ExpertForm(forms.Form):
    code = forms.CharField(label=_("Expert number"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=100)
    organisation = OrganisationField(
        label=_("Organisation"),
        help_text=_("Type a name, USCC or Hong Kong / Macao registration number and pick one."),
    )
    region = forms.ChoiceField(label=_("Region"), choices=Region.choices, initial="CN")
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    fields_ = forms.MultipleChoiceField(
        label=_("Review fields"), choices=(), widget=forms.CheckboxSelectMultiple
    )
    max_load = forms.IntegerField(
        label=_("Own maximum load"),
        required=False,
        min_value=1,
        help_text=_("Leave empty to use each stage's maximum."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    account = forms.ModelChoiceField(
        label=_("Sign-in account"),
        required=False,
        queryset=User.objects.none(),
        help_text=_("An account with the expert role, so the expert can use the portal."),
    )

    def __init__(self, *args: Any, expert: Expert | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expert = expert
        choice = self.fields["fields_"]
        assert isinstance(choice, forms.MultipleChoiceField)
        choice.choices = field_choices()
        account = self.fields["account"]
        assert isinstance(account, forms.ModelChoiceField)
        account.queryset = User.objects.filter(role=Role.EXPERT, expert__isnull=True).order_by(
            "username"
        )
        if expert is not None:  # the number and the account are fixed once created
            del self.fields["code"]
            del self.fields["account"]

    @classmethod
    def initial_from(cls, expert: Expert) -> dict[str, Any]:
        return {
            "name": expert.name,
            "organisation": expert.organisation_id,
            "region": expert.region,
            "title": expert.title,
            "fields_": list(expert.fields),
            "max_load": expert.max_load,
            "active": expert.active,
        }


class AdmissionForm(forms.Form):
    conditions = forms.MultipleChoiceField(
        label=_("Conditions met"), required=False, choices=(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, conditions: list[AdmissionCondition], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice = self.fields["conditions"]
        assert isinstance(choice, forms.MultipleChoiceField)
        choice.choices = [(c.code, c.label_en if _english() else c.label) for c in conditions]


class AssignForm(forms.Form):
    seed = forms.IntegerField(
        label=_("Seed"),
        min_value=0,
        initial=0,
        help_text=_("The same seed and input give the same assignment."),
    )


class DismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for dismissal"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Required, and kept in the audit log."),
    )


class DeclareForm(forms.Form):
    declaration = forms.ChoiceField(
        label=_("Declaration"),
        widget=forms.RadioSelect,
        choices=[
            ("none", _("I have no conflict of interest with this application")),
            ("conflict", _("I have a conflict of interest, or cannot review it")),
        ],
    )
    reason = forms.CharField(
        label=_("Reason (when declining)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ScoreForm(forms.Form):
    """One number field per rubric criterion (its range as the field's bounds), and a comment."""

    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, rubric: Rubric, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rubric = rubric
        english = _english()
        for c in rubric.criteria:
            label = c.label_en if english else c.label_zh
            self.fields[f"mark_{c.code}"] = forms.DecimalField(
                label=f"{label} ({c.min:f}–{c.max:f}, ×{c.weight:f})",
                min_value=c.min,
                max_value=c.max,
                max_digits=7,
                decimal_places=2,
            )
        self.order_fields([*(f"mark_{c.code}" for c in rubric.criteria), "comment"])

    def marks(self) -> dict[str, Decimal]:
        return {c.code: self.cleaned_data[f"mark_{c.code}"] for c in self.rubric.criteria}

    @classmethod
    def initial_from(cls, marks: dict[str, Any], comment: str) -> dict[str, Any]:
        return {"comment": comment, **{f"mark_{k}": v for k, v in marks.items()}}
