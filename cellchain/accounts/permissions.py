"""Who may see and manage people (issue 2 item 7)."""

from cellchain.accounts.roles import Role

GRANTS = {
    "accounts.view_people": {Role.SITE_ADMIN, Role.AUDITOR, Role.QA},
    "accounts.manage_people": {Role.SITE_ADMIN},
}
