"""Treatment plan, product use profile, agreement (T-8.2.2), risk plan (T-9.1), units at the clinic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.accounts.services import reauthenticate, require_qualification
from cellchain.clinic.models import (
    Agreement,
    ClinicUnit,
    LymphodepletionDose,
    ProductUseProfile,
    RiskItem,
    RiskPlan,
    TreatmentCourse,
)
from cellchain.clinic.services._common import amend, create
from cellchain.core import clock
from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.domain.clinical_use import uncovered_reactions
from cellchain.domain.identity import IdentifierError, compact, parse_coi, parse_din
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials, record_sign


def _hospital_actor(actor: Any, site: Site) -> None:
    """Clinic records are written by people of the hospital that owns the site (T-10.1, X-1)."""
    if actor.organisation_id != site.organisation_id:
        raise NotAllowed("Only staff of this hospital can record its clinical use.", field="site")


@transaction.atomic
def agreement_record(
    *,
    actor: Any,
    site: Site,
    product: ProductUseProfile,
    effective_from: dt.date,
    items: Mapping[str, bool],
    attachment_ref: str,
    effective_until: dt.date | None = None,
) -> Agreement:
    """Record the written agreement with its items a-h (T-8.2.2); every item must be agreed."""
    _hospital_actor(actor, site)
    agreement = Agreement(
        site=site,
        product=product,
        effective_from=effective_from,
        effective_until=effective_until,
        items={item: bool(items.get(item)) for item in Agreement.ITEMS},
        attachment_ref=attachment_ref,
        recorded_by=actor,
    )
    missing = agreement.missing_items()
    if missing:
        raise ValidationFailed(
            f"The agreement must cover every item of T-8.2.2; missing: {', '.join(missing)}.", field="items"
        )
    return create(actor, agreement, "agreement:record")  # type: ignore[return-value]


def agreement_in_force(site: Site, product: ProductUseProfile, on: dt.date) -> Agreement | None:
    for agreement in Agreement.objects.filter(site=site, product=product, voided_at__isnull=True):
        if agreement.in_force(on) and not agreement.missing_items():
            return agreement
    return None


@transaction.atomic
def risk_plan_create(
    *,
    actor: Any,
    site: Site,
    product: ProductUseProfile,
    version: str,
    title: str,
    items: Iterable[Mapping[str, Any]],
) -> RiskPlan:
    """A risk plan with its register (T-9.1.1, T-9.1.2); at least one risk."""
    _hospital_actor(actor, site)
    rows = list(items)
    if not rows:
        raise ValidationFailed(
            "A risk plan lists at least one risk with its measure (T-9.1.2).", field="items"
        )
    if product.source == ProductUseProfile.Source.PACKAGE:
        missing = uncovered_reactions(product.possible_reactions, [row.get("hazard", "") for row in rows])
        if missing:
            raise ValidationFailed(
                f"The register must answer every adverse reaction the manufacturer states for "
                f"{product.source_label} (T-7.9-a, T-9.1.2); missing: {', '.join(missing)}. Start from the "
                "manufacturer's list and add the site's own risks.",
                field="items",
            )
    plan = create(
        actor, RiskPlan(site=site, product=product, version=version, title=title), "risk_plan:create"
    )
    for row in rows:
        item = RiskItem(plan=plan, **row)
        if item.basis == "" and not uncovered_reactions([item.hazard], product.possible_reactions):
            item.basis = f"{product.source_label or product.version} T-7.9-a"
        create(actor, item, "risk_item:create")
    return plan  # type: ignore[return-value]


def risk_plan_uncovered(plan: RiskPlan) -> tuple[str, ...]:
    """Adverse reactions of the product's adopted version that the plan's register does not answer (e.g. after
    a newer version added one): the team records a new plan version (T-9.1.2)."""
    if plan.product.source != ProductUseProfile.Source.PACKAGE:
        return ()
    hazards = [item.hazard for item in plan.items.all() if item.voided_at is None]
    return uncovered_reactions(plan.product.possible_reactions, hazards)


def risk_plan_confirm(*, actor: Any, plan: RiskPlan, password: str, totp_code: str | None = None) -> RiskPlan:
    """The treating physician confirms the plan for the team before the first infusion at the site (T-9.1.1):
    an "approved" e-signature on the plan. Runs outside any transaction so a wrong password counts."""
    _hospital_actor(actor, plan.site)
    if plan.confirmation is not None:
        raise Conflict("This risk plan is already confirmed.")
    record_sign(
        record=plan,
        signer=SignerCredentials(actor, password, totp_code),
        meaning=Meaning.APPROVED,
        qualification="cell_therapy",
    )
    return plan


def risk_plan_confirmed(site: Site, product: ProductUseProfile) -> RiskPlan | None:
    plans = RiskPlan.objects.filter(site=site, product=product, voided_at__isnull=True).order_by("-version")
    return next((plan for plan in plans if plan.confirmation is not None), None)


def _course_dates(ld_start: dt.date, ld_end: dt.date, window_start: dt.date, window_end: dt.date) -> None:
    if ld_end < ld_start or window_end < window_start:
        raise ValidationFailed("A planned period ends before it starts.", field="lymphodepletion_end")
    if window_start <= ld_end:
        raise ValidationFailed(
            "The infusion window must start after lymphodepletion ends (T-9.2.2).",
            field="infusion_window_start",
        )


def _journey_wristband_agrees(actor: Any, coi: str, wristband: str) -> None:
    """When the journeys context knows the COI, the plan's wristband must be that patient's (T-10.4)."""
    from cellchain.clinic import upstream
    from cellchain.core.errors import NotFound

    try:
        _journey, known = upstream.patient_wristband(actor, coi)
    except NotFound:
        return  # a journey recorded outside CellChain (paper enrolment): the plan is the identity link
    if compact(known) != compact(wristband):
        raise IdentityMismatch(
            f"Journey {coi} belongs to another patient: the wristband id does not match the "
            "enrolment record.",
            field="patient_wristband_id",
        )


@transaction.atomic
def course_plan(
    *,
    actor: Any,
    site: Site,
    product: ProductUseProfile,
    journey_ref: str,
    coi: str,
    patient_wristband_id: str,
    patient_label: str,
    lymphodepletion_regimen: str,
    lymphodepletion_start: dt.date,
    lymphodepletion_end: dt.date,
    infusion_window_start: dt.date,
    infusion_window_end: dt.date,
    physician: Any,
    **optional: Any,
) -> TreatmentCourse:
    """The treatment plan for one journey (T-9.2.1-3, T-9.2.2): preconditioning and infusion windows."""
    _hospital_actor(actor, site)
    _course_dates(lymphodepletion_start, lymphodepletion_end, infusion_window_start, infusion_window_end)
    try:
        coi_data = parse_coi(coi).data
    except IdentifierError as exc:
        raise ValidationFailed(str(exc), field="coi") from None
    _journey_wristband_agrees(actor, coi_data, patient_wristband_id)
    if physician.site_id != site.pk or not physician.qualifications.filter(code="cell_therapy").exists():
        raise ValidationFailed(
            f"{physician.printed_name} is not a cell-therapy physician of this site.", field="physician"
        )
    course = TreatmentCourse(
        site=site,
        product=product,
        journey_ref=journey_ref.strip(),
        coi=coi_data,
        patient_wristband_id=compact(patient_wristband_id),
        patient_label=patient_label,
        lymphodepletion_regimen=lymphodepletion_regimen,
        lymphodepletion_start=lymphodepletion_start,
        lymphodepletion_end=lymphodepletion_end,
        infusion_window_start=infusion_window_start,
        infusion_window_end=infusion_window_end,
        physician=physician,
        **optional,
    )
    return create(actor, course, "course:plan")  # type: ignore[return-value]


@transaction.atomic
def lymphodepletion_record(
    *,
    actor: Any,
    course: TreatmentCourse,
    drug: str,
    dose: str,
    given_on: dt.date,
    as_planned: bool,
    difference: str = "",
) -> LymphodepletionDose:
    """One preconditioning dose (T-9.2.2); a difference from the plan opens a protocol deviation."""
    _hospital_actor(actor, course.site)
    if given_on > clock.today(course.site.time_zone):
        raise ValidationFailed("A dose cannot be recorded for a future day.", field="given_on")
    if not as_planned and not difference.strip():
        raise ValidationFailed("Describe how the dose differs from the plan.", field="difference")
    record = create(
        actor,
        LymphodepletionDose(
            course=course, drug=drug, dose=dose, given_on=given_on, as_planned=as_planned, recorded_by=actor
        ),
        "lymphodepletion:record",
    )
    if not as_planned:
        deviation_open(
            actor=actor,
            site=course.site,
            kind=Deviation.Kind.PROTOCOL,
            title=f"Preconditioning differs from plan: {course.journey_ref}",
            description=f"{drug} {dose} on {given_on}: {difference}",
            subject=record,
            blocks_subject=False,
        )
    return record  # type: ignore[return-value]


def din_of(text: str) -> str:
    """The 13-character DIN a unit id, a DIN barcode or a label DataMatrix refers to (T-10.7)."""
    from cellchain.domain.identity import parse_unit_scan

    return parse_unit_scan(text).din.data


def _agrees_with_upstream(din: str, coi: str, batch_number: str, release: str) -> str:
    """A unit typed by hand that manufacturing knows must agree with it; the stricter release status wins."""
    from cellchain.clinic import upstream

    facts = upstream.unit_facts(din)
    if facts is None:
        return release
    if (facts.coi, facts.batch_number) != (coi, batch_number):
        raise IdentityMismatch(
            f"Unit {din} is batch {facts.batch_number} of COI {facts.coi} in the manufacturing "
            "record; check the label.",
            field="unit_id",
        )
    return upstream.stricter(release, facts.release)


def _made_under(course: TreatmentCourse, din: str) -> tuple[str, int | None]:
    """The product version the unit's batch was made under, when manufacturing knows the unit. A unit of
    another product than the course's adopted one is refused (T-8.2.6-e: product information must agree)."""
    from cellchain.clinic import packages

    made = packages.unit_made_under(din)
    if made is None:
        return "", None
    product = course.product
    if product.source == ProductUseProfile.Source.PACKAGE and made[0] != product.source_product:
        raise IdentityMismatch(
            f"Unit {din} is product {made[0]} (version {made[1]}), but this course is planned with "
            f"{product.source_product}: check the unit and the plan.",
            field="unit_id",
        )
    return made


