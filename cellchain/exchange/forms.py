"""Forms of the exchange pages (issue 12 items 1-2)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.exchange.models import Partner, QuarantinedMessage


class PartnerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    role = forms.ChoiceField(label=_("Role"), choices=Partner.Role.choices)
    base_url = forms.CharField(
        label=_("Base URL"),
        max_length=300,
        help_text=_("https://…, or http://127.0.0.1:port for a local partner"),
    )
    log_id = forms.CharField(label=_("Ledger log id"), max_length=100)
    public_key = forms.CharField(label=_("Public key (base64)"), max_length=100)
    fingerprint = forms.CharField(
        label=_("Fingerprint (SHA-256)"),
        max_length=64,
        required=False,
        help_text=_("As the partner published it; checked against the key."),
    )
    outbound_token = forms.CharField(
        label=_("Token the partner gave us"), required=False, widget=forms.PasswordInput(render_value=False)
    )


class DeactivateForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ReviewForm(forms.Form):
    disposition = forms.ChoiceField(
        label=_("Disposition"),
        choices=[
            (QuarantinedMessage.Disposition.DISMISSED, QuarantinedMessage.Disposition.DISMISSED.label),
            (
                QuarantinedMessage.Disposition.ACCEPTED_AFTER_FIX,
                QuarantinedMessage.Disposition.ACCEPTED_AFTER_FIX.label,
            ),
        ],
    )
    note = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}))
