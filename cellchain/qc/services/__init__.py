"""Commands of the QC context (one transaction each, with the ledger)."""

from cellchain.qc.services.release import (
    audit_trail_review_record,
    batch_performers,
    batch_reject,
    batch_release,
    jsonable,
    package_issue,
    retained_sample_register,
)
from cellchain.qc.services.results import (
    method_register,
    raw_file_content,
    raw_file_store,
    result_amend,
    result_record,
    sample_take,
)

__all__ = [
    "audit_trail_review_record",
    "batch_performers",
    "batch_reject",
    "batch_release",
    "jsonable",
    "method_register",
    "package_issue",
    "raw_file_content",
    "raw_file_store",
    "result_amend",
    "result_record",
    "retained_sample_register",
    "sample_take",
]
