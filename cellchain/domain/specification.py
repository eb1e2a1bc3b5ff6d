"""Release specification as data, and the release evaluation of a batch against it.

Clauses: Q-2-a..g (tests, methods, criteria, blocking), Q-2.1 (the specification's method only),
Q-2.2, Q-2.3-b (VCN <= 5 copies/cell), Q-2.4, Q-2.5-a..c (rapid methods, conditional release,
late compendial positive), Q-2.6-b/c (RCL/RCR, retained sample), REGULATORY items 7 and 10.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from cellchain.domain.findings import Finding, format_decimal


class Assay(StrEnum):
    """The kinds of test a CAR-T release specification lists (Q-2-a, T-7.2-a..g, T-7.3)."""

    APPEARANCE = "appearance"  # Q-2-d
    PH = "ph"  # Q-2-d
    OSMOLALITY = "osmolality"  # Q-2-d
    STERILITY = "sterility"  # Q-2-e
    MYCOPLASMA = "mycoplasma"  # Q-2-e
    ENDOTOXIN = "endotoxin"  # Q-2-e
    VIABILITY = "viability"
    CELL_COUNT = "cell_count"  # Q-2.1 (viable cells)
    CAR_POSITIVE = "car_positive"
    VCN = "vcn"
    PURITY = "purity"
    IDENTITY = "identity"  # T-7.3 鉴别
    POTENCY = "potency"  # Q-2-f
    RCL_RCR = "rcl_rcr"  # Q-2.6-b
    BEAD_RESIDUE = "bead_residue"  # Q-2-g
    CYTOKINE_RESIDUE = "cytokine_residue"  # Q-2-g
    MORPHOLOGY = "morphology"  # T-7.2-a
    FOREIGN_MATTER = "foreign_matter"  # T-7.3 除细胞之外的其他外源性异物


REQUIRED_ASSAYS: tuple[Assay, ...] = (
    Assay.APPEARANCE,
    Assay.PH,
    Assay.OSMOLALITY,
    Assay.STERILITY,
    Assay.MYCOPLASMA,
    Assay.ENDOTOXIN,
    Assay.VIABILITY,
    Assay.CELL_COUNT,
    Assay.CAR_POSITIVE,
    Assay.VCN,
    Assay.PURITY,
    Assay.POTENCY,
    Assay.RCL_RCR,
)
"""Tests every CAR-T release specification lists (Q-2-a: physical-chemical, safety, viability and count,
purity, CAR+ rate, CAR copy number, potency, RCL/RCR). Bead residue joins when beads were used (Q-2-g)."""

RAPID_RELEASE_ASSAYS: frozenset[Assay] = frozenset({Assay.STERILITY, Assay.MYCOPLASMA})
"""Tests whose compendial result may still be pending at a conditional release, given a validated rapid
method was negative (review 2.5, Q-2.5-a/b)."""

IMPURITY_ASSAYS: frozenset[Assay] = frozenset({Assay.BEAD_RESIDUE, Assay.CYTOKINE_RESIDUE})
"""Process-impurity tests; a specification lists at least one (Q-2-a, Q-2-g, T-7.3 杂质)."""

VCN_REFERENCE_MAXIMUM = Decimal(5)
"""Reference release limit for the CAR copy number: not above 5 copies per cell (Q-2.3-b)."""


class MethodStatus(StrEnum):
    """Standing of an analytical method in the method master (Q-2-c)."""

    COMPENDIAL = "compendial"  # 中国药典 method
    VALIDATED = "validated"  # developed for the product and validated
    UNVALIDATED = "unvalidated"  # may be used for information, never for release


@dataclass(frozen=True, slots=True)
class Method:
    """An analytical method: code, name, standing, and whether it is a rapid method (Q-2-c, Q-2.5-a)."""

    code: str
    name: str
    status: MethodStatus
    rapid: bool = False


class Qualitative(StrEnum):
    """Outcomes of a qualitative test, and the criteria they are judged against."""

    NEGATIVE = "negative"
    POSITIVE = "positive"
    CONFORMS = "conforms"
    DOES_NOT_CONFORM = "does_not_conform"


@dataclass(frozen=True, slots=True)
class NumericLimit:
    """A numeric acceptance criterion: inclusive minimum and/or maximum, in one unit."""

    unit: str
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def describe(self) -> str:
        """The limit as printed on the certificate: "≥ 70 %", "≤ 5 copies/cell", "6.5–7.5"."""
        low, high = self.minimum, self.maximum
        unit = f" {self.unit}" if self.unit else ""
        if low is not None and high is not None:
            return f"{format_decimal(low)}–{format_decimal(high)}{unit}"
        if low is not None:
            return f"≥ {format_decimal(low)}{unit}"
        if high is not None:
            return f"≤ {format_decimal(high)}{unit}"
        return f"report{unit}"


@dataclass(frozen=True, slots=True)
class QualitativeLimit:
    """A qualitative acceptance criterion: the outcome that conforms ("negative", "conforms")."""

    expected: Qualitative

    def describe(self) -> str:
        return self.expected.value.replace("_", " ")


Criterion = NumericLimit | QualitativeLimit


@dataclass(frozen=True, slots=True)
class SpecItem:
    """One line of the specification: test, method, criterion, blocking or not (Q-2-a)."""

    code: str
    assay: Assay
    method: Method
    criterion: Criterion
    release_blocking: bool = True
    sampling_point: str = "final product"


@dataclass(frozen=True, slots=True)
class Specification:
    """A product's release specification, one version of it (Q-2-a); approved in the product master."""

    product_code: str
    version: str
    items: tuple[SpecItem, ...]
    rapid_release_allowed: bool = False  # Q-2.5-a product flag

    def item(self, code: str) -> SpecItem:
        """The item with this code; KeyError names the code when it is not in the specification."""
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"specification {self.product_code} v{self.version} has no test {code!r}")

    def assays(self) -> frozenset[Assay]:
        return frozenset(item.assay for item in self.items)


