"""Forms of the quality review pages: open a draft, write conclusions, sign."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.reviews.models import QualityReview
from cellchain.signatures.forms import SignForm


class DraftForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=QualityReview.Kind.choices)
    site = forms.ModelChoiceField(label=_("Site or team"), queryset=None, required=False)
    product = forms.ModelChoiceField(
        label=_("Product (annual product review)"), queryset=None, required=False
    )
    since = forms.DateField(label=_("Period from"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Period to"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, sites: Any, products: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]
        self.fields["product"].queryset = products  # type: ignore[attr-defined]


class ConcludeForm(forms.Form):
    conclusions = forms.CharField(label=_("Conclusions"), widget=forms.Textarea(attrs={"rows": 4}))
    actions = forms.CharField(
        label=_("Actions decided"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class ReviewSignForm(SignForm):
    pass
