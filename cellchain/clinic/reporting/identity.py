"""The hospital's own identifiers of its patients, for the outgoing patient-identity scanner (issue 12
item 2: "No field that identifies the patient is ever sent (a test scans every outgoing message)")."""

from __future__ import annotations

from collections.abc import Iterable

from cellchain.clinic.models import TreatmentCourse


def hospital_patient_identifiers(courses: Iterable[TreatmentCourse] | None = None) -> frozenset[str]:
    """Every identifying value this installation holds of its patients: from enrolment (journeys: name,
    birth date, hospital record number, wristband id) and from the clinic's courses (wristband id, the
    on-screen patient label, the EMR reference). `courses` limits it to those courses' patients; None means
    all. Pass the result as `known` to ``cellchain.domain.patient_identity.patient_identifiers_in``."""
    from cellchain.journeys.models import PatientIdentity

    course_rows = TreatmentCourse.objects.all() if courses is None else list(courses)
    values: set[str] = set()
    cois: set[str] = set()
    for course in course_rows:
        values.update((course.patient_wristband_id, course.patient_label, course.emr_ref))
        cois.update((course.coi, course.coi[:-1]))
    identities = PatientIdentity.objects.select_related("journey")
    if courses is not None:
        identities = identities.filter(journey__coi__in=cois)
    for identity in identities:
        values.update(
            (
                identity.name,
                identity.birth_date.isoformat(),
                identity.hospital_record_number,
                identity.wristband_id,
            )
        )
    return frozenset(v.strip() for v in values if v and v.strip())
