"""Enrolment, consent and eligibility (T-5.2.2, T-6.4-a, T-6.4-b, T-8.2.2-a, X-7; REGULATORY item 42)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.accounts.models import Site
from cellchain.accounts.roles import Role
from cellchain.core import clock, installation
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.permissions import has_permission
from cellchain.domain import journey_hold as hold_rules
from cellchain.domain.slot_booking import StartingMaterial
from cellchain.journeys import messages
from cellchain.journeys.models import (
    Consent,
    EligibilityAssessment,
    EligibilityChecklist,
    EthicsApproval,
    Journey,
    PatientIdentity,
)
from cellchain.journeys.services.identifiers import coi_next
from cellchain.ledger.records import record_amend, record_create
from cellchain.quality.services import notification_send

_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class PatientData:
    """Identifying data typed at the hospital; it never leaves the hospital side (X-7)."""

    name: str
    birth_date: dt.date
    hospital_record_number: str
    wristband_id: str


def identity_digest(organisation_code: str, patient: PatientData) -> str:
    """HMAC-SHA256 of the identity under a key only the hospital's installation holds (REGULATORY item 42)."""
    key = hmac.new(
        settings.SECRET_KEY.encode(), f"identity:{organisation_code}".encode(), hashlib.sha256
    ).digest()
    message = json.dumps(
        [patient.name, patient.birth_date.isoformat(), patient.hospital_record_number, patient.wristband_id],
        ensure_ascii=False,
    ).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _pseudonym() -> str:
    """A random pseudonym: nothing about the patient can be derived from it (X-7)."""
    while True:
        candidate = "P-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))
        if not Journey.objects.filter(pseudonym=candidate).exists():
            return candidate


def _require_hospital_actor(actor: Any, site: Site) -> None:
    if not actor.is_hospital_user or actor.organisation_id != site.organisation_id:
        raise NotAllowed("Only staff of the hospital that owns this site may do this.", field="site")


def ethics_approval_valid(site: Site, product_code: str, day: dt.date) -> EthicsApproval:
    """The ethics approval in force for ``product_code`` at ``site`` on ``day``, or refuse (T-5.2.2)."""
    approvals = EthicsApproval.objects.filter(site=site, product_code=product_code, voided_at__isnull=True)
    for approval in approvals.order_by("-valid_until"):
        if approval.approved_on <= day <= approval.valid_until:
            return approval
    raise ValidationFailed(
        f"No ethics approval for product {product_code} is in force at {site.name} on {day.isoformat()}: "
        "record the committee's approval before enrolling (T-5.2.2).",
        field="product_code",
    )


@transaction.atomic
def ethics_approval_record(
    *,
    actor: Any,
    site: Site,
    product_code: str,
    protocol: str,
    number: str,
    approved_on: dt.date,
    valid_until: dt.date,
) -> EthicsApproval:
    """Record an ethics committee approval for a product at a site (T-5.2.2)."""
    _require_hospital_actor(actor, site)
    approval = EthicsApproval(
        site=site,
        product_code=product_code,
        protocol=protocol,
        number=number,
        approved_on=approved_on,
        valid_until=valid_until,
    )
    approval.full_clean()
    record_create(actor=actor, record=approval, event="ethics_approval:record")
    return approval


@transaction.atomic
def journey_enrol(
    *,
    actor: Any,
    hospital_site: Site,
    manufacturer_site: Site,
    product_code: str,
    product_name: str,
    starting_material: str,
    patient: PatientData,
) -> Journey:
    """Enrol a patient: issue the COI and pseudonym, keep the identity hospital-side (T-10.4, X-7, T-5.2.2);
    on a manufacturer-only installation the identity is not stored at all (issue 12 item 4)."""
    _require_hospital_actor(actor, hospital_site)
    if not manufacturer_site.organisation.is_manufacturer:
        raise ValidationFailed(
            "The manufacturing site must belong to a manufacturer.", field="manufacturer_site"
        )
    if starting_material not in StartingMaterial:
        raise ValidationFailed(f"Unknown starting material {starting_material!r}.", field="starting_material")
    for field, value in (
        ("name", patient.name),
        ("hospital_record_number", patient.hospital_record_number),
        ("wristband_id", patient.wristband_id),
    ):
        if not value.strip():
            raise ValidationFailed(f"The patient's {field.replace('_', ' ')} is required.", field=field)
    now = clock.now()
    approval = ethics_approval_valid(hospital_site, product_code, now.date())
    coi = coi_next(hospital_site)
    journey = record_create(
        actor=actor,
        record=Journey(
            coi=coi.data,
            coi_check=coi.check_character,
            pseudonym=_pseudonym(),
            hospital_site=hospital_site,
            manufacturer_site=manufacturer_site,
            product_code=product_code,
            product_name=product_name,
            starting_material=starting_material,
            ethics_approval=approval,
            enrolled_at=now,
            enrolled_by=actor,
        ),
        event="journey:enrol",
    )
    if not installation.is_hospital():
        # A manufacturer's own installation keeps no patient identity: the journey is known there by COI
        # and pseudonym only (X-7, issue 12 item 4).
        return journey
    record_create(
        actor=actor,
        record=PatientIdentity(
            journey=journey,
            name=patient.name.strip(),
            birth_date=patient.birth_date,
            hospital_record_number=patient.hospital_record_number.strip(),
            wristband_id=patient.wristband_id.strip(),
            identity_digest=identity_digest(hospital_site.organisation.code, patient),
        ),
        event="patient_identity:record",
    )
    # issue 12 item 2: the order goes to the manufacturer's installation
    messages.enrolment_send(actor, journey)
    return journey


