"""Who works with the clinical study records (T-10.9, T-10.10; X-7). Hospital roles only.

The coordinator and the physicians draft statistical reports and keep the source-document checklists; the
report is issued by its main operator, who is a physician (the team leader / principal investigator is a
physician, T-5.3.2.1; there is no separate leader role) named on the draft. The subject code directory links
codes to persons, so only the hospital roles that may see patient identity (journeys.view_identity) read it;
a manufacturer user is refused (X-7). Auditors read the reports and checklists, not the directory.
"""

from cellchain.accounts.roles import Role
from cellchain.journeys.permissions import GRANTS as JOURNEY_GRANTS

MAIN_OPERATOR_ROLE = Role.PHYSICIAN
"""The role the main operator of a statistical report holds (T-10.10)."""

GRANTS = {
    "studies.view": {Role.PHYSICIAN, Role.COORDINATOR, Role.NURSE, Role.AUDITOR},
    "studies.draft": {Role.PHYSICIAN, Role.COORDINATOR},
    "studies.issue": {Role.PHYSICIAN},
    "studies.tick": {Role.PHYSICIAN, Role.COORDINATOR, Role.NURSE},
    # the roles that may see patient identity (X-7, T-6.4-a): the directory is the code-to-person key
    "studies.directory": set(JOURNEY_GRANTS["journeys.view_identity"]),
    "studies.archive": {Role.COORDINATOR, Role.PHYSICIAN},
}
