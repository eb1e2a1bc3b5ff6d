"""Standalone offline verifier of CellChain ledger bundles and dossier subsets (REGULATORY.md #9 and #45, T-6.3).

Depends only on the standard library, ``cryptography`` and the pure ``cellchain.domain.merkle`` and
``cellchain.domain.treehead`` modules, so an inspector can run it without Django or a database.
"""

from cellchain.verifier.bundle import (
    BUNDLE_FORMAT,
    RESULT_FAILED,
    RESULT_OK,
    RESULT_UNVERIFIED,
    Bundle,
    BundleError,
    Finding,
    TrustedHead,
    VerifyReport,
    parse_bundle,
    trusted_head_from_json,
    verify_bundle,
)
from cellchain.verifier.signing import (
    SignatureError,
    countersign,
    key_fingerprint,
    public_key_bytes,
    sign_head,
    verify_countersignature,
    verify_head_signature,
)
from cellchain.verifier.subset import (
    SUBSET_FORMAT,
    SubsetReport,
    parse_subset_bundle,
    verify_subset_bundle,
)

__all__ = [
    "BUNDLE_FORMAT",
    "RESULT_FAILED",
    "RESULT_OK",
    "RESULT_UNVERIFIED",
    "SUBSET_FORMAT",
    "Bundle",
    "BundleError",
    "Finding",
    "SignatureError",
    "SubsetReport",
    "TrustedHead",
    "VerifyReport",
    "countersign",
    "key_fingerprint",
    "parse_bundle",
    "parse_subset_bundle",
    "public_key_bytes",
    "sign_head",
    "trusted_head_from_json",
    "verify_bundle",
    "verify_countersignature",
    "verify_head_signature",
    "verify_subset_bundle",
]
