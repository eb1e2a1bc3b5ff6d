from django import forms
from django.utils.translation import gettext_lazy as _


class DispositionForm(forms.Form):
    investigation = forms.CharField(label=_("Investigation"), widget=forms.Textarea(attrs={"rows": 4}))
    disposition = forms.CharField(label=_("Disposition"), widget=forms.Textarea(attrs={"rows": 3}))
    capa = forms.CharField(
        label=_("Corrective and preventive action"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
