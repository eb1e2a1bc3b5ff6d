"""The answer form of a self-assessment item: answer, evidence, note, next review, reason, and the signature."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.assessment.models import AssessmentAnswer
from cellchain.signatures.forms import SignForm

# The documents set no review interval; a year is offered and the reviewer may change it.
DEFAULT_REVIEW_INTERVAL = dt.timedelta(days=365)


class AnswerForm(SignForm):
    answer = forms.ChoiceField(
        label=_("Answer"), choices=AssessmentAnswer.Value.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for “no” (what is missing) and “not applicable” (why)."),
    )
    evidence_file = forms.FileField(
        label=_("Evidence file"),
        required=False,
        help_text=_("PDF or image of the certificate, layout, record."),
    )
    keep_file = forms.BooleanField(label=_("Keep the file attached before"), required=False, initial=True)
    evidence_link = forms.CharField(
        label=_("Link to the record that proves it"),
        required=False,
        max_length=300,
        help_text=_("The address of a CellChain page, e.g. /manufacturing/equipment/."),
    )
    evidence_reference = forms.CharField(
        label=_("Document reference"),
        required=False,
        max_length=200,
        help_text=_("Number and version in the site's document system, or a certificate number."),
    )
    next_review = forms.DateField(label=_("Next review"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(
        label=_("Reason for the change"),
        required=False,
        max_length=500,
        help_text=_("Required when the item was answered before, e.g. “annual review”."),
    )
    field_order = [
        "answer", "note", "evidence_file", "keep_file", "evidence_link", "evidence_reference", "next_review",
        "reason", "password", "totp_code",
    ]  # fmt: skip

    def __init__(
        self,
        *args: Any,
        today: dt.date,
        answered: AssessmentAnswer | None = None,
        suggested: tuple[str, str] = ("", ""),
        **kwargs: Any,
    ) -> None:
        """`suggested` is the answer and record page of the system's records: offered for a first answer."""
        super().__init__(*args, **kwargs)
        self.fields["next_review"].initial = today + DEFAULT_REVIEW_INTERVAL
        if answered is None:
            del self.fields["reason"], self.fields["keep_file"]
            self.fields["answer"].initial, self.fields["evidence_link"].initial = suggested
            return
        for name in ("answer", "note", "evidence_link", "evidence_reference"):
            self.fields[name].initial = getattr(answered, name)
        if answered.evidence_file_id is None:
            del self.fields["keep_file"]
        self.fields["reason"].required = True
