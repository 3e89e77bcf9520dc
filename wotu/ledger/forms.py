"""Forms of the finance screens. They parse what a browser sends; the rules (who may pay what,
four eyes, balances, file contents) are the services'.

Every form that moves money carries an idempotency key minted when the page is drawn
(``key``, hidden): pressing the button twice, or the browser re-sending the POST, replays the
first result instead of booking twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from wotu.ledger.models import FundingSource, Tranche
from wotu.programmes.models import Programme


def key_new(scope: str) -> str:
    return f"web:{scope}:{uuid.uuid4().hex}"


class KeyForm(forms.Form):
    """Just the idempotency key: submit, approve and export buttons."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=200)


class CommitmentCancelForm(KeyForm):
    """Why a commitment is cancelled (required; kept in the audit chain and the reversal's memo)."""

    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. award withdrawn, project ended")}),
    )


class DashboardFilterForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Year"), required=False, coerce=int, empty_value=None)
    programme = forms.ModelChoiceField(
        label=_("Programme"), queryset=Programme.objects.all(), required=False,
        empty_label=_("All programmes"),
    )  # fmt: skip
    source = forms.ModelChoiceField(
        label=_("Funding source"), queryset=FundingSource.objects.all(), required=False,
        empty_label=_("All sources"),
    )  # fmt: skip

    def __init__(self, *args: Any, years: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        year_field: Any = self.fields["year"]
        year_field.choices = [("", _("All years"))] + [(y, str(y)) for y in years]


class TrancheChoice(forms.ModelMultipleChoiceField[Tranche]):
    def label_from_instance(self, obj: Any) -> str:
        tranche: Tranche = obj
        c = tranche.commitment
        return f"{c.payee.name} · {c.programme.code} · #{tranche.order} · {tranche.amount}"


class BatchPrepareForm(KeyForm):
    """The page lists the payable tranches; any tranche id is accepted here so that a re-sent
    form (same key) replays its batch, and the service says why another tranche is refused."""

    tranches = TrancheChoice(
        label=_("Payable tranches"), queryset=Tranche.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one tranche to pay.")},
    )  # fmt: skip


def _upload_checked(
    upload: UploadedFile[bytes] | None, *, suffixes: tuple[str, ...]
) -> UploadedFile[bytes]:
    if upload is None:
        raise forms.ValidationError(_("Choose a file."))
    name = (upload.name or "").lower()
    if not name.endswith(suffixes):
        raise forms.ValidationError(
            _("Unsupported file type: use %(types)s.") % {"types": " / ".join(suffixes)}
        )
    if (upload.size or 0) > settings.WOTU_MAX_UPLOAD_BYTES:
        raise forms.ValidationError(_("The file is too large."))
    return upload


class ReturnFileForm(KeyForm):
    file = forms.FileField(label=_("Bank return file (CSV or Excel)"))

    def clean_file(self) -> UploadedFile[bytes]:
        return _upload_checked(self.cleaned_data.get("file"), suffixes=(".csv", ".xlsx"))


class FxImportForm(forms.Form):
    file = forms.FileField(label=_("Rate table (CSV or Excel)"))
    source = forms.CharField(
        label=_("Source of the rates"), max_length=100, required=False,
        help_text=_("Used for rows that do not name their source, e.g. PBoC central parity."),
    )  # fmt: skip

    def clean_file(self) -> UploadedFile[bytes]:
        return _upload_checked(self.cleaned_data.get("file"), suffixes=(".csv", ".xlsx"))
