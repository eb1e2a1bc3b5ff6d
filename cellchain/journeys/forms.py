"""Forms of the journeys pages: parse strictly, then the view calls one service (STYLE habit 5)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.accounts.models import Site
from cellchain.domain.apheresis import Marker, PhysicianDecisionKind, ScreeningOutcome
from cellchain.domain.custody import SERVICE_ONLY_STEPS, CustodyStep
from cellchain.journeys.models import JourneyHold, LabelDisposition


class EnrolForm(forms.Form):
    name = forms.CharField(label=_("Patient name"), max_length=120)
    birth_date = forms.DateField(label=_("Birth date"), widget=forms.DateInput(attrs={"type": "date"}))
    hospital_record_number = forms.CharField(label=_("Hospital record number"), max_length=40)
    wristband_id = forms.CharField(label=_("Wristband id"), max_length=40)
    product_code = forms.CharField(label=_("Product code"), max_length=8, initial="S1395V00")
    product_name = forms.CharField(label=_("Product name"), max_length=120, initial="CAR-T")
    manufacturer_site = forms.ModelChoiceField(
        label=_("Manufacturing site"), queryset=Site.objects.filter(organisation__kind="manufacturer")
    )
    starting_material = forms.ChoiceField(
        label=_("Starting material"), choices=[("fresh", _("Fresh")), ("cryopreserved", _("Cryopreserved"))]
    )


class ConsentForm(forms.Form):
    form_version = forms.CharField(label=_("Consent form version"), max_length=40)
    signed_on = forms.DateField(label=_("Signed on"), widget=forms.DateInput(attrs={"type": "date"}))
    signer = forms.ChoiceField(
        label=_("Signed by"), choices=[("patient", _("Patient")), ("guardian", _("Guardian"))]
    )


class EligibilityForm(forms.Form):
    """The checklist of the protocol version in force, one yes/no per criterion (T-9.2.1-2).

    Each criterion is offered as "met" / "not met" with no default, so an item left unanswered is refused
    rather than read as "not met"."""

    def __init__(self, *args: object, criteria: Sequence[str] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.criteria = list(criteria)
        for index, criterion in enumerate(self.criteria):
            self.fields[f"c{index}"] = forms.ChoiceField(
                label=criterion,
                choices=[("yes", _("Met")), ("no", _("Not met"))],
                widget=forms.RadioSelect,
                required=False,
            )

    def answers(self) -> dict[str, bool]:
        """The answered criteria only: an unanswered one is left out, and the service refuses it."""
        return {
            c: self.cleaned_data[f"c{i}"] == "yes"
            for i, c in enumerate(self.criteria)
            if self.cleaned_data.get(f"c{i}") in ("yes", "no")
        }


class HoldForm(forms.Form):
    kind = forms.ChoiceField(label=_("Decision"), choices=JourneyHold.Kind.choices)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    password = forms.CharField(label=_("Your password (e-signature)"), widget=forms.PasswordInput)


class HoldLiftForm(forms.Form):
    reason = forms.CharField(label=_("Reason for lifting"), widget=forms.Textarea(attrs={"rows": 2}))
    password = forms.CharField(label=_("Your password (e-signature)"), widget=forms.PasswordInput)


class ChecklistForm(forms.Form):
    product_code = forms.CharField(label=_("Product code"), max_length=8, initial="S1395V00")
    protocol = forms.CharField(label=_("Protocol (as in the ethics approval)"), max_length=120)
    criteria = forms.CharField(label=_("Criteria, one per line"), widget=forms.Textarea(attrs={"rows": 6}))

    def criteria_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["criteria"].splitlines() if line.strip()]


class SiteCertifyForm(forms.Form):
    site = forms.ModelChoiceField(
        label=_("Collection site"), queryset=Site.objects.filter(organisation__kind="hospital")
    )
    number = forms.CharField(label=_("Certificate number"), max_length=40)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}))
    may_cryopreserve = forms.BooleanField(label=_("May cryopreserve apheresis"), required=False)
    evidence = forms.CharField(
        label=_("Evidence (training, audit)"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class BookForm(forms.Form):
    slot = forms.IntegerField(label=_("Slot"))


class ScreeningForm(forms.Form):
    marker = forms.ChoiceField(label=_("Marker"), choices=[(m.value, m.value) for m in Marker])
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[(o.value, o.value) for o in ScreeningOutcome])
    tested_on = forms.DateField(label=_("Tested on"), widget=forms.DateInput(attrs={"type": "date"}))


class DecisionForm(forms.Form):
    active_infection = forms.BooleanField(label=_("Active infection"), required=False)
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[(d.value, d.value) for d in PhysicianDecisionKind]
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class CollectionForm(forms.Form):
    collected_at = forms.DateTimeField(
        label=_("Collection time"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    anticoagulant_ratio = forms.IntegerField(label=_("Anticoagulant ratio 1:N"), initial=12)
    processed_blood_volume_ml = forms.IntegerField(label=_("Processed blood volume (mL)"), initial=10000)
    cycles = forms.IntegerField(label=_("Cycles"), initial=6)
    collected_volume_ml = forms.IntegerField(label=_("Collected volume (mL)"), initial=180)
    mnc_count_e9 = forms.DecimalField(
        label=_("MNC count (x10^9)"), initial=Decimal("2.0"), max_digits=6, decimal_places=2
    )
    bags = forms.IntegerField(label=_("Number of bags"), initial=1, min_value=1, max_value=4)
    pre_assessment = forms.CharField(
        label=_("Pre-apheresis assessment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReprintForm(forms.Form):
    reprint_reason = forms.CharField(label=_("Reprint reason"), required=False, max_length=200)


class LabelFateForm(forms.Form):
    """The fate of one printed label (FACT-JACIE CM7.2.2.1)."""

    fate = forms.ChoiceField(label=_("Fate"), choices=LabelDisposition.Fate.choices)
    reason = forms.CharField(label=_("Reason (void or destroy)"), required=False, max_length=200)
    witness = forms.CharField(label=_("Witness username (destroy)"), required=False, max_length=150)


class LabelVerifyForm(forms.Form):
    scan = forms.CharField(label=_("Scan the label"), max_length=120)
    password = forms.CharField(label=_("Your password"), widget=forms.PasswordInput)
    verifier = forms.CharField(label=_("Verifier username"), max_length=150)
    verifier_password = forms.CharField(label=_("Verifier password"), widget=forms.PasswordInput)


class ScanForm(forms.Form):
    step = forms.ChoiceField(
        label=_("Step"), choices=[(s.value, s.value) for s in CustodyStep if s not in SERVICE_ONLY_STEPS]
    )
    scan = forms.CharField(label=_("Scan"), max_length=120)
    shipper_code = forms.CharField(label=_("Shipper"), required=False, max_length=40)
    storage_position = forms.IntegerField(label=_("Storage position"), required=False)
    condition = forms.CharField(label=_("Condition"), required=False, max_length=200)
