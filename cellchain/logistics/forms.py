"""Forms of the shipment page's packing, hand-off and arrival actions: they parse, the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.signatures.forms import SecondPersonForm, SignForm

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class ScanForm(forms.Form):
    """One keyboard-wedge scan: a typed DIN or a label's DataMatrix, spaces and all (G-4)."""

    scan = forms.CharField(label=_("Scan"), max_length=120, strip=True)


class PackVerifyForm(SignForm, SecondPersonForm):
    """The two-person check of the packing: the packer signs, a second packer types username and password at
    the same terminal (X-5)."""

    verifier_totp_code = forms.CharField(
        label=_("Verifier's one-time code (if set up)"),
        max_length=8,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )


class LoggerLinkForm(forms.Form):
    serial = forms.CharField(label=_("Logger serial"), max_length=40)
    interval_s = forms.IntegerField(
        label=_("Logging interval (s)"), min_value=1, max_value=86400, initial=300
    )
    armed_at = forms.DateTimeField(
        label=_("Armed at (site time; empty: now)"),
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


class DispatchForm(forms.Form):
    courier = forms.CharField(label=_("Courier"), max_length=120)
