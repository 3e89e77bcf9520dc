"""Forms of the programme screens. They parse what a browser sends and show errors next to their
fields; the rules themselves (form spec, budget, who may apply, eligibility, windows) are the
services', which report every problem at once (:class:`wotu.programmes.services.Invalid`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from wotu.organisations.models import Kind, Organisation, Region
from wotu.programmes.eligibility import RULES
from wotu.programmes.formschema import FieldError, FieldSpec, form_spec_validate
from wotu.programmes.models import Application, Programme, Status
from wotu.reviews.fields import FIELDS

APPLICANT_KINDS = [(k.value, k.label) for k in (Kind.ENTERPRISE, Kind.UNIVERSITY, Kind.INSTITUTE)]
ANSWER = "answer_"
BUDGET = "budget_"


def english() -> bool:
    return (get_language() or "").startswith("en")


def bilingual(zh: str, en: str) -> str:
    return en if english() else zh


def field_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(f.code, bilingual(f.zh, f.en)) for f in FIELDS]


class ServiceErrors:
    """Put a service's :class:`FieldError` list next to the form's fields (the other language
    kept for the summary); what belongs to no field goes to the non-field errors."""

    def field_for(self, name: str) -> str | None:
        raise NotImplementedError

    def add_service_errors(self, errors: Sequence[FieldError]) -> None:
        form: Any = self
        for error in errors:
            name = self.field_for(error.field)
            message = bilingual(error.message_zh, error.message_en)
            form.add_error(name if name in form.fields else None, message)


# --- applications -----------------------------------------------------------------------------


class ApplicationForm(ServiceErrors, forms.Form):
    """The programme's own form (``answer_<name>``), budget lines (``budget_<code>``), and the
    fixed parts: title, field, requested total and co-applicants (identifiers, one a line)."""

    title = forms.CharField(label=_("Project title"), max_length=200, required=False)
    field = forms.ChoiceField(label=_("Field"), required=False, choices=())
    requested = forms.CharField(
        label=_("Requested total (CNY)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    partners = forms.CharField(
        label=_("Co-applicants"),
        required=False,
        help_text=_("USCC or Hong Kong / Macao registration number, one per line."),
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
    )

    def __init__(
        self, *args: Any, programme: Programme, application: Application | None = None, **kw: Any
    ) -> None:
        if application is not None and not args and "initial" not in kw:
            kw["initial"] = application_initial(application)
        super().__init__(*args, **kw)
        self.programme = programme
        self.specs = form_spec_validate(spec=programme.form).fields
        field = self.fields["field"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = field_choices()
        self.required_names = {"title", "field", "requested"}
        for spec in self.specs:
            self.fields[ANSWER + spec.name] = answer_field(spec)
            if spec.required:
                self.required_names.add(ANSWER + spec.name)
        for line in programme.budget_lines:
            self.fields[BUDGET + line["code"]] = forms.CharField(
                label=bilingual(line["label_zh"], line["label_en"]),
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )
        self.partner_ids: list[int] = []

    def answer_fields(self) -> list[forms.BoundField]:
        return [self[ANSWER + spec.name] for spec in self.specs]

    def budget_fields(self) -> list[forms.BoundField]:
        return [self[BUDGET + line["code"]] for line in self.programme.budget_lines]

    def clean_partners(self) -> str:
        text: str = self.cleaned_data.get("partners") or ""
        identifiers = [line.strip().upper() for line in text.replace(",", "\n").splitlines()]
        identifiers = [i for i in identifiers if i]
        found = {
            (o.uscc or o.local_id).upper(): o.pk
            for o in Organisation.objects.filter(
                Q(uscc__in=identifiers) | Q(local_id__in=identifiers)
            ).only("pk", "uscc", "local_id")
        }
        missing = [i for i in identifiers if i not in found]
        if missing:
            raise forms.ValidationError(
                bilingual(
                    f"登记库中找不到 {', '.join(missing)}",
                    f"not in the registry: {', '.join(missing)}",
                )
            )
        self.partner_ids = [found[i] for i in identifiers]
        return text

    def service_arguments(self) -> dict[str, Any]:
        """What :func:`~wotu.programmes.services.application_draft_save` takes."""
        data = self.cleaned_data
        answers = {spec.name: data.get(ANSWER + spec.name) for spec in self.specs}
        files: dict[str, UploadedFile[bytes]] = {}
        for spec in self.specs:
            if spec.type == "file":
                upload = answers.pop(spec.name)
                if upload:
                    files[spec.name] = upload
        return {
            "title": data.get("title") or "",
            "field": data.get("field") or "",
            "answers": answers,
            "budget": {
                line["code"]: data.get(BUDGET + line["code"]) or ""
                for line in self.programme.budget_lines
            },
            "requested": data.get("requested") or None,
            "partners": self.partner_ids,
            "files": files,
        }

    def field_for(self, name: str) -> str | None:
        if name == "budget.total":
            return "requested"
        if name.startswith("budget."):
            return BUDGET + name.removeprefix("budget.")
        if name in ("title", "field", "partners"):
            return name
        if any(spec.name == name for spec in self.specs):
            return ANSWER + name
        return None


def answer_field(spec: FieldSpec) -> forms.Field:
    label = bilingual(spec.label_zh, spec.label_en)
    help_text = bilingual(spec.help_zh, spec.help_en)
    common: dict[str, Any] = {"label": label, "required": False, "help_text": help_text}
    if spec.type == "text":
        widget = forms.Textarea(attrs={"rows": 4}) if spec.max_length > 200 else forms.TextInput()
        return forms.CharField(widget=widget, strip=False, **common)
    if spec.type in ("number", "money"):
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if spec.type == "date":
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if spec.type == "choice":
        choices = [(c.value, bilingual(c.label_zh, c.label_en)) for c in spec.choices]
        if spec.multiple:
            return forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, **common
            )
        return forms.ChoiceField(choices=[("", "—"), *choices], **common)
    accept = ",".join(f".{'jpg' if k == 'jpeg' else k}" for k in spec.kinds)
    return forms.FileField(widget=forms.FileInput(attrs={"accept": accept}), **common)


def application_initial(application: Application) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "title": application.title,
        "field": application.field,
        "requested": f"{application.requested:.2f}" if application.requested else "",
        "partners": "\n".join(p.identifier for p in application.partners.all()),
    }
    initial |= {ANSWER + name: value for name, value in application.answers.items()}
    initial |= {BUDGET + code: value for code, value in application.budget.items()}
    return initial


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"), required=False, max_length=1000, widget=forms.Textarea
    )


class FormalCheckForm(ServiceErrors, forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        widget=forms.RadioSelect,
        choices=[
            ("pass", _("Pass: send to review")),
            ("return", _("Return for correction")),
            ("reject", _("Reject")),
        ],
    )
    note = forms.CharField(
        label=_("Note to the applicant"),
        required=False,
        max_length=4000,
        help_text=_("Required to return or reject; the applicant reads it."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def field_for(self, name: str) -> str | None:
        return name if name == "note" else None


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Status.choices]
    )

    def status_or_blank(self) -> str:
        return str(self.cleaned_data.get("status") or "") if self.is_valid() else ""


# --- programmes and calls ---------------------------------------------------------------------


class JSONText(forms.CharField):
    """JSON typed into a textarea, shown back indented."""

    widget = forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False, indent=2)
        return value

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if not text:
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                bilingual(f"不是有效的 JSON：{exc}", f"not valid JSON: {exc}")
            ) from exc


class ProgrammeForm(ServiceErrors, forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=60)
    title = forms.CharField(label=_("Title"), max_length=200)
    title_en = forms.CharField(label=_("English title"), max_length=200)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    budget = forms.DecimalField(label=_("Budget (CNY)"), max_digits=20, decimal_places=2)
    max_award = forms.DecimalField(
        label=_("Maximum per application (CNY)"), max_digits=20, decimal_places=2, required=False
    )
    kinds = forms.MultipleChoiceField(
        label=_("Who may apply"), choices=APPLICANT_KINDS, widget=forms.CheckboxSelectMultiple
    )
    regions = forms.MultipleChoiceField(
        label=_("Regions"), choices=Region.choices, widget=forms.CheckboxSelectMultiple
    )
    hkmo_may_lead = forms.BooleanField(label=_("HK/Macao organisations may lead"), required=False)
    eligibility = forms.MultipleChoiceField(
        label=_("Eligibility rules"), required=False, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    form = JSONText(label=_("Application form (JSON field specs)"), required=False)
    budget_lines = JSONText(label=_("Budget lines (JSON)"), required=False)
    pipeline = JSONText(label=_("Review pipeline (JSON stages)"))
    funding_partial = forms.ChoiceField(
        label=_("Where the budget runs out"),
        required=False,
        initial="none",
        choices=[
            ("none", _("Stop: the first request that does not fit and all below are not funded")),
            ("skip", _("Skip: pass over a request that does not fit, fund smaller ones below")),
            ("partial", _("Partial: the first request that does not fit gets what is left")),
        ],
    )
    funding_min_share = forms.CharField(
        label=_("Partial funding: minimum share of the request"),
        required=False,
        max_length=20,
        help_text=_("A decimal above 0 and at most 1, e.g. 0.5; only for partial funding."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = self.fields["eligibility"]
        assert isinstance(rules, forms.MultipleChoiceField)
        rules.choices = [(r.id, bilingual(r.label_zh, r.label_en)) for r in RULES.values()]

    def clean(self) -> dict[str, Any]:
        """``funding_partial`` and ``funding_min_share`` become the service's ``funding``; the
        service checks it (:func:`wotu.programmes.pipeline.funding_problems`)."""
        data: dict[str, Any] = super().clean() or {}
        funding: dict[str, str] = {"partial": data.pop("funding_partial", None) or "none"}
        share = (data.pop("funding_min_share", "") or "").strip()
        if share:
            funding["min_share"] = share
        data["funding"] = funding
        return data

    def field_for(self, name: str) -> str | None:
        if name == "funding.min_share":
            return "funding_min_share"
        if name.startswith("funding"):
            return "funding_partial"
        return name.split(".", 1)[0]


class CallForm(ServiceErrors, forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=60, help_text=_("e.g. qz2026"))
    title = forms.CharField(label=_("Title"), max_length=200)
    title_en = forms.CharField(label=_("English title"), max_length=200)
    opens_at = forms.DateTimeField(
        label=_("Opens at (Beijing time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    closes_at = forms.DateTimeField(
        label=_("Closes at (Beijing time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    conflict_years = forms.IntegerField(
        label=_("Conflict look-back (years)"), min_value=0, max_value=10, initial=3
    )

    def field_for(self, name: str) -> str | None:
        return name
