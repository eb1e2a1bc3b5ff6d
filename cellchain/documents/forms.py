"""Forms of the controlled-document pages (issue 13 item 1)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.documents.models import ControlledDocument, Step
from cellchain.signatures.forms import SignForm

DATE = forms.DateInput(attrs={"type": "date"})


class DocumentForm(forms.Form):
    code = forms.CharField(label=_("Document code"), max_length=40)
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=ControlledDocument.Kind.choices)
    site = forms.ModelChoiceField(label=_("Site (empty: every site)"), queryset=None, required=False)
    step = forms.ChoiceField(label=_("Step it governs"), choices=Step.choices, required=False)
    drug_management = forms.BooleanField(
        label=_("Drug-management procedure (a pharmacist authors or reviews it, T-5.3.5.2)"), required=False
    )

    def __init__(self, *args: Any, sites: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]


class VersionForm(forms.Form):
    label = forms.CharField(label=_("Version"), max_length=20)
    effective_from = forms.DateField(label=_("Effective date"), widget=DATE)
    review_interval_months = forms.IntegerField(
        label=_("Review interval (months)"), min_value=1, max_value=60, initial=24
    )
    text = forms.CharField(label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 8}))
    file = forms.FileField(label=_("Or the document file (its SHA-256 is recorded)"), required=False)
    change_summary = forms.CharField(
        label=_("What changed"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class NoteSignForm(SignForm):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PeriodicReviewForm(SignForm):
    note = forms.CharField(label=_("What the review found"), widget=forms.Textarea(attrs={"rows": 2}))


class RetireForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
