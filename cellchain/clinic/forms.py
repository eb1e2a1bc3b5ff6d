"""Forms of the clinic pages: parse strictly, then hand the cleaned values to one service."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cellchain.clinic.models import AdverseEvent, Agreement, ClinicUnit, ProductUseProfile, TreatmentCourse
from cellchain.domain import grading

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _choices(enum: type[Any]) -> list[tuple[str, str]]:
    return [(member.value, member.value.replace("_", " ")) for member in enum]


class CourseForm(forms.Form):
    product = forms.ModelChoiceField(
        ProductUseProfile.objects.filter(voided_at__isnull=True), label=_("Product")
    )
    journey_ref = forms.CharField(label=_("Journey"), max_length=40)
    coi = forms.CharField(label=_("Chain-of-identity id (with check character)"), max_length=20)
    patient_wristband_id = forms.CharField(label=_("Patient wristband id"), max_length=40)
    patient_label = forms.CharField(label=_("Patient (pseudonym shown on screens)"), max_length=80)
    physician = forms.ModelChoiceField(queryset=None, label=_("Treating physician"))
    setting = forms.ChoiceField(choices=TreatmentCourse.Setting.choices, label=_("Setting"))
    jurisdiction = forms.ChoiceField(
        choices=TreatmentCourse.Jurisdiction.choices, label=_("Reporting jurisdiction")
    )
    protocol_ref = forms.CharField(label=_("Protocol and version"), max_length=80, required=False)
    emr_ref = forms.CharField(label=_("EMR reference"), max_length=80, required=False)
    weight_kg = forms.FloatField(label=_("Body weight (kg)"), min_value=1, max_value=400, required=False)
    lymphodepletion_regimen = forms.CharField(
        label=_("Lymphodepletion regimen"), widget=forms.Textarea(attrs={"rows": 2})
    )
    lymphodepletion_start = forms.DateField(label=_("Lymphodepletion start"), widget=DATE)
    lymphodepletion_end = forms.DateField(label=_("Lymphodepletion end"), widget=DATE)
    infusion_window_start = forms.DateField(label=_("Infusion window, first day"), widget=DATE)
    infusion_window_end = forms.DateField(label=_("Infusion window, last day"), widget=DATE)

    def __init__(self, *args: Any, physicians: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["physician"].queryset = physicians  # type: ignore[attr-defined]


class UnitScanForm(forms.Form):
    scan = forms.CharField(label=_("Scan the unit label"), max_length=200)
    batch_number = forms.CharField(
        label=_("Batch number (another maker's unit: from its release certificate)"),
        max_length=40,
        required=False,
    )
    release = forms.ChoiceField(
        choices=[("", "—"), *ClinicUnit.Release.choices],
        label=_("Release status (another maker's unit: from its release certificate)"),
        required=False,
    )


class UnitAdmitForm(forms.Form):
    unit_id = forms.CharField(label=_("Unit DIN (with check character)"), max_length=40)
    coi = forms.CharField(label=_("COI on the label (with check character)"), max_length=20)
    batch_number = forms.CharField(label=_("Batch number"), max_length=40)
    release = forms.ChoiceField(choices=ClinicUnit.Release.choices, label=_("Release status"))


class LymphodepletionForm(forms.Form):
    drug = forms.CharField(label=_("Drug"), max_length=80)
    dose = forms.CharField(label=_("Dose"), max_length=80)
    given_on = forms.DateField(label=_("Given on"), widget=DATE)
    as_planned = forms.BooleanField(label=_("As planned"), required=False, initial=True)
    difference = forms.CharField(label=_("Difference from the plan"), required=False)


class ThawForm(forms.Form):
    started_at = forms.DateTimeField(label=_("Thaw start"), widget=DATETIME)
    ended_at = forms.DateTimeField(label=_("Thaw end"), widget=DATETIME)
    temperature_c = forms.FloatField(label=_("Thaw temperature (°C)"))
    method = forms.ChoiceField(label=_("Method"), choices=())
    area = forms.CharField(label=_("Area"), max_length=80)
    device = forms.CharField(label=_("Thawing device"), max_length=80)
    appearance_normal = forms.TypedChoiceField(
        label=_("Appearance after thaw"),
        coerce=lambda v: v == "normal",
        choices=[("normal", _("Normal")), ("abnormal", _("Abnormal: turbidity, precipitate, leak"))],
    )
    interrupted = forms.BooleanField(label=_("The thaw was interrupted"), required=False)
    no_shaking_confirmed = forms.BooleanField(
        label=_("No vigorous shaking or mechanical shock"), required=False
    )
    precautions_acknowledged = forms.BooleanField(
        label=_("I have read the product's precautions"), required=False
    )

    def __init__(self, *args: Any, methods: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(m, m) for m in methods]  # type: ignore[attr-defined]


class DilutionForm(forms.Form):
    diluent = forms.ChoiceField(label=_("Diluent"), choices=())
    diluent_lot = forms.CharField(label=_("Diluent lot"), max_length=40)
    diluent_expiry = forms.DateField(label=_("Diluent expiry"), widget=DATE)
    product_volume_ml = forms.FloatField(label=_("Product volume (mL)"))
    diluent_volume_ml = forms.FloatField(label=_("Diluent volume (mL)"))
    started_at = forms.DateTimeField(label=_("Start"), widget=DATETIME)
    ended_at = forms.DateTimeField(label=_("End"), widget=DATETIME)
    gentle_mixing_confirmed = forms.BooleanField(label=_("Mixed gently, no vigorous shaking"), required=False)
    aseptic_area = forms.CharField(label=_("Aseptic area or biosafety cabinet"), max_length=80)

    def __init__(self, *args: Any, diluents: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["diluent"].choices = [(d, d) for d in diluents]  # type: ignore[attr-defined]


class BedsideScanForm(forms.Form):
    wristband = forms.CharField(label=_("Patient wristband"), max_length=120)
    unit = forms.CharField(label=_("Product unit"), max_length=120)
    manual_reason = forms.CharField(label=_("Typed instead of scanned? Why"), max_length=200, required=False)


class BedsideVerifyForm(forms.Form):
    wristband = forms.CharField(label=_("Patient wristband (scan again)"), max_length=120)
    unit = forms.CharField(label=_("Product unit (scan again)"), max_length=120)
    verifier_username = forms.CharField(label=_("Verifier's username"), max_length=150)
    verifier_password = forms.CharField(
        label=_("Verifier's password"),
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    performer_password = forms.CharField(
        label=_("Your password (performer)"),
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class InfusionForm(forms.Form):
    route = forms.CharField(label=_("Route"), max_length=40)
    rate_ml_h = forms.FloatField(label=_("Rate (mL/h)"))
    infusion_set = forms.CharField(label=_("Infusion set"), max_length=80)
    set_has_leukocyte_filter = forms.BooleanField(label=_("The set has a leukocyte filter"), required=False)
    volume_ml = forms.FloatField(label=_("Volume (mL)"), min_value=0)
    car_positive_viable_cells = forms.FloatField(label=_("Dose: CAR+ viable cells"), min_value=0)
    weight_kg = forms.FloatField(label=_("Body weight (kg)"), required=False, min_value=1)
    emergency_contact = forms.CharField(label=_("On-duty emergency contact"), max_length=120)
    rescue_staff_present = forms.BooleanField(label=_("Rescue staff present at the bedside"), required=False)
    rate_deviation = forms.CharField(
        label=_("Deviation number, if the rate is outside the range"), required=False
    )

    def __init__(self, *args: Any, checklist: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checklist_keys = [key for key, _label in checklist]
        for index, (_key, label) in enumerate(checklist):
            self.fields[f"check_{index}"] = forms.BooleanField(label=label, required=False)

    def checklist_answers(self) -> dict[str, bool]:
        return {key: bool(self.cleaned_data.get(f"check_{i}")) for i, key in enumerate(self.checklist_keys)}


class InfusionEndForm(forms.Form):
    reaction = forms.CharField(
        label=_("Recipient reaction"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class VitalsForm(forms.Form):
    temperature_c = forms.FloatField(label=_("Temperature (°C)"))
    heart_rate = forms.IntegerField(label=_("Heart rate (/min)"), min_value=0, max_value=300)
    systolic = forms.IntegerField(label=_("Systolic (mmHg)"), min_value=0, max_value=300)
    diastolic = forms.IntegerField(label=_("Diastolic (mmHg)"), min_value=0, max_value=250)
    respiratory_rate = forms.IntegerField(label=_("Respiratory rate (/min)"), min_value=0, max_value=100)
    spo2 = forms.IntegerField(label=_("SpO2 (%)"), min_value=0, max_value=100)


class ObservationCloseForm(forms.Form):
    notes = forms.CharField(
        label=_("Observation notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AdverseEventForm(forms.Form):
    category = forms.ChoiceField(choices=AdverseEvent.Category.choices, label=_("Category"))
    event_type = forms.ChoiceField(choices=AdverseEvent.EventType.choices, label=_("Report content"))
    term = forms.CharField(
        label=_("Term"), max_length=120, widget=forms.TextInput(attrs={"list": "reactions"})
    )
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    onset_at = forms.DateTimeField(label=_("Onset"), widget=DATETIME)
    serious = forms.BooleanField(label=_("Serious"), required=False)
    unexpected = forms.BooleanField(label=_("Unexpected"), required=False)
    life_threatening = forms.BooleanField(label=_("Life-threatening"), required=False)
    fatal = forms.BooleanField(label=_("Fatal"), required=False)
    relation = forms.ChoiceField(choices=AdverseEvent.Relation.choices, label=_("Relation to the product"))
    outcome = forms.ChoiceField(choices=AdverseEvent.Outcome.choices, label=_("Outcome"))
    treatment = forms.CharField(
        label=_("Treatment given"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    ctcae_grade = forms.TypedChoiceField(
        label=_("CTCAE v5 grade (other events)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—")] + [(str(g), str(g)) for g in range(1, 6)],
    )


class GradingFindingsForm(forms.Form):
    """CRS and ICANS findings (ASTCT 2019); only the category's own fields are used."""

    temperature_c = forms.FloatField(label=_("Highest temperature (°C)"), required=False)
    fever_masked = forms.BooleanField(
        label=_("Antipyretic or anti-cytokine therapy given (e.g. tocilizumab)"), required=False
    )
    hypotension = forms.BooleanField(label=_("Hypotension"), required=False)
    vasopressors = forms.MultipleChoiceField(
        label=_("Vasopressors"),
        required=False,
        choices=_choices(grading.Vasopressor),
        widget=forms.CheckboxSelectMultiple,
    )
    oxygen_device = forms.ChoiceField(
        label=_("Oxygen for hypoxia"), choices=_choices(grading.OxygenDevice), required=False
    )
    oxygen_flow_l_min = forms.FloatField(label=_("Oxygen flow (L/min)"), required=False, min_value=0)
    ice_score = forms.CharField(
        label=_("ICE score (0-10)"),
        required=False,
        max_length=4,
        help_text=_("Adults and children aged 12 or over."),
    )
    capd_score = forms.CharField(
        label=_("CAPD score (0-32)"),
        required=False,
        max_length=4,
        help_text=_(
            "Cornell Assessment of Pediatric Delirium, instead of the ICE score for children aged 12 or under."
        ),
    )
    capd_not_possible = forms.BooleanField(label=_("Unable to perform the CAPD"), required=False)
    age_years = forms.IntegerField(
        label=_("Age at onset (years)"),
        required=False,
        min_value=0,
        max_value=130,
        help_text=_("Taken from the enrolment birth date when the journey is enrolled in CellChain."),
    )
    developmental_delay = forms.BooleanField(
        label=_("Developmental delay (CAPD used above age 12)"), required=False
    )
    consciousness = forms.ChoiceField(
        label=_("Level of consciousness"), choices=_choices(grading.Consciousness), required=False
    )
    seizure = forms.ChoiceField(label=_("Seizure"), choices=_choices(grading.Seizure), required=False)
    seizure_minutes = forms.FloatField(label=_("Seizure duration (min)"), required=False, min_value=0)
    motor = forms.ChoiceField(label=_("Motor findings"), choices=_choices(grading.Motor), required=False)
    raised_icp = forms.MultipleChoiceField(
        label=_("Raised ICP / cerebral oedema"),
        required=False,
        choices=_choices(grading.RaisedIcp),
        widget=forms.CheckboxSelectMultiple,
    )
    death = forms.BooleanField(label=_("Death due to this event"), required=False)

    CRS_FIELDS = (
        "temperature_c",
        "fever_masked",
        "hypotension",
        "vasopressors",
        "oxygen_device",
        "oxygen_flow_l_min",
        "death",
    )
    ICANS_FIELDS = (
        "ice_score",
        "capd_score",
        "capd_not_possible",
        "age_years",
        "developmental_delay",
        "consciousness",
        "seizure",
        "seizure_minutes",
        "motor",
        "raised_icp",
        "death",
    )

    def findings_for(self, category: str) -> dict[str, Any]:
        names = {"crs": self.CRS_FIELDS, "icans": self.ICANS_FIELDS}.get(category, ())
        return {name: self.cleaned_data.get(name) for name in names}


