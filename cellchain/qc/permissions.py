"""Role grants of the QC context (see cellchain/core/permissions.py); only QA releases (REGULATORY item 21)."""

from cellchain.accounts.roles import Role

GRANTS = {
    "qc.view": {Role.QA, Role.QC_ANALYST, Role.PRODUCTION_OPERATOR, Role.AUDITOR},
    "qc.enter_results": {Role.QC_ANALYST},
    "qc.register_retained": {Role.QC_ANALYST, Role.QA},
    "qc.review": {Role.QA},
    "qc.release": {Role.QA},
    "qc.documents": {Role.QA, Role.QC_ANALYST, Role.LOGISTICS, Role.AUDITOR},
    "qc.view_package": {Role.QA, Role.PHYSICIAN, Role.PHARMACIST, Role.NURSE, Role.COORDINATOR, Role.AUDITOR},
}
