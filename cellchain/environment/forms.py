"""Forms of the clean-zone pages; they parse input, the services decide (T-5.1.6)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.environment.models import AreaCleaning, Parameter
from cellchain.manufacturing.models import AreaPurpose, CleanlinessGrade, MaterialLot


class CleaningForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AreaCleaning.Kind.choices)
    agent = forms.CharField(label=_("Agent and lot"), max_length=200)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ResultForm(forms.Form):
    parameter = forms.ChoiceField(label=_("Parameter"), choices=Parameter.choices)
    value = forms.DecimalField(label=_("Value"), min_value=0, max_digits=12, decimal_places=2)
    sample_point = forms.CharField(label=_("Sample point"), max_length=80, required=False)


class LimitForm(forms.Form):
    grade = forms.ChoiceField(label=_("Cleanliness grade"), choices=CleanlinessGrade.choices)
    parameter = forms.ChoiceField(label=_("Parameter"), choices=Parameter.choices)
    alert = forms.DecimalField(label=_("Alert limit"), min_value=0, max_digits=12, decimal_places=2)
    action = forms.DecimalField(label=_("Action limit"), min_value=0, max_digits=12, decimal_places=2)
    reason = forms.CharField(label=_("Reason for a change"), max_length=500, required=False)


class AreaEnvironmentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=[("", "—"), *AreaPurpose.choices], required=False)
    grade = forms.ChoiceField(
        label=_("Cleanliness grade"),
        choices=[("", _("Unclassified")), *CleanlinessGrade.choices],
        required=False,
    )
    hvac_system = forms.CharField(label=_("HVAC system"), max_length=40, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class PlacementForm(forms.Form):
    lot = forms.ModelChoiceField(label=_("Vector lot"), queryset=MaterialLot.objects.none(), required=False)
    unit_din = forms.CharField(label=_("or the cell unit's DIN"), max_length=13, required=False)
    position = forms.CharField(label=_("Position (freezer, rack, box)"), max_length=80, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["lot"].queryset = MaterialLot.objects.filter(is_vector=True, voided_at__isnull=True)  # type: ignore[attr-defined]