class DutySentForm(forms.Form):
    reference = forms.CharField(label=_("Report reference"), max_length=80)


class RegradeForm(forms.Form):
    outcome = forms.ChoiceField(choices=AdverseEvent.Outcome.choices, label=_("Outcome"))
    ctcae_grade = AdverseEventForm.base_fields["ctcae_grade"]
    reason = forms.CharField(label=_("Reason for the update"), max_length=200)


class MonitoringDayForm(forms.Form):
    notes = forms.CharField(label=_("Findings"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, items: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for index, item in enumerate(items):
            self.fields[f"item_{index}"] = forms.BooleanField(label=item.replace("_", " "), required=False)

    def answers(self) -> dict[str, bool]:
        return {item: bool(self.cleaned_data.get(f"item_{i}")) for i, item in enumerate(self.items)}


class FollowUpVisitForm(forms.Form):
    done_on = forms.DateField(label=_("Visit date"), widget=DATE)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, items: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for index, item in enumerate(items):
            self.fields[f"finding_{index}"] = forms.CharField(label=item.replace("_", " "), max_length=200)

    def findings(self) -> dict[str, str]:
        return {item: self.cleaned_data.get(f"finding_{i}", "") for i, item in enumerate(self.items)}


class ProtocolDeviationForm(forms.Form):
    course = forms.ModelChoiceField(queryset=None, label=_("Treatment course"), required=False)
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3}))
    occurred_on = forms.DateField(label=_("Occurred on"), widget=DATE)
    urgent_risk = forms.BooleanField(label=_("Done to avoid an urgent risk to the subject"), required=False)
    process_record = forms.CharField(
        label=_("Detailed process record"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, courses: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses  # type: ignore[attr-defined]


class EcReportForm(forms.Form):
    ec_reported_on = forms.DateField(label=_("Reported to the ethics committee on"), widget=DATE)
    ec_reference = forms.CharField(label=_("Ethics committee reference"), max_length=80)
    sponsor_reported_on = forms.DateField(label=_("Reported to the sponsor on"), widget=DATE, required=False)
    sponsor_reference = forms.CharField(label=_("Sponsor reference"), max_length=80, required=False)


class ActionForm(forms.Form):
    description = forms.CharField(label=_("Corrective action"), widget=forms.Textarea(attrs={"rows": 2}))
    owner = forms.ModelChoiceField(queryset=None, label=_("Owner"))
    due = forms.DateField(label=_("Due"), widget=DATE)

    def __init__(self, *args: Any, people: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people  # type: ignore[attr-defined]


class ActionCloseForm(forms.Form):
    done_on = forms.DateField(label=_("Done on"), widget=DATE)
    effectiveness_check = forms.CharField(
        label=_("Effectiveness check"), widget=forms.Textarea(attrs={"rows": 2})
    )


class AgreementForm(forms.Form):
    """The written clinic-manufacturer agreement, items a-h of T-8.2.2 as a checklist."""

    product = forms.ModelChoiceField(
        ProductUseProfile.objects.filter(voided_at__isnull=True), label=_("Product")
    )
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE)
    effective_until = forms.DateField(label=_("Effective until"), widget=DATE, required=False)
    attachment_ref = forms.CharField(label=_("Signed agreement (document reference)"), max_length=200)
    a_eligibility = forms.BooleanField(label=_("a) patient eligibility criteria"), required=False)
    b_collection = forms.BooleanField(label=_("b) collection requirements"), required=False)
    c_storage_transport = forms.BooleanField(label=_("c) temporary storage and transport"), required=False)
    d_identity_check = forms.BooleanField(
        label=_("d) identity check of labels before receipt and use"), required=False
    )
    e_pre_infusion_steps = forms.BooleanField(
        label=_("e) steps before infusion and standard equipment"), required=False
    )
    f_traceability = forms.BooleanField(label=_("f) traceability from preparation to use"), required=False)
    g_cancellation_delay = forms.BooleanField(
        label=_("g) cancelled or delayed collection, patient who cannot continue"), required=False
    )
    h_responsibilities = forms.BooleanField(label=_("h) responsibilities of both parties"), required=False)

    def items(self) -> dict[str, bool]:
        return {name: bool(self.cleaned_data.get(name)) for name in Agreement.ITEMS}


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class ProductAdoptForm(forms.Form):
    """The values the manufacturer's information package does not carry, entered by the clinic when it adopts
    an approved product version (T-8.2.6-b/c, T-9.2.1-4, T-9.2.8); the package's own values are shown, not
    asked (T-7.4)."""

    rate_low_ml_h = forms.FloatField(label=_("Infusion rate, lowest (mL/h, T-8.2.6-c)"), min_value=0)
    rate_high_ml_h = forms.FloatField(label=_("Infusion rate, highest (mL/h, T-8.2.6-c)"), min_value=0)
    allowed_sets = forms.CharField(
        label=_("Allowed infusion sets (T-8.2.6-b), separated by commas"), max_length=400
    )
    dose_low = forms.FloatField(label=_("Dose, lowest (CAR+ viable cells, T-9.2.1-4)"), min_value=0)
    dose_high = forms.FloatField(label=_("Dose, highest (CAR+ viable cells, T-9.2.1-4)"), min_value=0)
    dose_per_kg = forms.BooleanField(label=_("Dose per kg body weight"), required=False)
    follow_up_months = forms.CharField(
        label=_("First-year follow-up months (T-9.2.8), separated by commas"), max_length=100
    )
    follow_up_years = forms.IntegerField(
        label=_("Long-term follow-up years (T-9.2.8)"), min_value=1, max_value=15
    )
    integrating_vector = forms.BooleanField(
        label=_("Integrating vector (REGULATORY item 53)"), required=False
    )
    route = forms.CharField(label=_("Route (T-8.2.6-a)"), max_length=40)
    leukocyte_filter_forbidden = forms.BooleanField(
        label=_("Leukocyte filter forbidden (T-8.2.6-b)"), required=False
    )
    observation_min = forms.IntegerField(
        label=_("Recommended observation (min, T-8.2.7-a)"), min_value=0, required=False
    )
    reason = forms.CharField(
        label=_("Reason for replacing the values in use"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, carried: tuple[str, ...], replacing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in carried:
            self.fields.pop(name, None)
        if not replacing:
            del self.fields["reason"]

    def clean_follow_up_months(self) -> list[int]:
        words = _words(self.cleaned_data["follow_up_months"])
        if not all(word.isdigit() for word in words):
            raise forms.ValidationError(_("Months are whole numbers separated by commas, e.g. 1, 3, 6, 12."))
        return [int(word) for word in words]

    def clean_allowed_sets(self) -> list[str]:
        return _words(self.cleaned_data["allowed_sets"])

    def values(self) -> dict[str, Any]:
        """The clinic's values for the service (the reason apart)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "reason"}

    @staticmethod
    def initial_from(profile: ProductUseProfile | None) -> dict[str, Any]:
        if profile is None:
            return {"route": "intravenous", "leukocyte_filter_forbidden": True, "follow_up_years": 15}
        initial = {name: getattr(profile, name) for name in ProductAdoptForm.base_fields if name != "reason"}
        initial["allowed_sets"] = ", ".join(profile.allowed_sets)
        initial["follow_up_months"] = ", ".join(str(m) for m in profile.follow_up_months)
        return initial


class RiskPlanForm(forms.Form):
    product = forms.ModelChoiceField(
        ProductUseProfile.objects.filter(voided_at__isnull=True), label=_("Product")
    )
    version = forms.CharField(label=_("Version"), max_length=20)
    title = forms.CharField(label=_("Title"), max_length=200)
    risks = forms.CharField(
        label=_("Risks: one per line, stage | hazard | cause | measure | owner | rating 1-25"),
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def clean_risks(self) -> list[dict[str, Any]]:
        rows = []
        for number, line in enumerate(self.cleaned_data["risks"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 6 or not parts[5].isdigit():
                raise forms.ValidationError(
                    _("Line %(n)s needs six parts separated by |, the last a number 1-25."),
                    params={"n": number},
                )
            rows.append(
                dict(
                    zip(("stage", "hazard", "cause", "measure", "owner"), parts[:5], strict=True),
                    rating=int(parts[5]),
                )
            )
        return rows


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=_("Your password (to sign)"),
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