@transaction.atomic
def unit_admit(
    *, actor: Any, course: TreatmentCourse, unit_id: str, coi: str, batch_number: str, release: str
) -> ClinicUnit:
    """A received unit is handed to the clinical team for this course (the seam from receipt/storage).

    The label's COI must be the course's: a unit of another journey is refused here already (T-10.4).
    """
    _hospital_actor(actor, course.site)
    try:
        din, label_coi = parse_din(unit_id).data, parse_coi(coi).data
    except IdentifierError as exc:
        raise ValidationFailed(str(exc), field="unit_id") from None
    if label_coi != course.coi:
        raise IdentityMismatch(
            f"Unit {din} carries COI {label_coi}, not this journey's {course.coi}.", field="coi"
        )
    if release not in ClinicUnit.Release.values:
        raise ValidationFailed(f"Unknown release status {release!r}.", field="release")
    release = _agrees_with_upstream(din, label_coi, batch_number, release)
    product, version = _made_under(course, din)
    unit = ClinicUnit(
        unit_id=din,
        course=course,
        coi=label_coi,
        batch_number=batch_number,
        release=release,
        batch_product=product,
        batch_product_version=version,
    )
    return create(actor, unit, "unit:admit")  # type: ignore[return-value]


@transaction.atomic
def unit_admit_scanned(
    *, actor: Any, course: TreatmentCourse, scanned_text: str, batch_number: str = "", release: str = ""
) -> ClinicUnit:
    """Hand a received unit to the clinical team by scanning its label: batch, COI and release come from
    manufacturing, QC and receipt (T-10.4, T-10.7); a unit of another journey is refused.

    Issue 12 item 3: the label may be CellChain's or another maker's ISBT 128 label (DS 040 COI). A unit
    CellChain's manufacturing records do not know is taken only from a label whose maker is in the hospital's
    register, whose product code is the maker's and the course's, whose COI is the journey's and whose expiry has
    not passed; its batch number and release status come from the maker's release certificate (`batch_number`,
    `release`). Any mismatch is refused naming what differs."""
    from cellchain.clinic import upstream
    from cellchain.clinic.services import manufacturers
    from cellchain.domain.identity import parse_unit_scan

    _hospital_actor(actor, course.site)
    try:
        scanned = parse_unit_scan(scanned_text)
    except IdentifierError as exc:
        raise ValidationFailed(str(exc), field="scan") from None
    facts = upstream.unit_facts(scanned.din.data)
    if scanned.is_label:
        manufacturers.refuse_label(manufacturers.receipt_label_problems(course, scanned), "scan")
    if facts is None:
        return _admit_from_label(actor, course, scanned, batch_number, release)
    coi = scanned.coi.data if scanned.coi is not None else facts.coi
    if course.coi not in (coi, facts.coi) or coi != facts.coi:
        raise IdentityMismatch(
            f"Unit {facts.din} belongs to COI {facts.coi}, not this journey's {course.coi}.", field="scan"
        )
    product, version = _made_under(course, facts.din)
    unit = ClinicUnit(
        unit_id=facts.din,
        course=course,
        coi=facts.coi,
        batch_number=facts.batch_number,
        release=facts.release,
        batch_product=product,
        batch_product_version=version,
        **_label_fields(course, scanned),
    )
    return create(actor, unit, "unit:admit", extra={"upstream": list(facts.reasons)})  # type: ignore[return-value]