def vcn_item(code: str, method: Method, maximum: Decimal = VCN_REFERENCE_MAXIMUM) -> SpecItem:
    """A VCN line with the reference limit of 5 copies/cell unless the product is stricter (Q-2.3-b)."""
    return SpecItem(code, Assay.VCN, method, NumericLimit("copies/cell", maximum=maximum))


def specification_problems(spec: Specification, *, bead_activator_used: bool) -> tuple[Finding, ...]:
    """Why a specification cannot be approved or used for release (Q-2-a, Q-2-c, Q-2-g, Q-2.3-b, Q-2.5)."""
    return (
        *_duplicate_codes(spec),
        *_missing_assays(spec, bead_activator_used),
        *(f for item in spec.items for f in _item_problems(item)),
        *_rapid_release_problems(spec),
    )


def _duplicate_codes(spec: Specification) -> list[Finding]:
    codes = [item.code for item in spec.items]
    return [
        Finding("duplicate_test_code", f"test code {code!r} appears more than once", "Q-2-a", code)
        for code in sorted({c for c in codes if codes.count(c) > 1})
    ]


def _missing_assays(spec: Specification, bead_activator_used: bool) -> list[Finding]:
    required = list(REQUIRED_ASSAYS)
    if bead_activator_used:
        required.append(Assay.BEAD_RESIDUE)
    blocking = {item.assay for item in spec.items if item.release_blocking}
    found = [
        Finding(
            "required_test_missing",
            f"the specification has no release-blocking {assay.value} test",
            "Q-2-g" if assay is Assay.BEAD_RESIDUE else "Q-2-a",
            assay.value,
        )
        for assay in required
        if assay not in blocking
    ]
    if not spec.assays() & IMPURITY_ASSAYS:
        found.append(
            Finding("impurity_test_missing", "the specification has no process-impurity test", "Q-2-a")
        )
    return found


def _item_problems(item: SpecItem) -> list[Finding]:
    found: list[Finding] = []
    if item.release_blocking and item.method.status is MethodStatus.UNVALIDATED:
        found.append(
            Finding("method_unvalidated", "an unvalidated method cannot support release", "Q-2-c", item.code)
        )
    if item.method.rapid and item.method.status is not MethodStatus.VALIDATED:
        found.append(
            Finding("rapid_method_not_validated", "a rapid method must be validated", "Q-2.5-a", item.code)
        )
    criterion = item.criterion
    if isinstance(criterion, NumericLimit):
        low, high = criterion.minimum, criterion.maximum
        if low is not None and high is not None and low > high:
            found.append(
                Finding(
                    "limit_inverted", "minimum above maximum", "Q-2-a", item.code, limit=criterion.describe()
                )
            )
    if item.assay is Assay.VCN:
        found.extend(_vcn_problems(item))
    return found


