"""Who may request and download inspection dossiers and audit-trail exports (issue 14 item 6; T-7.1, T-6.3).

The same roles as the ledger's whole bundle (`ledger.export_bundle`): quality assurance and the read-only
auditor of either organisation. What a dossier holds still depends on the requester's organisation
(`selectors.dossier_content`): a batch only for its manufacturer, hospital-only records only for the hospital.
"""

from cellchain.accounts.roles import Role

GRANTS = {
    "dossiers.view": {Role.QA, Role.AUDITOR},
    "dossiers.request": {Role.QA, Role.AUDITOR},
}
