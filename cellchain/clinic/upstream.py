"""What the clinic reads from the contexts upstream of it, through their selectors (FOUNDATION "Cross-context
calls"; docs/decisions/0005-clinic-use.md):

* manufacturing - the product unit by DIN, its batch and the COI of the apheresis unit it was made from;
* qc - the batch's latest release decision (full or conditional) and any open recall hold (Q-2.5-c);
* logistics - the unit's hospital receipt outcome (accepted, quarantined, rejected; T-8.1.6);
* journeys - the journey by COI and, for the patient's own hospital only, the wristband id (T-10.4, X-7)
  and the birth date (the age at ICANS onset decides ICE or CAPD, ASTCT 2019).

At a hospital installation (issue 12) the manufacturing tables are not there to read: the unit's facts are what
its manufacturer reported by message (`ReportedUnit`, kept by `services.reported`). A unit neither source knows
(e.g. entered by hand from paper records) is judged on the clinic's own record alone. When both know it, the stricter status wins: the bedside never sees a unit as more
usable than QA, receipt or a recall says it is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from cellchain.clinic.models import ClinicUnit, ReportedUnit
from cellchain.core import installation

_SEVERITY = [
    ClinicUnit.Release.RELEASED,
    ClinicUnit.Release.CONDITIONAL,
    ClinicUnit.Release.NOT_RELEASED,
    ClinicUnit.Release.QUARANTINED,
    ClinicUnit.Release.REJECTED,
]


def stricter(first: str, second: str) -> str:
    """The less usable of two release statuses (rejected > quarantined > not released > conditional > released)."""
    return max(first, second, key=_SEVERITY.index)


@dataclass(frozen=True)
class UpstreamUnit:
    """A product unit as manufacturing, QC and receipt see it."""

    din: str
    batch_number: str
    coi: str
    release: str  # a ClinicUnit.Release value
    reasons: tuple[str, ...]
    product_unit: Any  # the manufacturing record when this installation keeps it, else None


def product_unit(din: str) -> Any | None:
    """The manufacturing record of the unit, only where this installation is the manufacturer's (issue 12)."""
    if not installation.is_manufacturer():
        return None
    from cellchain.manufacturing.selectors import product_unit_get_by_identifier

    return product_unit_get_by_identifier(din)


def _release_of(batch: Any) -> tuple[str, list[str]]:
    from cellchain.qc.models import ReleaseDecision
    from cellchain.qc.selectors import latest_release

    decision = latest_release(batch)
    if decision is None:
        return ClinicUnit.Release.NOT_RELEASED, [f"batch {batch.number} has no release decision"]
    if decision.outcome == ReleaseDecision.Outcome.CONDITIONAL:
        return ClinicUnit.Release.CONDITIONAL, [f"batch {batch.number} conditionally released"]
    return ClinicUnit.Release.RELEASED, []


_RECEIPT = {"quarantined": ClinicUnit.Release.QUARANTINED, "rejected": ClinicUnit.Release.REJECTED}


def unit_facts(din: str) -> UpstreamUnit | None:
    """The upstream view of a unit: the manufacturing records kept here, else what the manufacturer reported
    by message; None when neither knows the DIN. The hospital's receipt outcome is added either way."""
    facts = _kept_facts(din) or _reported_facts(din)
    if facts is None:
        return None
    from cellchain.logistics.selectors import unit_clinic_status

    receipt = unit_clinic_status(din)
    if receipt not in _RECEIPT:
        return facts
    release = stricter(facts.release, _RECEIPT[receipt])
    return replace(facts, release=release, reasons=(*facts.reasons, f"receipt {receipt}"))


def _reported_facts(din: str) -> UpstreamUnit | None:
    """The unit as its manufacturer last reported it (issue 12 item 2)."""
    reported = ReportedUnit.objects.filter(din=din, voided_at__isnull=True).first()
    if reported is None:
        return None
    return UpstreamUnit(
        din, reported.batch_number, reported.coi, reported.release, tuple(reported.reasons), None
    )


def _kept_facts(din: str) -> UpstreamUnit | None:
    """The unit from the manufacturing and QC records this installation keeps."""
    from cellchain.manufacturing.models import ProductUnit
    from cellchain.qc.models import RecallHold

    unit = product_unit(din)
    if unit is None:
        return None
    release, reasons = _release_of(unit.batch)
    if unit.batch.recalls.filter(status=RecallHold.Status.OPEN, voided_at__isnull=True).exists():
        release, reasons = stricter(release, ClinicUnit.Release.QUARANTINED), [*reasons, "open recall hold"]
    if unit.status == ProductUnit.Status.QUARANTINED:
        release, reasons = stricter(release, ClinicUnit.Release.QUARANTINED), [*reasons, "unit quarantined"]
    return UpstreamUnit(din, unit.batch.number, unit.batch.intake.coi, release, tuple(reasons), unit)


def effective_release(unit: ClinicUnit) -> str:
    """The status the bedside uses: the clinic's record or the upstream one, whichever is stricter."""
    facts = unit_facts(unit.unit_id)
    return unit.release if facts is None else stricter(unit.release, facts.release)


def mark_infused(actor: Any, unit: ClinicUnit, at: dt.datetime) -> None:
    """Tell manufacturing the unit was infused (its unit record follows the product to the patient)."""
    from cellchain.manufacturing.models import ProductUnit
    from cellchain.manufacturing.services import product_unit_status_set

    upstream = product_unit(unit.unit_id)
    if upstream is not None and upstream.status != ProductUnit.Status.INFUSED:
        product_unit_status_set(
            actor=actor,
            unit=upstream,
            status=ProductUnit.Status.INFUSED,
            reason=f"infused at the clinic ({unit.course.journey_ref})",
            infused_at=at,
        )


def patient_wristband(viewer: Any, coi: str) -> tuple[Any, str]:
    """The journey with this COI and its patient's wristband id, for the patient's own hospital (X-7)."""
    from cellchain.journeys.selectors import journey_get_for, patient_identity_for

    journey = journey_get_for(viewer, coi)
    return journey, patient_identity_for(viewer, journey).wristband_id


def patient_birth_date(viewer: Any, coi: str) -> dt.date | None:
    """The patient's birth date from the enrolment record, for the patient's own hospital (X-7), or None when
    the journeys context does not know the COI (paper enrolment) or the viewer may not see the identity.

    Used for the patient's age at the onset of ICANS (CAPD under 12, ASTCT 2019); only the age in years
    leaves the clinic, never the birth date.
    """
    from cellchain.core.errors import NotAllowed, NotFound
    from cellchain.journeys.selectors import journey_get_for, patient_identity_for

    try:
        journey = journey_get_for(viewer, coi)
        return patient_identity_for(viewer, journey).birth_date
    except (NotFound, NotAllowed):
        return None
