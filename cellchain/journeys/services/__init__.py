"""Commands of the journeys context; each is one transaction with its ledger entries (STYLE habit 1)."""

from cellchain.journeys.services.apheresis import (
    CollectionInput,
    collection_record,
    screening_decide,
    screening_result_record,
    screening_verdict,
)
from cellchain.journeys.services.custody import (
    ScanDetails,
    storage_position_create,
    unit_custody_scan,
    unit_label_verify,
    unit_manufacture_start,
)
from cellchain.journeys.services.enrolment import (
    PatientData,
    checklist_in_force,
    consent_record,
    consent_withdraw,
    eligibility_assess,
    eligibility_checklist_record,
    eligibility_required,
    ethics_approval_record,
    journey_enrol,
)
from cellchain.journeys.services.holds import journey_hold_lift, journey_hold_place, journey_step_allowed
from cellchain.journeys.services.identifiers import coi_next, din_next
from cellchain.journeys.services.labelling import label_disposition_record, label_print, label_render
from cellchain.journeys.services.scheduling import booking_book, booking_cancel, booking_move, slot_open
from cellchain.journeys.services.sites import collection_site_certify, collection_site_required

__all__ = [
    "CollectionInput",
    "PatientData",
    "ScanDetails",
    "booking_book",
    "booking_cancel",
    "booking_move",
    "checklist_in_force",
    "coi_next",
    "collection_record",
    "collection_site_certify",
    "collection_site_required",
    "consent_record",
    "consent_withdraw",
    "din_next",
    "eligibility_assess",
    "eligibility_checklist_record",
    "eligibility_required",
    "ethics_approval_record",
    "journey_enrol",
    "journey_hold_lift",
    "journey_hold_place",
    "journey_step_allowed",
    "label_disposition_record",
    "label_print",
    "label_render",
    "screening_decide",
    "screening_result_record",
    "screening_verdict",
    "slot_open",
    "storage_position_create",
    "unit_custody_scan",
    "unit_label_verify",
    "unit_manufacture_start",
]
