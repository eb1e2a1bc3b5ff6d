"""Who sees and who answers the site self-assessment (issue 14 item 2; CHECKLIST).

Manufacturer QA answers for the manufacturer's sites; at a hospital the cell-therapy coordinator, whose
department T-5.2.3 makes responsible for process management, QC and archiving. The physicians (the team
leader oversees quality management, T-5.3.2.3) and the auditors read.
"""

from cellchain.accounts.roles import Role

GRANTS = {
    "assessment.view": {Role.QA, Role.COORDINATOR, Role.PHYSICIAN, Role.AUDITOR},
    "assessment.answer": {Role.QA, Role.COORDINATOR},
    # The clause-by-clause compliance report (issue 14 item 3): those who answer, the physicians and the
    # auditors and inspectors read it and download its CSV and PDF.
    "assessment.report": {Role.QA, Role.COORDINATOR, Role.PHYSICIAN, Role.AUDITOR},
}
