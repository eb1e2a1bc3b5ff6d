"""Who reads, drafts and signs the quality reviews (issue 14 item 4; T-6.4-e, T-5.3.2.3, T-5.3.2.4).

Quality assurance drafts and signs the manufacturer's periodic and annual product quality reviews; at a
hospital the cell-therapy coordinator drafts and signs the periodic review (T-5.2.3: process management and
QC). The leader oversight report is signed by the team leader, who is a physician (T-5.3.2.1; there is no
separate leader role). Auditors read.
"""

from cellchain.accounts.roles import Role

GRANTS = {
    "reviews.view": {Role.QA, Role.COORDINATOR, Role.PHYSICIAN, Role.AUDITOR},
    "reviews.draft": {Role.QA, Role.COORDINATOR, Role.PHYSICIAN},
}

SIGNERS = {
    "periodic": frozenset({Role.QA, Role.COORDINATOR}),
    "annual_product": frozenset({Role.QA}),
    "oversight": frozenset({Role.PHYSICIAN}),
}
"""Kind of review -> the roles that sign it (the leader of that review)."""
