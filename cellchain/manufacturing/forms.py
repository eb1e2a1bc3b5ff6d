"""Forms of the manufacturing pages; they parse input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.manufacturing.models import Equipment, MaterialLot, ProductionArea, ProductVersion, Supplier
from cellchain.signatures.forms import SecondPersonForm, SignForm


class ScanField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        attrs = {"class": "scan-input", "autocomplete": "off", "data-scan": "", "autofocus": True}
        kwargs.setdefault("label", _("Scan the bag label"))
        super().__init__(max_length=120, widget=forms.TextInput(attrs=attrs), **kwargs)


class IntakeForm(forms.Form):
    scan = ScanField()
    bag_intact = forms.BooleanField(label=_("Bag intact, no leak or damage"), required=False)
    temperature_ok = forms.BooleanField(label=_("Transport temperature within range"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class BatchStartForm(forms.Form):
    version = forms.ModelChoiceField(label=_("Product version"), queryset=ProductVersion.objects.none())
    area = forms.ModelChoiceField(label=_("Production unit or room"), queryset=ProductionArea.objects.none())
    scan = ScanField()

    def __init__(self, *args: Any, versions: Any, areas: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = versions  # type: ignore[attr-defined]
        self.fields["area"].queryset = areas  # type: ignore[attr-defined]


class StepStartForm(forms.Form):
    step = forms.SlugField(widget=forms.HiddenInput)
    area = forms.ModelChoiceField(
        label=_("Room (room-based mode)"), queryset=ProductionArea.objects.none(), required=False
    )
    scan = ScanField()

    def __init__(self, *args: Any, rooms: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = rooms  # type: ignore[attr-defined]


class ParameterForm(forms.Form):
    code = forms.SlugField(widget=forms.HiddenInput)
    value = forms.CharField(label=_("Value"), max_length=200, required=False)
    reason = forms.CharField(label=_("Reason for change"), max_length=300, required=False)


class EquipmentUseForm(forms.Form):
    equipment = forms.ModelChoiceField(label=_("Equipment"), queryset=Equipment.objects.none())

    def __init__(self, *args: Any, equipment: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["equipment"].queryset = equipment  # type: ignore[attr-defined]


class MaterialUseForm(forms.Form):
    lot = forms.ModelChoiceField(label=_("Material lot"), queryset=MaterialLot.objects.none())
    quantity = forms.CharField(label=_("Quantity"), max_length=60)

    def __init__(self, *args: Any, lots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = lots  # type: ignore[attr-defined]


class FillForm(forms.Form):
    patient_units = forms.IntegerField(label=_("Patient units"), min_value=0, max_value=20)
    qc_units = forms.IntegerField(label=_("QC units"), min_value=0, max_value=20)
    retained_units = forms.IntegerField(label=_("Retained-sample units"), min_value=0, max_value=20)
    volume_per_unit_ml = forms.DecimalField(label=_("Volume per unit (mL)"), max_digits=8, decimal_places=2)


class StepCompleteForm(forms.Form):
    password = forms.CharField(
        label=_("Your password (when the step is signed)"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    totp_code = forms.CharField(label=_("One-time code (if set up)"), max_length=8, required=False)


class ApproveForm(SignForm):
    pass


class LineClearanceForm(SignForm, SecondPersonForm):
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


# --------------------------------------------------------------------------- suppliers and lots (P-1.1-a/b)


class SupplierForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=200)
    supplies = forms.CharField(label=_("What it supplies"), max_length=300)
    audit_reference = forms.CharField(
        label=_("Audit or questionnaire reference"), max_length=200, required=False
    )


class SupplierQualifyForm(SignForm):
    reason = forms.CharField(label=_("Reason"), max_length=500)
    requalify_by = forms.DateField(
        label=_("Next requalification due"), widget=forms.DateInput(attrs={"type": "date"})
    )
    audit_reference = forms.CharField(
        label=_("Audit or questionnaire reference"), max_length=200, required=False
    )
    conditional = forms.BooleanField(label=_("Qualified under conditions only"), required=False)


class SupplierDisqualifyForm(SignForm):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class LotForm(forms.Form):
    material = forms.CharField(label=_("Material"), max_length=120)
    lot = forms.CharField(label=_("Lot"), max_length=60)
    registered_supplier = forms.ModelChoiceField(label=_("Supplier"), queryset=Supplier.objects.none())
    expires_on = forms.DateField(label=_("Expires on"), widget=forms.DateInput(attrs={"type": "date"}))
    documents_attached = forms.BooleanField(label=_("Origin documents attached"), required=False)
    research_use_only = forms.BooleanField(label=_("Research use only"), required=False)
    biological_origin = forms.BooleanField(label=_("Biological origin"), required=False)
    risk_assessment_approved = forms.BooleanField(label=_("Risk assessment approved"), required=False)
    is_vector = forms.BooleanField(label=_("Viral vector"), required=False)
    rcl_culture_passed = forms.BooleanField(label=_("RCL/RCR culture test passed"), required=False)

    def __init__(self, *args: Any, suppliers: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["registered_supplier"].queryset = suppliers  # type: ignore[attr-defined]


class CertificateForm(forms.Form):
    coa = forms.FileField(label=_("Certificate of analysis (CoA)"))


class LotReleaseForm(SignForm):
    pass
