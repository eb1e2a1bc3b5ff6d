"""Role grants of the clinic context (see cellchain/core/permissions.py).

Hospital roles only: the manufacturer learns of adverse events through pseudonymous notifications (T-7.6, X-7).
"""

from cellchain.accounts.roles import Role

_CLINICAL = {Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST, Role.COORDINATOR}

GRANTS = {
    "clinic.view": _CLINICAL | {Role.AUDITOR},
    "clinic.plan": {Role.PHYSICIAN, Role.COORDINATOR},
    "clinic.prepare": {Role.NURSE, Role.PHARMACIST},
    "clinic.bedside": {Role.NURSE, Role.PHYSICIAN},
    "clinic.infuse": {Role.NURSE, Role.PHYSICIAN},
    "clinic.observe": {Role.NURSE, Role.PHYSICIAN},
    "clinic.record_ae": {Role.PHYSICIAN, Role.NURSE},
    "clinic.report": {Role.PHYSICIAN, Role.COORDINATOR},
    "clinic.follow_up": {Role.PHYSICIAN, Role.COORDINATOR, Role.NURSE},
    "clinic.deviation": {Role.PHYSICIAN, Role.COORDINATOR},
    "clinic.risk_plan": {Role.PHYSICIAN, Role.COORDINATOR},
    "clinic.acknowledge": {Role.PHYSICIAN},
    "clinic.grade": _CLINICAL,
    # adopting the manufacturer's approved product version into the clinic's profile (T-7.4, T-8.2.1)
    "clinic.product": {Role.PHYSICIAN, Role.PHARMACIST},
}
