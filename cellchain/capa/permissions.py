"""Who works the CAPA of a deviation and the change requests (issue 13 item 4; T-6.4-f, T-9.3.2, T-10.15,
REGULATORY item 61).

Quality assurance records the investigation, plans the actions, checks their effectiveness, closes the deviation
with its signature, and assesses, approves, verifies and closes changes. The owner of an action (any role that
sees deviations) reports it done. Production and QC raise and implement changes; auditors read.
"""

from cellchain.accounts.roles import Role

_SEES_DEVIATIONS = {
    Role.QA,
    Role.AUDITOR,
    Role.QC_ANALYST,
    Role.PRODUCTION_OPERATOR,
    Role.PHYSICIAN,
    Role.COORDINATOR,
    Role.PHARMACIST,
    Role.NURSE,
    Role.LOGISTICS,
}

GRANTS = {
    "capa.view": _SEES_DEVIATIONS,
    "capa.manage": {Role.QA},  # investigation, actions, effectiveness check
    "capa.complete_action": _SEES_DEVIATIONS
    - {Role.AUDITOR},  # the owner reports done; the service checks who
    "capa.close": {Role.QA},
    "capa.view_changes": {Role.QA, Role.AUDITOR, Role.QC_ANALYST, Role.PRODUCTION_OPERATOR},
    "capa.raise_change": {Role.QA, Role.QC_ANALYST, Role.PRODUCTION_OPERATOR},
    "capa.implement_change": {Role.QA, Role.QC_ANALYST, Role.PRODUCTION_OPERATOR},
    "capa.approve_change": {Role.QA},  # assess, approve (signed), reject, verify, close
}