def _vcn_problems(item: SpecItem) -> list[Finding]:
    criterion = item.criterion
    high = criterion.maximum if isinstance(criterion, NumericLimit) else None
    if high is None or high > VCN_REFERENCE_MAXIMUM:
        return [
            Finding(
                "vcn_limit_above_reference",
                "the VCN limit must be a maximum of at most 5 copies/cell",
                "Q-2.3-b",
                item.code,
                limit=criterion.describe(),
            )
        ]
    return []


def _rapid_release_problems(spec: Specification) -> list[Finding]:
    found: list[Finding] = []
    for assay in sorted(RAPID_RELEASE_ASSAYS):
        lines = [item for item in spec.items if item.assay is assay]
        has_rapid = any(item.method.rapid for item in lines)
        has_compendial = any(item.method.status is MethodStatus.COMPENDIAL for item in lines)
        if has_rapid and not has_compendial:
            found.append(
                Finding(
                    "compendial_parallel_missing",
                    f"rapid {assay.value} needs the compendial test in parallel",
                    "Q-2.5-b",
                    assay.value,
                )
            )
        if spec.rapid_release_allowed and not has_rapid:
            found.append(
                Finding(
                    "rapid_method_missing",
                    f"rapid release needs a validated rapid {assay.value} method",
                    "Q-2.5-a",
                    assay.value,
                )
            )
    return found


class ResultStatus(StrEnum):
    """A result is final, or the test is ordered and its result pending (Q-2.5-b)."""

    FINAL = "final"
    ORDERED = "ordered"


@dataclass(frozen=True, slots=True)
class QcResult:
    """One test result for a specification item, with the method actually used (Q-2.1) and who performed it.

    `amended` marks a value changed after its first entry, which release printouts show (REGULATORY item 6).
    """

    item_code: str
    method: Method
    status: ResultStatus = ResultStatus.FINAL
    value: Decimal | None = None
    outcome: Qualitative | None = None
    performed_by: str = ""
    amended: bool = False
    instrument: str = ""  # instrument (and stain) the value came from
    issuing_lab: str = ""  # T-7.2: who issued the result
    third_party: bool = False  # T-7.2: issued by a qualified third party


class Verdict(StrEnum):
    """The verdict on one specification item."""

    CONFORMS = "conforms"
    DOES_NOT_CONFORM = "does_not_conform"
    PENDING = "pending"
    NOT_TESTED = "not_tested"
    METHOD_NOT_ACCEPTED = "method_not_accepted"
    NO_VALUE = "no_value"


@dataclass(frozen=True, slots=True)
class ItemVerdict:
    """One test's verdict, with the result and the limit as printed, and the finding when it failed."""

    item: SpecItem
    verdict: Verdict
    shown: str
    limit: str
    finding: Finding | None = None
    result: QcResult | None = None

    @property
    def amended(self) -> bool:
        """The value was changed after first entry; release printouts mark it (REGULATORY item 6)."""
        return self.result is not None and self.result.amended


def judge_result(item: SpecItem, result: QcResult | None) -> ItemVerdict:
    """Judge one result against its specification item (Q-2-a, Q-2-c, Q-2.1, Q-2.3-b)."""
    limit = item.criterion.describe()
    if result is None:
        return _verdict(item, None, Verdict.NOT_TESTED, "not_tested", "no result recorded", "Q-2-a")
    if result.status is ResultStatus.ORDERED:
        return _verdict(item, result, Verdict.PENDING, "pending", "ordered, result pending", "Q-2.5-b")
    if result.method.code != item.method.code:
        message = f"result by method {result.method.code}, the specification requires {item.method.code}"
        return _verdict(item, result, Verdict.METHOD_NOT_ACCEPTED, "method_differs", message, "Q-2.1")
    if result.method.status is MethodStatus.UNVALIDATED:
        message = f"method {result.method.code} is not validated"
        return _verdict(item, result, Verdict.METHOD_NOT_ACCEPTED, "method_unvalidated", message, "Q-2-c")
    finding = _criterion_finding(item, result)
    verdict = Verdict.CONFORMS if finding is None else Verdict.DOES_NOT_CONFORM
    if finding is not None and finding.check == "no_value":
        verdict = Verdict.NO_VALUE
    return ItemVerdict(item, verdict, _printed(result), limit, finding, result)


