"""Thaw (T-8.2.4), preparation start (T-7.8-b), dilution (T-8.2.5) and over-time handling (T-7.8-d)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cellchain.clinic.models import ClinicUnit, Dilution, Thaw
from cellchain.clinic.services._common import amend, create, reasons_json, refuse
from cellchain.clinic.services.plan import _hospital_actor
from cellchain.clinic.services.products import applied_version, unit_profile
from cellchain.core import clock
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.documents.services import sop_version_link
from cellchain.domain import clinical_timing as timing
from cellchain.domain.clinical_verdict import Consequence, Verdict
from cellchain.domain.preparation import DilutionEntry, ThawEntry, dilution_check, thaw_check
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open

_UNIT_OUTCOME = {
    Consequence.REJECT_UNIT: ClinicUnit.Release.REJECTED,
    Consequence.QUARANTINE_UNIT: ClinicUnit.Release.QUARANTINED,
}


def _usable(unit: ClinicUnit) -> None:
    if unit.release in (ClinicUnit.Release.REJECTED, ClinicUnit.Release.QUARANTINED):
        raise Conflict(f"Unit {unit.unit_id} is {unit.get_release_display().lower()}: it cannot be prepared.")


def _apply_consequences(actor: Any, unit: ClinicUnit, verdict: Verdict, step: str, record: Any) -> None:
    """Reject or quarantine the unit and open the deviation each non-blocking finding asks for."""
    for reason in verdict.reasons:
        if reason.consequence is Consequence.BLOCK:
            continue
        release = _UNIT_OUTCOME.get(reason.consequence)
        if release is not None and unit.release != ClinicUnit.Release.REJECTED:
            unit.release = release
            amend(actor, unit, f"unit:{step}:{release}", reason.message)
        deviation_open(
            actor=actor,
            site=unit.course.site,
            kind=Deviation.Kind.PROCESS,
            title=f"{step.capitalize()} of {unit.unit_id}: {reason.code}",
            description=f"{reason.message} (found {reason.value}, limit {reason.limit}; {reason.clause})",
            subject=record,
            blocks_subject=release is not None,
        )


def _recompute_use_by(unit: ClinicUnit) -> None:
    thaw = getattr(unit, "thaw", None)
    if thaw is None:
        return
    dilution = getattr(unit, "dilution", None)
    deadline = timing.use_by(
        unit_profile(unit).use_limits(),
        thaw.ended_at,
        unit.preparation_started_at,
        dilution.ended_at if dilution else None,
    )
    unit.use_by, unit.use_by_clock = deadline.deadline, deadline.clock


@transaction.atomic
def thaw_record(
    *,
    actor: Any,
    unit: ClinicUnit,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    temperature_c: float,
    method: str,
    area: str,
    device: str,
    appearance_normal: bool,
    no_shaking_confirmed: bool,
    precautions_acknowledged: bool,
    interrupted: bool = False,
) -> Thaw:
    """Record the thaw and start the use-by countdown (T-8.2.4, T-7.8-a); a thawed unit never goes back to
    frozen stock (T-7.14-d). Out-of-range temperature quarantines, abnormal appearance rejects the unit."""
    _hospital_actor(actor, unit.course.site)
    _usable(unit)
    if unit.state != ClinicUnit.State.STORED:
        raise Conflict(f"Unit {unit.unit_id} was already thawed: it cannot be thawed again (T-7.14-d).")
    if not precautions_acknowledged:
        raise ValidationFailed(
            "Acknowledge the product's precautions before thawing (T-7.9-d).",
            field="precautions_acknowledged",
        )
    entry = ThawEntry(
        started_at, ended_at, temperature_c, method, appearance_normal, interrupted, no_shaking_confirmed
    )
    profile = unit_profile(unit)
    verdict = thaw_check(profile.thaw_spec(), entry, clock.now())
    _refuse_blocking(verdict)
    thaw = Thaw(
        unit=unit,
        started_at=started_at,
        ended_at=ended_at,
        temperature_c=temperature_c,
        method=method,
        area=area,
        device=device,
        appearance_normal=appearance_normal,
        interrupted=interrupted,
        no_shaking_confirmed=no_shaking_confirmed,
        precautions_acknowledged=precautions_acknowledged,
        operator=actor,
        findings=reasons_json(verdict),
    )
    create(actor, thaw, "unit:thaw", extra={"values_of": applied_version(profile) or "hand-entered profile"})
    sop_version_link(actor=actor, step="thaw", site=unit.course.site, record=thaw, at=started_at)
    unit.state = ClinicUnit.State.THAWED
    _recompute_use_by(unit)
    amend(actor, unit, "unit:thawed", "thaw recorded; use-by countdown started (T-7.8-a)")
    _apply_consequences(actor, unit, verdict, "thaw", thaw)
    return thaw


def _refuse_blocking(verdict: Verdict) -> None:
    """Input errors (future times, missing confirmations) block without a record; the rest is recorded."""
    blocking = tuple(r for r in verdict.reasons if r.consequence is Consequence.BLOCK)
    refuse(Verdict(blocking))


@transaction.atomic
def preparation_start(*, actor: Any, unit: ClinicUnit) -> ClinicUnit:
    """Start the preparation-before-infusion clock (T-7.8-b)."""
    _hospital_actor(actor, unit.course.site)
    _usable(unit)
    if unit.state not in (ClinicUnit.State.THAWED, ClinicUnit.State.DILUTED):
        raise Conflict("Preparation starts after the thaw.")
    if unit.preparation_started_at is not None:
        raise Conflict("Preparation has already started.")
    unit.preparation_started_at = clock.now()
    _recompute_use_by(unit)
    amend(actor, unit, "unit:preparation:start", "preparation before infusion started (T-7.8-b)")
    return unit


@transaction.atomic
def dilution_record(
    *,
    actor: Any,
    unit: ClinicUnit,
    diluent: str,
    diluent_lot: str,
    diluent_expiry: dt.date,
    product_volume_ml: float,
    diluent_volume_ml: float,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    gentle_mixing_confirmed: bool,
    aseptic_area: str,
) -> Dilution:
    """Dilute or mix only as the product defines (T-8.2.5 a-e); starts the T-7.8-c countdown."""
    _hospital_actor(actor, unit.course.site)
    _usable(unit)
    if unit.state != ClinicUnit.State.THAWED:
        raise Conflict("Dilution follows the thaw and happens once.")
    entry = DilutionEntry(
        diluent,
        diluent_lot,
        diluent_expiry,
        product_volume_ml,
        diluent_volume_ml,
        started_at,
        ended_at,
        gentle_mixing_confirmed,
        aseptic_area,
    )
    refuse(dilution_check(unit_profile(unit).dilution_spec(), entry, clock.now()))
    dilution = Dilution(
        unit=unit,
        diluent=diluent,
        diluent_lot=diluent_lot,
        diluent_expiry=diluent_expiry,
        product_volume_ml=product_volume_ml,
        diluent_volume_ml=diluent_volume_ml,
        started_at=started_at,
        ended_at=ended_at,
        gentle_mixing_confirmed=gentle_mixing_confirmed,
        aseptic_area=aseptic_area,
        operator=actor,
    )
    create(actor, dilution, "unit:dilute")
    unit.state = ClinicUnit.State.DILUTED
    unit.dilution = dilution
    _recompute_use_by(unit)
    amend(actor, unit, "unit:diluted", "dilution recorded; use-after-dilution countdown started (T-7.8-c)")
    return dilution


@transaction.atomic
def unit_overtime_apply(*, actor: Any, unit: ClinicUnit) -> Verdict:
    """Apply the product's over-time rule to a unit past its use-by (T-7.8-d): reject unless the product says
    quarantine; opens the deviation. Returns the verdict (passed when the unit is still in time)."""
    if unit.use_by is None:
        return Verdict()
    limits = unit_profile(unit).use_limits()
    verdict = timing.use_by_check(limits, timing.UseBy(unit.use_by, unit.use_by_clock or "thaw"), clock.now())
    if not verdict.passed and unit.release not in (
        ClinicUnit.Release.REJECTED,
        ClinicUnit.Release.QUARANTINED,
    ):
        _apply_consequences(actor, unit, verdict, "use-by", unit)
    return verdict
