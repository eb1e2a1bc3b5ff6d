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
    consent_record,
    consent_withdraw,
    eligibility_assess,
    ethics_approval_record,
    journey_enrol,
)
from cellchain.journeys.services.identifiers import coi_next, din_next
from cellchain.journeys.services.labelling import label_disposition_record, label_print, label_render
from cellchain.journeys.services.scheduling import booking_book, booking_cancel, booking_move, slot_open

__all__ = [
    "CollectionInput",
    "PatientData",
    "ScanDetails",
    "booking_book",
    "booking_cancel",
    "booking_move",
    "coi_next",
    "collection_record",
    "consent_record",
    "consent_withdraw",
    "din_next",
    "eligibility_assess",
    "ethics_approval_record",
    "journey_enrol",
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