def _verdict(
    item: SpecItem, result: QcResult | None, verdict: Verdict, check: str, message: str, clause: str
) -> ItemVerdict:
    limit = item.criterion.describe()
    printed = _printed(result)
    finding = Finding(check, f"{item.code}: {message}", clause, item.code, printed, limit)
    return ItemVerdict(item, verdict, printed, limit, finding, result)


def _printed(result: QcResult | None) -> str:
    if result is None:
        return ""
    if result.status is ResultStatus.ORDERED:
        return "pending"
    if result.value is not None:
        return format_decimal(result.value)
    if result.outcome is not None:
        return result.outcome.value.replace("_", " ")
    return ""


def _criterion_finding(item: SpecItem, result: QcResult) -> Finding | None:
    criterion = item.criterion
    clause = "Q-2.3-b" if item.assay is Assay.VCN else "Q-2-a"
    if isinstance(criterion, QualitativeLimit):
        if result.outcome is None:
            return Finding(
                "no_value", f"{item.code}: no outcome recorded", clause, item.code, "", criterion.describe()
            )
        if result.outcome is criterion.expected:
            return None
        return Finding(
            "outcome_not_expected",
            f"{item.code}: {_printed(result)}, expected {criterion.describe()}",
            clause,
            item.code,
            _printed(result),
            criterion.describe(),
        )
    return _numeric_finding(item, criterion, result.value, clause)


def _numeric_finding(
    item: SpecItem, limit: NumericLimit, value: Decimal | None, clause: str
) -> Finding | None:
    if value is None or not value.is_finite():
        return Finding(
            "no_value", f"{item.code}: no numeric value recorded", clause, item.code, "", limit.describe()
        )
    shown = format_decimal(value)
    if limit.minimum is not None and value < limit.minimum:
        return Finding(
            "below_minimum",
            f"{item.code}: {shown} below {limit.describe()}",
            clause,
            item.code,
            shown,
            limit.describe(),
        )
    if limit.maximum is not None and value > limit.maximum:
        return Finding(
            "above_maximum",
            f"{item.code}: {shown} above {limit.describe()}",
            clause,
            item.code,
            shown,
            limit.describe(),
        )
    return None


class ReleaseOutcome(StrEnum):
    """The three outcomes of a release evaluation (Q-2-b)."""

    RELEASABLE = "releasable"
    CONDITIONALLY_RELEASABLE = "conditionally_releasable"
    NOT_RELEASABLE = "not_releasable"


@dataclass(frozen=True, slots=True)
class AuditTrailReview:
    """The recorded review of the batch's audit trail before release (REGULATORY item 7).

    `last_entry_at` is the time of the newest entry of the batch record and its QC; a review older than it
    did not see everything and no longer counts.
    """

    reviewer: str
    reviewed_at: datetime
    last_entry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RetainedSample:
    """The batch's retained sample (留样), registered with its storage position (Q-2.6-c)."""

    sample_id: str
    location: str


@dataclass(frozen=True, slots=True)
class ReleaseEvaluation:
    """Each test's verdict, the overall outcome, why it is not releasable, and which tests are pending."""

    outcome: ReleaseOutcome
    verdicts: tuple[ItemVerdict, ...]
    findings: tuple[Finding, ...]
    pending: tuple[str, ...]

    def verdict_for(self, item_code: str) -> ItemVerdict:
        for verdict in self.verdicts:
            if verdict.item.code == item_code:
                return verdict
        raise KeyError(f"no verdict for test {item_code!r}")


def evaluate_release(
    spec: Specification,
    results: Iterable[QcResult],
    *,
    audit_review: AuditTrailReview | None,
    retained_sample: RetainedSample | None,
    bead_activator_used: bool,
    open_investigations: tuple[str, ...] = (),
) -> ReleaseEvaluation:
    """Evaluate a batch for release: full, conditional (review 2.5) or not releasable (Q-2-b, Q-2.5, Q-2.6-c).

    Results are matched to specification items by code; a second result for the same item is an error
    (the caller passes the current result of each test, after any retest has superseded the first).
    """
    by_code = _results_by_code(results)
    verdicts = tuple(judge_result(item, by_code.get(item.code)) for item in spec.items)
    deferred = _deferred_items(spec, verdicts)
    findings = (
        *specification_problems(spec, bead_activator_used=bead_activator_used),
        *_blocking_findings(spec, verdicts, deferred),
        *_precondition_findings(by_code.values(), audit_review, retained_sample, open_investigations),
    )
    pending = tuple(v.item.code for v in verdicts if v.verdict is Verdict.PENDING)
    return ReleaseEvaluation(_outcome(findings, deferred), verdicts, tuple(findings), pending)