def _set_status(actor: Any, journey: Journey, status: str, event: str, reason: str) -> None:
    journey.status = status
    record_amend(actor=actor, record=journey, event=event, reason=reason, fields=["status"])


@transaction.atomic
def consent_record(
    *,
    actor: Any,
    journey: Journey,
    form_version: str,
    signed_on: dt.date,
    signer: str,
    scan_sha256: str = "",
) -> Consent:
    """Record informed consent (T-6.4-b): needed before apheresis can be scheduled."""
    _require_hospital_actor(actor, journey.hospital_site)
    if journey.status == Journey.Status.WITHDRAWN:
        raise Conflict("The patient withdrew; a new enrolment is needed.")
    if signed_on > clock.now().date():
        raise ValidationFailed("The consent cannot be signed in the future.", field="signed_on")
    consent = Consent(
        journey=journey,
        form_version=form_version,
        signed_on=signed_on,
        signer=signer,
        scan_sha256=scan_sha256,
        obtained_by=actor,
    )
    consent.full_clean()
    record_create(actor=actor, record=consent, event="consent:record")
    if journey.status == Journey.Status.ENROLLED:
        _set_status(actor, journey, Journey.Status.CONSENTED, "journey:consent", "consent recorded")
    return consent


def consent_on_file(journey: Journey) -> bool:
    return journey.consents.filter(withdrawn_at__isnull=True, voided_at__isnull=True).exists()


@transaction.atomic
def consent_withdraw(*, actor: Any, consent: Consent, reason: str) -> Consent:
    """Withdrawal stops the journey and tells the manufacturer (T-6.4-b, T-8.2.2-g)."""
    _require_hospital_actor(actor, consent.journey.hospital_site)
    if not reason.strip():
        raise ValidationFailed("A reason for the withdrawal is required.", field="reason")
    consent.withdrawn_at = clock.now()
    consent.withdrawal_reason = reason
    record_amend(
        actor=actor,
        record=consent,
        event="consent:withdraw",
        reason=reason,
        fields=["withdrawn_at", "withdrawal_reason"],
    )
    journey = consent.journey
    _set_status(actor, journey, Journey.Status.WITHDRAWN, "journey:withdraw", reason)
    notification_send(
        actor=actor,
        organisation=journey.manufacturer_site.organisation,
        site=journey.manufacturer_site,
        subject=f"{journey.coi}: consent withdrawn",
        body=f"Journey {journey.pseudonym} stopped: {reason}",
        about=journey,
    )
    return consent


def checklist_in_force(journey: Journey) -> EligibilityChecklist | None:
    """The latest checklist of the journey's product and protocol version at its hospital (T-9.2.1-2)."""
    return (
        EligibilityChecklist.objects.filter(
            site=journey.hospital_site,
            product_code=journey.product_code,
            protocol=journey.ethics_approval.protocol,
            voided_at__isnull=True,
        )
        .order_by("-version")
        .first()
    )


