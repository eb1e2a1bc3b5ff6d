"""Who sees and manages the exchange with partner installations (issue 12 items 1-2).

The partner register holds the keys we trust: only the site administrator changes it. Quality assurance
(manufacturer) and the cell-therapy coordinator (hospital) review quarantined messages; auditors read.
"""

from cellchain.accounts.roles import Role

GRANTS = {
    "exchange.view": {Role.SITE_ADMIN, Role.QA, Role.COORDINATOR, Role.AUDITOR},
    "exchange.manage_partners": {Role.SITE_ADMIN},
    "exchange.review_quarantine": {Role.QA, Role.COORDINATOR, Role.SITE_ADMIN},
}
