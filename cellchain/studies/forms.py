"""Forms of the study record pages: draft and issue a statistical report, tick a document, archive."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.signatures.forms import SignForm
from cellchain.studies.models import DOCUMENT_CHOICES


class ReportDraftForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    site = forms.ModelChoiceField(label=_("Site"), queryset=None)
    product = forms.ModelChoiceField(label=_("Product (all when empty)"), queryset=None, required=False)
    protocol_ref = forms.CharField(label=_("Protocol (all when empty)"), max_length=80, required=False)
    since = forms.DateField(label=_("Infused from"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Infused until"), widget=forms.DateInput(attrs={"type": "date"}))
    main_operator = forms.ModelChoiceField(label=_("Main operator (reviews and signs)"), queryset=None)

    def __init__(self, *args: Any, sites: Any, products: Any, operators: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites  # type: ignore[attr-defined]
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
        self.fields["main_operator"].queryset = operators  # type: ignore[attr-defined]


class ReportIssueForm(SignForm):
    pass


class TickForm(forms.Form):
    document = forms.ChoiceField(label=_("Source document"), choices=DOCUMENT_CHOICES)
    present = forms.TypedChoiceField(
        label=_("On file"),
        choices=[("yes", _("On file")), ("no", _("Missing"))],
        coerce=lambda value: value == "yes",
    )
    reason = forms.CharField(label=_("Where it is filed, or why it is missing"), max_length=200)


class ArchiveForm(forms.Form):
    archive_ref = forms.CharField(label=_("Where the archived copy is kept"), max_length=200)
