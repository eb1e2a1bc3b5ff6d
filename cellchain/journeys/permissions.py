"""Role grants of the journeys context (see cellchain/core/permissions.py).

Manufacturer roles read journeys by COI and pseudonym; only hospital roles reach patient identity (X-7).
"""

from cellchain.accounts.roles import Role

_HOSPITAL_CLINICAL = {Role.PHYSICIAN, Role.NURSE, Role.COORDINATOR, Role.APHERESIS_OPERATOR}
_CUSTODY = {
    Role.APHERESIS_OPERATOR,
    Role.NURSE,
    Role.COORDINATOR,
    Role.PHARMACIST,
    Role.LOGISTICS,
    Role.PRODUCTION_OPERATOR,
}

GRANTS: dict[str, set[str]] = {
    "journeys.view": {
        *_HOSPITAL_CLINICAL,
        Role.PHARMACIST,
        Role.QA,
        Role.QC_ANALYST,
        Role.PRODUCTION_OPERATOR,
        Role.LOGISTICS,
        Role.AUDITOR,
    },
    "journeys.view_identity": set(_HOSPITAL_CLINICAL),
    "journeys.enrol": {Role.PHYSICIAN, Role.COORDINATOR},
    "journeys.consent": {Role.PHYSICIAN},
    "journeys.schedule": {Role.COORDINATOR, Role.PHYSICIAN, Role.LOGISTICS, Role.PRODUCTION_OPERATOR},
    "journeys.screen": {Role.PHYSICIAN, Role.NURSE},
    "journeys.collect": {Role.APHERESIS_OPERATOR},
    "journeys.label": {Role.APHERESIS_OPERATOR, Role.NURSE},
    "journeys.scan": _CUSTODY,
    "journeys.hold": {Role.PHYSICIAN, Role.QA},  # T-6.4-h
    "journeys.checklist": {Role.PHYSICIAN, Role.COORDINATOR},  # T-9.2.1-2
    "journeys.certify_site": {Role.QA},  # P-1.3.1-d
    "journeys.export": {Role.QA, Role.AUDITOR, Role.LOGISTICS, Role.COORDINATOR},
}
