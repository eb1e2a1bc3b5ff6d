"""Forms of the QC pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.manufacturing.models import ProductUnit
from cellchain.qc.models import AnalyticalMethod, QcResult, QcSample
from cellchain.signatures.forms import SignForm


class ResultForm(forms.Form):
    item_code = forms.ChoiceField(label=_("Test"))
    value = forms.DecimalField(label=_("Value"), required=False, max_digits=30, decimal_places=6)
    outcome = forms.ChoiceField(
        label=_("Outcome"), required=False, choices=[("", "—"), *QcResult.Outcome.choices]
    )
    ordered = forms.BooleanField(label=_("Ordered only (result pending)"), required=False)
    sample = forms.ModelChoiceField(label=_("Sample"), required=False, queryset=QcSample.objects.none())
    method = forms.ModelChoiceField(
        label=_("Method (if not the specification's)"),
        required=False,
        queryset=AnalyticalMethod.objects.filter(voided_at__isnull=True),
    )
    issuing_lab = forms.CharField(label=_("Issuing laboratory"), required=False, max_length=200)
    third_party = forms.BooleanField(label=_("Issued by a qualified third party"), required=False)
    reason = forms.CharField(label=_("Reason (for a retest)"), required=False, max_length=300)

    def __init__(self, *args: Any, items: list[tuple[str, str]], samples: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item_code"].choices = items  # type: ignore[attr-defined]
        if samples is not None:
            self.fields["sample"].queryset = samples  # type: ignore[attr-defined]


class SampleForm(forms.Form):
    sampling_point = forms.CharField(label=_("Sampling point"), max_length=80)


class AmendForm(forms.Form):
    value = forms.DecimalField(label=_("Corrected value"), required=False, max_digits=30, decimal_places=6)
    outcome = forms.ChoiceField(
        label=_("Corrected outcome"), required=False, choices=[("", "—"), *QcResult.Outcome.choices]
    )
    reason = forms.CharField(label=_("Reason for the correction"), max_length=300)


class ImportForm(forms.Form):
    item_code = forms.ChoiceField(label=_("Test"))
    file = forms.FileField(label=_("Instrument file"))
    control = forms.FileField(label=_("Untransduced control (FCS)"), required=False)
    sample_name = forms.CharField(label=_("Sample / well name in the file"), required=False, max_length=120)
    reason = forms.CharField(label=_("Reason (for a retest)"), required=False, max_length=300)

    def __init__(self, *args: Any, items: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item_code"].choices = items  # type: ignore[attr-defined]


class RetainedForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Retained-sample unit"), queryset=ProductUnit.objects.none())
    container = forms.CharField(label=_("Tank or freezer"), max_length=40)
    rack = forms.CharField(label=_("Rack"), max_length=20)
    box = forms.CharField(label=_("Box"), max_length=20)
    position = forms.CharField(label=_("Position"), max_length=20)

    def __init__(self, *args: Any, units: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]


class ReviewForm(SignForm):
    note = forms.CharField(label=_("Review note"), required=False, max_length=500)


class ReleaseForm(SignForm):
    outcome = forms.CharField(widget=forms.HiddenInput)


class RejectForm(SignForm):
    reason = forms.CharField(label=_("Reason for rejection"), max_length=500)
