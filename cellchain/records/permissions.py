"""Who works the archive and the scanned paper records (issue 13 item 9; T-10.16, T-6.4-g, X-6).

The clinical side archives a journey's documents (coordinator, physician, nurse, pharmacist) and QA of either
side; QA, or on the hospital side the physician (the personas' hospital has no QA role), closes an archive with
its signature. Everyone who handles journey records may read the archive and the
retention dates; auditors read.
"""

from cellchain.accounts.roles import Role

_READERS = {
    Role.QA,
    Role.AUDITOR,
    Role.COORDINATOR,
    Role.PHYSICIAN,
    Role.NURSE,
    Role.PHARMACIST,
    Role.QC_ANALYST,
    Role.PRODUCTION_OPERATOR,
    Role.LOGISTICS,
    Role.APHERESIS_OPERATOR,
}

GRANTS = {
    "records.view": _READERS,
    "records.archive": {Role.QA, Role.COORDINATOR, Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST},
    "records.close": {Role.QA, Role.PHYSICIAN},
    "records.scan": {Role.QA, Role.COORDINATOR, Role.PHYSICIAN, Role.NURSE, Role.PHARMACIST},
    # T-10.2: the backup restore-test log
    "records.view_restore_tests": {Role.QA, Role.AUDITOR, Role.SITE_ADMIN},
    "records.restore_test": {Role.QA, Role.SITE_ADMIN},
}
