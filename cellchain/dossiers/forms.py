"""The request form of an export: what kind, and which batch or journey (issue 14 item 6)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.dossiers.models import DossierExport


class ExportRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Export"), choices=DossierExport.Kind.choices)
    subject = forms.CharField(
        label=_("Batch number or journey COI"),
        max_length=40,
        required=False,
        help_text=_("Scan or type it; leave empty for the whole audit trail."),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters"}
        ),
    )
