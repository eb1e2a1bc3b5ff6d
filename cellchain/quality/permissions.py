"""Who may see and disposition deviations (T-6.4-f)."""

from cellchain.accounts.roles import Role

GRANTS = {
    "quality.view_deviations": {
        Role.QA,
        Role.AUDITOR,
        Role.QC_ANALYST,
        Role.PRODUCTION_OPERATOR,
        Role.PHYSICIAN,
        Role.COORDINATOR,
        Role.PHARMACIST,
        Role.NURSE,
        Role.LOGISTICS,
    },
    "quality.disposition_deviation": {Role.QA},
    # The register of adverse-event reports received from hospitals (issue 12 item 2, T-7.10).
    "quality.view_safety_reports": {Role.QA, Role.AUDITOR},
    # The e-mail outbox: site administrators see what was not delivered (issue 15).
    "quality.view_email_outbox": {Role.SITE_ADMIN},
    "quality.acknowledge_notification": {
        Role.QA,
        Role.PHYSICIAN,
        Role.COORDINATOR,
        Role.PHARMACIST,
        Role.NURSE,
        Role.LOGISTICS,
        Role.QC_ANALYST,
        Role.PRODUCTION_OPERATOR,
        Role.APHERESIS_OPERATOR,
        Role.SITE_ADMIN,
    },
}
