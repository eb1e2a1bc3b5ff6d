"""Who may read the audit trail and the ledger's proofs (issue 3 item 9; REGULATORY items 3-4)."""

from cellchain.accounts.roles import ALL_ROLES, Role

GRANTS = {
    # The trail holds the full state of records; hospital and manufacturer readers see only their own side
    # (entries made by people of their own organisation, and the system's own entries).
    "ledger.view_trail": {Role.QA, Role.AUDITOR, Role.SITE_ADMIN},
    # Heads and proofs reveal only hashes: any role (and integrations) may fetch them.
    "ledger.view_proofs": set(ALL_ROLES),
    "ledger.issue_head": {Role.QA, Role.SITE_ADMIN},
    # Running the full verification on demand from the status page.
    "ledger.verify": {Role.QA, Role.AUDITOR, Role.SITE_ADMIN},
    # The bundle holds every entry of the installation (no patient identity: PII columns are ledger_exclude).
    "ledger.export_bundle": {Role.QA, Role.AUDITOR},
}