def _label_fields(course: TreatmentCourse, scanned: Any) -> dict[str, Any]:
    """What the scanned label says of the unit, kept on the clinic's record (issue 12 item 3)."""
    from cellchain.clinic.services import manufacturers

    if not scanned.is_label:
        return {}
    return {
        "manufacturer": manufacturers.manufacturer_row(scanned),
        "product_code": scanned.product_code.code if scanned.product_code is not None else "",
        "label_format": scanned.label_format.value,
        "label_expires": manufacturers.label_aware(course.site, scanned.expires),
    }


def _admit_from_label(
    actor: Any, course: TreatmentCourse, scanned: Any, batch_number: str, release: str
) -> ClinicUnit:
    """A unit of a maker whose records CellChain does not hold, taken from its checked label (issue 12 item 3)."""
    din = scanned.din.data
    if not scanned.is_label:
        raise ValidationFailed(
            f"Unit {din} is not known to manufacturing: scan its product label (CellChain or ISBT 128), or "
            "record it by hand with its batch, COI and release status.",
            field="scan",
        )
    if not batch_number.strip() or release not in ClinicUnit.Release.values:
        raise ValidationFailed(
            f"Unit {din} is not in CellChain's manufacturing records: give its batch number and release status "
            "from the manufacturer's release certificate.",
            field="batch_number" if not batch_number.strip() else "release",
        )
    unit = ClinicUnit(
        unit_id=din,
        course=course,
        coi=scanned.coi.data,
        batch_number=batch_number.strip(),
        release=release,
        **_label_fields(course, scanned),
    )
    return create(actor, unit, "unit:admit", extra={"label_format": scanned.label_format.value})  # type: ignore[return-value]


