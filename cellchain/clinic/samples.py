"""Sample records for the clinic demo and tests: a product (adopted from the manufacturer's approved version, or
entered by hand for a product manufacturing does not know), agreement, confirmed risk plan, course and unit."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cellchain.clinic import services
from cellchain.clinic.models import ClinicUnit, ProductUseProfile, RiskPlan, TreatmentCourse
from cellchain.core import clock
from cellchain.domain.clinical_use import CLINIC_VALUES, PACKAGE_VALUES_IF_STATED
from cellchain.domain.identity import coi_issue, din_issue

__all__ = ["coi_issue", "din_issue"]

SAMPLE_SEQUENCE = 800000
"""Sample COIs and DINs are numbered from here, away from the identifiers the journeys and manufacturing
contexts issue (their demos start at 1), so sample units never collide with real upstream records."""

PRODUCT_DEFAULTS: dict[str, Any] = {
    "code": "S1395V00",
    "name": "Relmacabtagene autoleucel (demo IFU values)",
    "version": "IFU-2026-01",
    "evidence": "Stability report SR-2025-014 (post-thaw 90 min); process validation PV-2025-03",
    "usable_after_thaw_min": 90,
    "preparation_min": 60,
    "overtime_handling": "",
    "thaw_temp_low_c": 36.0,
    "thaw_temp_high_c": 38.0,
    "thaw_methods": ["water_bath", "dry_thawer"],
    "diluents": ["0.9% NaCl"],
    "dilution_ratio": 1.0,
    "dilution_tolerance": 0.02,
    "use_after_dilution_min": 30,
    "route": "intravenous",
    "rate_low_ml_h": 60.0,
    "rate_high_ml_h": 600.0,
    "allowed_sets": ["IV-STD-200"],
    "leukocyte_filter_forbidden": True,
    "dose_low": 0.6e6,
    "dose_high": 6.0e6,
    "dose_per_kg": True,
    "observation_min": 30,
    "possible_reactions": ["CRS", "ICANS", "infusion reaction", "cytopenia"],
    "monitoring_indicators": ["ferritin", "crp", "il6"],
    "contraindications": ["active uncontrolled infection"],
    "precautions": ["do not shake", "do not refreeze"],
    "pre_infusion_checks": ["bag intact", "label legible"],
    "ae_report_hours": 24,
    "follow_up_months": [1, 3, 6, 12],
    "follow_up_years": 15,
    "integrating_vector": True,
}

CHECKLIST_ALL = {
    "contraindication_absent:active uncontrolled infection": True,
    "precaution:do not shake": True,
    "precaution:do not refreeze": True,
    "check:bag intact": True,
    "check:label legible": True,
}


def product(actor: Any, manufacturer: Any, **overrides: Any) -> ProductUseProfile:
    """A hand-entered profile (the product is not in CellChain's manufacturing records)."""
    existing = ProductUseProfile.objects.filter(code=overrides.get("code", PRODUCT_DEFAULTS["code"])).first()
    if existing:
        return existing
    return services.product_profile_create(
        actor=actor, manufacturer=manufacturer, **{**PRODUCT_DEFAULTS, **overrides}
    )


def clinic_values(version: Any, **overrides: Any) -> dict[str, Any]:
    """The sample values of everything the version's information package does not carry."""
    from cellchain.clinic import packages

    package = packages.package_of(version)
    carried = set(package.values.carried) if package.values is not None else set()
    keys = [k for k in (*PACKAGE_VALUES_IF_STATED, *CLINIC_VALUES) if k not in carried]
    return {**{k: PRODUCT_DEFAULTS[k] for k in keys}, **overrides}


def adopted_product(actor: Any, version: Any, **overrides: Any) -> ProductUseProfile:
    """The profile adopted from the manufacturer's approved `version` (T-7.4); the clinic's own values from
    the samples."""
    existing = ProductUseProfile.objects.filter(code=version.product.code).first()
    if existing and existing.source_version == version.version:
        return existing
    return services.product_profile_adopt(
        actor=actor,
        product_version=version,
        reason="" if existing is None else "newer approved version",
        **clinic_values(version, **overrides),
    )


def checklist_for(profile: ProductUseProfile) -> dict[str, bool]:
    """Every pre-infusion checklist item of the profile answered (T-7.9-c/d, T-7.14-e)."""
    return {
        **{f"contraindication_absent:{c}": True for c in profile.contraindications},
        **{f"precaution:{p}": True for p in profile.precautions},
        **{f"check:{c}": True for c in profile.pre_infusion_checks},
    }


def risk_rows(profile: ProductUseProfile) -> list[dict[str, Any]]:
    """The site's register: the manufacturer's adverse reactions answered (T-9.1.2 from T-7.9-a) and the
    site's own risks."""
    seeded = [
        {
            "stage": seed.stage,
            "hazard": seed.hazard,
            "cause": seed.cause,
            "measure": f"{seed.measure}; treatment per the site's CAR-T toxicity SOP; ICU on call",
            "owner": "treating physician",
            "rating": 16,
        }
        for seed in services.risk_plan_seed(profile)
        if seed.required
    ]
    return seeded + SITE_RISKS


SITE_RISKS: list[dict[str, Any]] = [
    {
        "stage": "thaw",
        "hazard": "use after the post-thaw limit",
        "cause": "delay at the bedside",
        "measure": "countdown on every screen; bedside check blocks",
        "owner": "nurse in charge",
        "rating": 12,
    },
    {
        "stage": "infusion",
        "hazard": "wrong patient",
        "cause": "two patients on the ward",
        "measure": "two-person scan of wristband and unit",
        "owner": "infusion nurse",
        "rating": 20,
    },
    {
        "stage": "observation",
        "hazard": "severe CRS",
        "cause": "product mechanism",
        "measure": "tocilizumab available; ICU on call",
        "owner": "treating physician",
        "rating": 16,
    },
]


def site_ready(actor: Any, site: Any, profile: ProductUseProfile, confirm_password: str | None) -> RiskPlan:
    """Agreement in force and risk plan (confirmed when a password is given) for the product at the site."""
    today = clock.now().date()
    if services.agreement_in_force(site, profile, today) is None:
        services.agreement_record(
            actor=actor,
            site=site,
            product=profile,
            effective_from=today - dt.timedelta(days=200),
            items=dict.fromkeys(
                (
                    "a_eligibility",
                    "b_collection",
                    "c_storage_transport",
                    "d_identity_check",
                    "e_pre_infusion_steps",
                    "f_traceability",
                    "g_cancellation_delay",
                    "h_responsibilities",
                ),
                True,
            ),
            attachment_ref="AGR-2026-007 (signed PDF in the document system)",
        )
    plan = RiskPlan.objects.filter(site=site, product=profile).first()
    if plan is None:
        plan = services.risk_plan_create(
            actor=actor,
            site=site,
            product=profile,
            version="1",
            title=f"{profile.code} risk plan",
            items=risk_rows(profile) if profile.source == ProductUseProfile.Source.PACKAGE else SITE_RISKS,
        )
    if confirm_password and plan.confirmation is None:
        services.risk_plan_confirm(actor=actor, plan=plan, password=confirm_password)
    return plan


def course(
    actor: Any,
    site: Any,
    profile: ProductUseProfile,
    number: int,
    *,
    physician: Any,
    infusion_in_days: int = 0,
    label: str = "",
    weight_kg: float = 70.0,
    **extra: Any,
) -> TreatmentCourse:
    journey_ref = f"J-{site.facility_id}-{number:04d}"
    existing = TreatmentCourse.objects.filter(journey_ref=journey_ref).first()
    if existing:
        return existing
    today = clock.now().date() + dt.timedelta(days=infusion_in_days)
    return services.course_plan(
        actor=actor,
        site=site,
        product=profile,
        journey_ref=journey_ref,
        coi=coi_issue(site.facility_id, 2026, SAMPLE_SEQUENCE + number).keyboard_form,
        patient_wristband_id=f"MRN{site.facility_id}{number:05d}",
        patient_label=label or f"Patient {number:03d}",
        lymphodepletion_regimen="fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2, days -5 to -3",
        lymphodepletion_start=today - dt.timedelta(days=5),
        lymphodepletion_end=today - dt.timedelta(days=3),
        infusion_window_start=today,
        infusion_window_end=today + dt.timedelta(days=2),
        physician=physician,
        weight_kg=weight_kg,
        protocol_ref=extra.pop("protocol_ref", "RELMA-CN-301 v3.0"),
        **extra,
    )


def unit(
    actor: Any, treatment: TreatmentCourse, number: int, release: str = ClinicUnit.Release.RELEASED
) -> ClinicUnit:
    din = din_issue("W1234", 2026, SAMPLE_SEQUENCE + number)
    existing = ClinicUnit.objects.filter(unit_id=din.data).first()
    if existing:
        return existing
    coi = coi_issue(treatment.site.facility_id, 2026, int(treatment.coi[-6:]))
    return services.unit_admit(
        actor=actor,
        course=treatment,
        unit_id=din.keyboard_form,
        coi=coi.keyboard_form,
        batch_number=f"B2026-{number:04d}",
        release=release,
    )


def din_barcode(number: int) -> str:
    return din_issue("W1234", 2026, SAMPLE_SEQUENCE + number).barcode_data
