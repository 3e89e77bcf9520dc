"""Forms of the registry screens. They parse and check what a browser sends; the facts
themselves are validated by the importer's rules (``services.facts_save_one``), not here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from wotu.core.districts import DISTRICTS
from wotu.organisations.facts import COLUMNS, MAX_YEAR, MIN_YEAR, Column, FactError
from wotu.organisations.facts_io import SUPPORTED_SUFFIXES
from wotu.organisations.models import EnterpriseYear, Kind, Region, Sector
from wotu.organisations.selectors import RegistryFilter

QUALIFICATION_CHOICES = [
    ("", _("Any qualification")),
    ("tech_sme", _("Tech-based SME")),
    ("hitech", _("Valid high-tech certificate")),
    ("listing_pool", _("Listing cultivation pool")),
    ("listed", _("Listed")),
]


def district_choices() -> list[tuple[str, str]]:
    english = (get_language() or "").startswith("en")
    return [("", str(_("Any district")))] + [
        (code, names[1] if english else names[0]) for code, names in DISTRICTS.items()
    ]


class RegistrySearchForm(forms.Form):
    """The registry's search box and filters. Invalid values are dropped, never an error page."""

    q = forms.CharField(label=_("Name or USCC"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *Kind.choices]
    )
    region = forms.ChoiceField(
        label=_("Region"), required=False, choices=[("", _("Any region")), *Region.choices]
    )
    district = forms.ChoiceField(label=_("District"), required=False, choices=())
    qualification = forms.ChoiceField(
        label=_("Qualification"), required=False, choices=QUALIFICATION_CHOICES
    )
    year = forms.IntegerField(
        label=_("Year"), required=False, min_value=MIN_YEAR, max_value=MAX_YEAR
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        district = self.fields["district"]
        assert isinstance(district, forms.ChoiceField)
        district.choices = district_choices()

    def filters(self) -> RegistryFilter:
        self.is_valid()
        data = {
            name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors
        }
        return RegistryFilter(
            q=data.get("q") or "",
            kind=data.get("kind") or "",
            region=data.get("region") or "",
            district=data.get("district") or "",
            qualification=data.get("qualification") or "",
            year=data.get("year"),
        )


# ---------------------------------------------------------------------------------------------
# One year's facts


def _widget(column: Column) -> forms.Widget:
    attrs: dict[str, str] = {"autocomplete": "off"}
    if column.required:
        attrs["aria-required"] = "true"
    if column.kind == "money":
        attrs |= {"inputmode": "decimal", "class": "input--number", "placeholder": "0.00"}
    elif column.kind in {"int", "year_or_empty", "year"}:
        attrs |= {"inputmode": "numeric", "class": "input--number"}
    elif column.kind == "district":
        attrs |= {"inputmode": "numeric", "list": "district-codes", "maxlength": "6"}
    elif column.kind == "date":
        return forms.DateInput(attrs=attrs | {"type": "date"})
    elif column.kind == "bool":
        return forms.CheckboxInput()
    elif column.kind == "sector":
        return forms.Select(choices=[("", _("(not given)")), *Sector.choices])
    return forms.TextInput(attrs=attrs)


def fact_label(column: Column) -> str:
    """The column's label in the active language (the contract's Chinese name in zh)."""
    if not (get_language() or "zh").startswith("en"):
        return column.zh
    if column.name == "uscc":
        return "USCC"
    field = EnterpriseYear._meta.get_field(column.name)
    return capfirst(str(getattr(field, "verbose_name", column.name)))


class FactsForm(forms.Form):
    """Every column of the facts contract except ``uscc`` (the organisation's) and, when
    editing, ``year`` (the URL's). Values stay strings: the importer's rules check them."""

    def __init__(
        self, *args: Any, new_year_after: frozenset[int] | None = None, **kwargs: Any
    ) -> None:
        """``new_year_after``: the years already recorded, when the form adds a new year."""
        super().__init__(*args, **kwargs)
        self.known_years = new_year_after or frozenset()
        self.summary: list[dict[str, Any]] = []
        self.columns: dict[str, Column] = {}
        for column in COLUMNS:
            if column.name == "uscc" or (column.name == "year" and new_year_after is None):
                continue
            field: forms.Field
            if column.kind == "bool":
                field = forms.BooleanField(required=False)
            else:
                field = forms.CharField(required=False, strip=True, max_length=200)
            field.label = fact_label(column)
            field.widget = _widget(column)
            field.widget.is_required = False
            self.fields[column.name] = field
            self.columns[column.name] = column

    def raw_values(self) -> dict[str, Any]:
        """The values for ``facts_save_one``: text as typed, booleans as true/false."""
        assert self.is_valid()
        values: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if isinstance(value, bool):
                values[name] = "true" if value else "false"
            else:
                values[name] = value or None
        return values

    def clean_year(self) -> int:
        text = str(self.cleaned_data.get("year") or "")
        if not (text.isdigit() and MIN_YEAR <= int(text) <= MAX_YEAR):
            raise forms.ValidationError(_("A year must be a 4-digit number such as 2023."))
        if int(text) in self.known_years:
            raise forms.ValidationError(
                _("Facts for %(year)s already exist: edit them instead."), params={"year": text}
            )
        return int(text)

    def add_fact_errors(self, errors: list[FactError]) -> None:
        """Show each problem next to its field (in the reader's language) and in the summary
        (in both languages); problems of no single field go on top."""
        english = (get_language() or "").startswith("en")
        for error in errors:
            primary, secondary = (error.en, error.zh) if english else (error.zh, error.en)
            name = error.column if error.column in self.fields else None
            self.add_error(name, primary)
            self.summary.append(
                {"field": self[name] if name else None, "text": primary, "other": secondary}
            )

    @staticmethod
    def initial_from(row: EnterpriseYear) -> dict[str, Any]:
        initial: dict[str, Any] = {}
        for column in COLUMNS:
            if column.name == "uscc":
                continue
            value = getattr(row, column.name)
            if value is None:
                initial[column.name] = ""
            elif isinstance(value, Decimal):
                initial[column.name] = f"{value:.2f}"
            elif hasattr(value, "isoformat"):
                initial[column.name] = value.isoformat()
            else:
                initial[column.name] = value
        return initial


# ---------------------------------------------------------------------------------------------
# Import and export


class FactsUploadForm(forms.Form):
    """Only that a file was sent: its name, size and content are checked by the import service
    (``services.facts_import_upload``), the same for the web and the API."""

    file = forms.FileField(
        label=_("Facts file"),
        help_text=_("CSV (UTF-8, header row), Excel .xlsx (first sheet) or Parquet."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(SUPPORTED_SUFFIXES)}),
    )


FORMAT_CHOICES = [("csv", "CSV"), ("xlsx", "Excel (.xlsx)"), ("parquet", "Parquet")]


class FactsExportForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=MIN_YEAR, max_value=MAX_YEAR)
    format = forms.ChoiceField(
        label=_("Format"), choices=FORMAT_CHOICES, initial="csv", widget=forms.RadioSelect
    )
