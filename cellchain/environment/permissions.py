"""Who keeps the clean zones' records (T-5.1.6): production cleans and disinfects, QC samples the environment,
QA sets the alert and action limits and the areas' grades; production, QC and QA put vector lots and cells
into storage (T-5.1.4-c); auditors read."""

from cellchain.accounts.roles import Role

GRANTS = {
    "environment.view": {Role.QA, Role.QC_ANALYST, Role.PRODUCTION_OPERATOR, Role.AUDITOR},
    "environment.clean": {Role.PRODUCTION_OPERATOR, Role.QA},
    "environment.monitor": {Role.QC_ANALYST, Role.QA},
    "environment.set_limits": {Role.QA},
    "environment.store": {Role.PRODUCTION_OPERATOR, Role.QC_ANALYST, Role.QA},
}