def _results_by_code(results: Iterable[QcResult]) -> dict[str, QcResult]:
    by_code: dict[str, QcResult] = {}
    for result in results:
        if result.item_code in by_code:
            raise ValueError(f"two current results for test {result.item_code!r}; pass only the current one")
        by_code[result.item_code] = result
    return by_code


def _outcome(findings: tuple[Finding, ...], deferred: frozenset[str]) -> ReleaseOutcome:
    if findings:
        return ReleaseOutcome.NOT_RELEASABLE
    if deferred:
        return ReleaseOutcome.CONDITIONALLY_RELEASABLE
    return ReleaseOutcome.RELEASABLE


def _deferred_items(spec: Specification, verdicts: tuple[ItemVerdict, ...]) -> frozenset[str]:
    """Blocking compendial sterility/mycoplasma tests that may be pending at release (Q-2.5-a/b)."""
    if not spec.rapid_release_allowed:
        return frozenset()
    rapid_negative = {
        v.item.assay
        for v in verdicts
        if v.item.method.rapid and v.verdict is Verdict.CONFORMS and v.item.release_blocking
    }
    return frozenset(
        v.item.code
        for v in verdicts
        if v.verdict is Verdict.PENDING
        and v.item.assay in RAPID_RELEASE_ASSAYS
        and v.item.method.status is MethodStatus.COMPENDIAL
        and v.item.assay in rapid_negative
    )


def _blocking_findings(
    spec: Specification, verdicts: tuple[ItemVerdict, ...], deferred: frozenset[str]
) -> list[Finding]:
    found: list[Finding] = []
    for verdict in verdicts:
        if not verdict.item.release_blocking or verdict.finding is None or verdict.item.code in deferred:
            continue
        found.append(verdict.finding)
        if verdict.verdict is Verdict.PENDING:
            found.append(_why_not_deferrable(spec, verdict.item))
    return found


def _why_not_deferrable(spec: Specification, item: SpecItem) -> Finding:
    if not spec.rapid_release_allowed:
        return Finding(
            "rapid_release_not_allowed",
            f"{item.code}: the product does not allow release with compendial results pending",
            "Q-2.5-a",
            item.code,
        )
    if item.assay not in RAPID_RELEASE_ASSAYS or item.method.status is not MethodStatus.COMPENDIAL:
        return Finding(
            "pending_not_deferrable",
            f"{item.code}: only compendial sterility and mycoplasma may be pending at a conditional release",
            "Q-2.5-b",
            item.code,
        )
    return Finding(
        "rapid_result_not_negative",
        f"{item.code}: the validated rapid {item.assay.value} test has no conforming result",
        "Q-2.5-a",
        item.code,
    )


def _precondition_findings(
    results: Iterable[QcResult],
    review: AuditTrailReview | None,
    retained: RetainedSample | None,
    open_investigations: tuple[str, ...],
) -> list[Finding]:
    found: list[Finding] = []
    performers = {r.performed_by for r in results if r.performed_by}
    if review is None:
        found.append(
            Finding("audit_trail_not_reviewed", "the audit trail has not been reviewed", "REGULATORY-7")
        )
    elif review.last_entry_at is not None and review.last_entry_at > review.reviewed_at:
        found.append(
            Finding(
                "audit_trail_review_stale",
                "entries were made after the audit-trail review; review it again",
                "REGULATORY-7",
                value=review.reviewed_at.isoformat(),
                limit=review.last_entry_at.isoformat(),
            )
        )
    elif review.reviewer in performers:
        found.append(
            Finding(
                "audit_trail_self_review",
                "the audit-trail reviewer performed tests of this batch",
                "REGULATORY-7",
                value=review.reviewer,
            )
        )
    if retained is None or not retained.location.strip():
        found.append(
            Finding(
                "retained_sample_not_registered", "no retained sample registered with its location", "Q-2.6-c"
            )
        )
    found.extend(
        Finding("investigation_open", f"investigation {ref} is still open", "REGULATORY-10", ref)
        for ref in open_investigations
    )
    return found