@transaction.atomic
def unit_release_set(*, actor: Any, unit: ClinicUnit, release: str, reason: str) -> ClinicUnit:
    """Record a release-status change reported by QA or receipt (e.g. quarantine, full release)."""
    if release not in ClinicUnit.Release.values:
        raise ValidationFailed(f"Unknown release status {release!r}.", field="release")
    if unit.release == ClinicUnit.Release.REJECTED:
        raise Conflict("A rejected unit may never be used again; only its return or destruction is recorded.")
    unit.release = release
    amend(actor, unit, f"unit:release:{release}", reason)
    return unit


def unit_conditional_acknowledge(
    *, actor: Any, unit: ClinicUnit, password: str, totp_code: str | None = None
) -> ClinicUnit:
    """The treating physician acknowledges a conditional release before infusion (Q-2-b), re-authenticated
    first (outside the transaction, so a wrong password counts towards the lockout)."""
    _hospital_actor(actor, unit.course.site)
    reauthenticate(actor, password, totp_code)
    return _acknowledge(actor, unit)


@transaction.atomic
def _acknowledge(actor: Any, unit: ClinicUnit) -> ClinicUnit:
    if unit.release != ClinicUnit.Release.CONDITIONAL:
        raise Conflict("Only a conditionally released unit needs the physician's acknowledgement.")
    if unit.conditional_ack_at is not None:
        raise Conflict("The conditional release is already acknowledged.")
    require_qualification(actor, "cell_therapy")
    # The unit row keeps changing (thaw, infusion), so the acknowledgement lives in the ledger entry rather
    # than in a content-bound signature.
    unit.conditional_ack_by, unit.conditional_ack_at = actor, clock.now()
    amend(
        actor,
        unit,
        "unit:conditional:acknowledge",
        "conditional release acknowledged by the physician",
        extra={"reauthenticated": True},
    )
    return unit
