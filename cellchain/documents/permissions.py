"""Who works the controlled documents (issue 13 item 1; T-6.1, T-6.4, T-6.5-a..f, T-5.3.5.2).

Everyone of an organisation reads its documents. Authors and reviewers are the professionals who write the
procedures (quality assurance, QC, production at the manufacturer; physicians, pharmacists, nurses, coordinators
at the hospital); quality assurance or a physician (the programme's director) approves; quality assurance and
the programme coordinator keep the register (new documents, retirement, periodic review). Everyone who performs a
step signs the read-and-understood training; the auditor only reads.
"""

from cellchain.accounts.roles import ALL_ROLES, Role

_WRITERS = {
    Role.QA,
    Role.QC_ANALYST,
    Role.PRODUCTION_OPERATOR,
    Role.PHYSICIAN,
    Role.PHARMACIST,
    Role.NURSE,
    Role.COORDINATOR,
}

GRANTS = {
    "documents.view": set(ALL_ROLES),
    "documents.manage": {Role.QA, Role.COORDINATOR},  # register, retire, periodic review
    "documents.author": _WRITERS,  # draft a version and sign it as author, or review it
    "documents.approve": {Role.QA, Role.PHYSICIAN},
    "documents.acknowledge": set(ALL_ROLES) - {Role.AUDITOR},
}