@transaction.atomic
def eligibility_checklist_record(
    *, actor: Any, site: Site, product_code: str, protocol: str, criteria: list[str]
) -> EligibilityChecklist:
    """Record a new version of a protocol's eligibility checklist; it supersedes the earlier ones (T-9.2.1-2)."""
    _require_hospital_actor(actor, site)
    if not has_permission(actor, "journeys.checklist"):
        raise NotAllowed(_("Only a physician or coordinator defines the protocol's eligibility checklist."))
    cleaned = [c.strip() for c in criteria]
    problems = hold_rules.checklist_problems(cleaned)
    if problems:
        raise ValidationFailed(
            _("Criteria: %(problems)s (T-9.2.1-2).") % {"problems": "; ".join(problems)}, field="criteria"
        )
    protocol = protocol.strip()
    if not EthicsApproval.objects.filter(
        site=site, product_code=product_code, protocol=protocol, voided_at__isnull=True
    ).exists():
        raise ValidationFailed(
            _(
                "Protocol: no ethics approval at %(site)s names protocol %(protocol)s for %(product)s (T-5.2.2)."
            )
            % {"site": site.name, "protocol": protocol, "product": product_code},
            field="protocol",
        )
    last = (
        EligibilityChecklist.objects.select_for_update()
        .filter(site=site, product_code=product_code, protocol=protocol)
        .order_by("-version")
        .first()
    )
    return record_create(
        actor=actor,
        record=EligibilityChecklist(
            site=site,
            product_code=product_code,
            protocol=protocol,
            version=(last.version + 1) if last else 1,
            criteria=cleaned,
            recorded_at=clock.now(),
            recorded_by=actor,
        ),
        event="eligibility_checklist:record",
    )


def _checklist_required(journey: Journey) -> EligibilityChecklist:
    checklist = checklist_in_force(journey)
    if checklist is None:
        raise ValidationFailed(
            _(
                "No eligibility checklist is defined for protocol %(protocol)s of %(product)s at %(site)s: "
                "define it before assessing eligibility (T-9.2.1-2)."
            )
            % {
                "protocol": journey.ethics_approval.protocol,
                "product": journey.product_code,
                "site": journey.hospital_site.name,
            },
            field="answers",
        )
    return checklist


@transaction.atomic
def eligibility_assess(*, actor: Any, journey: Journey, answers: Mapping[str, bool]) -> EligibilityAssessment:
    """A physician answers the checklist of the protocol version in force; all criteria met makes the journey
    eligible, an unmet one not eligible (T-8.2.2-a, T-9.2.1-2). An unanswered criterion, or an answer to one the
    checklist does not have, refuses the assessment and writes nothing."""
    _require_hospital_actor(actor, journey.hospital_site)
    if Role.PHYSICIAN not in actor.current_roles():
        raise NotAllowed(_("Only a physician completes the eligibility checklist (T-9.2.1-2)."))
    if not answers:
        raise ValidationFailed("The eligibility checklist has no answers.", field="answers")
    if not consent_on_file(journey):
        raise Conflict("Consent is not on file: record it before assessing eligibility (T-6.4-b).")
    checklist = _checklist_required(journey)
    gate = hold_rules.eligibility_gate(checklist.protocol, checklist.version, checklist.criteria, answers)
    incomplete = [f for f in gate.findings if f.check != "criterion_unmet"]
    if incomplete:
        raise ValidationFailed(" ".join(f.message for f in incomplete), field="answers")
    eligible = gate.allowed
    assessment = record_create(
        actor=actor,
        record=EligibilityAssessment(
            journey=journey,
            checklist=checklist,
            answers={c: bool(answers[c]) for c in checklist.criteria},
            eligible=eligible,
            assessed_at=clock.now(),
            assessed_by=actor,
        ),
        event="eligibility:assess",
        extra={"protocol": checklist.protocol, "checklist_version": checklist.version},
    )
    status = Journey.Status.ELIGIBLE if eligible else Journey.Status.NOT_ELIGIBLE
    unmet = ", ".join(k for k, v in answers.items() if not v) or "all criteria met"
    _set_status(actor, journey, status, "journey:eligibility", unmet)
    return assessment


def eligibility_required(journey: Journey) -> None:
    """Refuse apheresis unless the latest assessment passed the checklist version in force (T-9.2.1-2)."""
    checklist = _checklist_required(journey)
    latest = journey.eligibility.filter(voided_at__isnull=True).order_by("-assessed_at", "-pk").first()
    if latest is None or not latest.eligible:
        raise Conflict(
            _("Journey %(coi)s has no passed eligibility checklist of %(protocol)s v%(version)s (T-9.2.1-2).")
            % {"coi": journey.coi, "protocol": checklist.protocol, "version": checklist.version},
            field="eligibility",
        )
    if latest.checklist_id != checklist.pk:
        raise Conflict(
            _(
                "Journey %(coi)s was assessed against another checklist version; %(protocol)s v%(version)s is "
                "in force: assess eligibility again before apheresis (T-9.2.1-2)."
            )
            % {"coi": journey.coi, "protocol": checklist.protocol, "version": checklist.version},
            field="eligibility",
        )
