"""Who may read the quality metrics (issue 14 item 5).

Quality assurance and QC at the manufacturer; at the hospital the physicians and the cell-therapy
coordinator, who lead the programme (the team leader of T-5.3.2.1 is a physician; there is no separate
leader role yet); auditors read them as they read every record. Each sees only the records of their own
organisation (selectors.Scope).
"""

from cellchain.accounts.roles import Role

GRANTS = {
    "metrics.view": {Role.QA, Role.QC_ANALYST, Role.AUDITOR, Role.PHYSICIAN, Role.COORDINATOR},
}
