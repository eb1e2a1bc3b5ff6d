"""Role grants of the manufacturing context (see cellchain/core/permissions.py).

Hospital roles have none: the batch record is the manufacturer's (X-7 keeps patient identity away from it,
and process-parameter values never go to the clinic, T-7.11). Auditors read.
"""

from cellchain.accounts.roles import Role

READERS = {Role.QA, Role.QC_ANALYST, Role.PRODUCTION_OPERATOR, Role.LOGISTICS, Role.AUDITOR}

GRANTS = {
    "manufacturing.view": READERS,
    "manufacturing.manage_products": {Role.QA},
    "manufacturing.manage_facility": {Role.QA, Role.SITE_ADMIN},
    "manufacturing.line_clearance": {Role.PRODUCTION_OPERATOR, Role.QA},
    "manufacturing.execute": {Role.PRODUCTION_OPERATOR},
    "manufacturing.intake": {Role.PRODUCTION_OPERATOR, Role.LOGISTICS},
    # supplier qualification and lot release are QA decisions (P-1.1-a/b, decision 0029)
    "manufacturing.manage_materials": {Role.QA},
}
