"""The signing form: the password (and one-time code when set up) is asked again at signing (11.200(a))."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SignForm(forms.Form):
    password = forms.CharField(
        label=_("Your password (to sign)"),
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    totp_code = forms.CharField(
        label=_("One-time code (if set up)"),
        max_length=8,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class SecondPersonForm(forms.Form):
    """The verifier of a two-person check types username and password at the same terminal."""

    verifier_username = forms.CharField(label=_("Verifier's username"), max_length=150)
    verifier_password = forms.CharField(
        label=_("Verifier's password"),
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
