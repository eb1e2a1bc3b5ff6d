"""Hospital receipt inspection: the check table of T-8.1.3..T-8.1.6 and the receipt verdict.

Every check is a yes/no question phrased so that "yes" is the good answer. A "no" has the consequence its
clause gives: T-8.1.3 suspends use (quarantine) and contacts the manufacturer; T-8.1.4 says the product
is not to be used (reject); T-8.1.5 opens a transport deviation and keeps the product in quarantine until
it is closed. Each failed check is filed under a T-8.1.6 trigger category of the receipt nonconformance
the manufacturer must investigate and answer (T-8.1.6).

Some answers are computed by the system (expiry, scanned units, container, the cold-chain analysis): the
receiver confirms them, and a receiver's "yes" can never overturn a system "no".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.coldchain import ColdChainVerdict, FindingKind, format_instant


class Consequence(StrEnum):
    """What a "no" does to the product (T-8.1.3, T-8.1.4, T-8.1.5)."""

    QUARANTINE = "quarantine"  # T-8.1.3: 暂停使用 and contact the manufacturer
    REJECT = "reject"  # T-8.1.4: 不应使用
    TRANSPORT_DEVIATION = "transport_deviation"  # T-8.1.5: deviation, quarantined until closed


class Trigger(StrEnum):
    """Trigger categories of a receipt nonconformance sent to the manufacturer (T-8.1.6-a..g)."""

    LABEL = "T-8.1.6-a"
    PACKAGE = "T-8.1.6-b"
    APPEARANCE = "T-8.1.6-c"
    TEMPERATURE_RECORD = "T-8.1.6-d"
    TRANSPORT_CONDITIONS = "T-8.1.6-e"
    EXPIRED = "T-8.1.6-f"
    OTHER = "T-8.1.6-g"


TRIGGER_TEXT: Mapping[Trigger, tuple[str, str]] = {
    Trigger.LABEL: ("Label information inconsistent or missing", "标签信息不一致或缺失"),
    Trigger.PACKAGE: ("Package damaged, leaking or contaminated", "包装破损、渗漏或污染"),
    Trigger.APPEARANCE: ("Abnormal appearance", "外观异常"),
    Trigger.TEMPERATURE_RECORD: ("Temperature record abnormal or missing", "温度记录异常或缺失"),
    Trigger.TRANSPORT_CONDITIONS: ("Transport conditions deviating from requirements", "运输条件偏离要求"),
    Trigger.EXPIRED: ("Product past expiry or use-by time", "产品超过有效期或使用时限"),
    Trigger.OTHER: ("Any other anomaly that may affect quality", "其他可能影响质量的异常"),
}
"""English and Chinese wording of the T-8.1.6 trigger categories."""


class Source(StrEnum):
    """Who answers a check: the receiver alone, or the system with the receiver confirming."""

    RECEIVER = "receiver"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class ReceiptCheck:
    """One row of the receipt form: clause, question (en, zh), consequence of a "no", trigger category."""

    id: str
    question_en: str
    question_zh: str
    consequence: Consequence
    trigger: Trigger
    source: Source = Source.RECEIVER
    not_applicable_allowed: bool = False


_Q, _R, _D = Consequence.QUARANTINE, Consequence.REJECT, Consequence.TRANSPORT_DEVIATION
_SYS = Source.SYSTEM

RECEIPT_CHECKS: tuple[ReceiptCheck, ...] = (
    ReceiptCheck(
        "T-8.1.3-a",
        "Do product name, batch number and quantity match the order?",
        "产品名称、批号、数量与订单一致？",
        _Q,
        Trigger.LABEL,
        source=_SYS,
    ),
    ReceiptCheck(
        "T-8.1.3-b",
        "Is the label complete, legible and unaltered?",
        "标签完整、清晰、无涂改？",
        _Q,
        Trigger.LABEL,
    ),
    ReceiptCheck(
        "T-8.1.3-c",
        "Is the product's state (fresh or cryopreserved) as ordered?",
        "产品状态（新鲜/冻存）与要求一致？",
        _Q,
        Trigger.TRANSPORT_CONDITIONS,
    ),
    ReceiptCheck(
        "T-8.1.3-d",
        "Is the product within its expiry or use-by time?",
        "产品在有效期或使用时限内？",
        _R,
        Trigger.EXPIRED,
        source=_SYS,
    ),
    ReceiptCheck(
        "T-8.1.3-e",
        "Is the transport record complete and within limits?",
        "运输记录完整且符合要求？",
        _Q,
        Trigger.TEMPERATURE_RECORD,
        source=_SYS,
    ),
    ReceiptCheck(
        "T-8.1.3-f",
        "Are the accompanying documents complete and matching the product?",
        "随附文件齐全且与产品一致？",
        _Q,
        Trigger.OTHER,
    ),
    ReceiptCheck(
        "T-8.1.4-a",
        "Is the outer package intact, without damage, leak or contamination?",
        "外包装完好，无破损、渗漏或污染？",
        _R,
        Trigger.PACKAGE,
    ),
    ReceiptCheck(
        "T-8.1.4-b",
        "Is the inner package intact, without crack, loosening or poor seal?",
        "内包装完好，无破裂、松动或密封不良？",
        _R,
        Trigger.PACKAGE,
    ),
    ReceiptCheck(
        "T-8.1.4-c",
        "Is the preparation's appearance normal (no precipitate, turbidity, discoloration)?",
        "制剂外观正常，无沉淀、浑浊、变色？",
        _R,
        Trigger.APPEARANCE,
    ),
    ReceiptCheck(
        "T-8.1.4-d",
        "Was the cryopreserved product kept at the required temperature (LN2 level normal, "
        "dry ice not fully sublimed)?",
        "冻存产品保持规定温度（液氮液位正常、干冰未完全升华等）？",
        _R,
        Trigger.TRANSPORT_CONDITIONS,
        not_applicable_allowed=True,
    ),
    ReceiptCheck(
        "T-8.1.5-a",
        "Is the temperature record continuous and complete?",
        "温度记录连续、完整？",
        _D,
        Trigger.TEMPERATURE_RECORD,
        source=_SYS,
    ),
    ReceiptCheck(
        "T-8.1.5-b",
        "Was the temperature within the specified range throughout?",
        "温度始终在规定范围内？",
        _D,
        Trigger.TEMPERATURE_RECORD,
        source=_SYS,
    ),
    ReceiptCheck(
        "T-8.1.5-c",
        "Was the transport time within the allowed limit?",
        "运输时间在允许时限内？",
        _D,
        Trigger.TRANSPORT_CONDITIONS,
        source=_SYS,
    ),
    ReceiptCheck(
        "T-8.1.5-d",
        "Was the container as required (LN2 dry shipper, cold-chain box ...)?",
        "运输容器符合要求（液氮罐、冷链箱等）？",
        _D,
        Trigger.TRANSPORT_CONDITIONS,
        source=_SYS,
    ),
    ReceiptCheck(
        "T-8.1.5-e",
        "Was the transport free of delay, exposure or other anomaly?",
        "运输过程无延误、暴露或其他异常？",
        _D,
        Trigger.TRANSPORT_CONDITIONS,
    ),
    ReceiptCheck(
        "T-8.1.6-g",
        "Is the product free of any other anomaly that may affect quality?",
        "无其他可能影响质量的异常？",
        _Q,
        Trigger.OTHER,
    ),
)
"""The receipt inspection table (T-8.1.3-a..f, T-8.1.4-a..d, T-8.1.5-a..e, T-8.1.6-g).

T-8.1.3-d is a rejection rather than a quarantine: the catalogue line says an expired unit is rejected.
T-8.1.3-e is the result of T-8.1.5 and is derived from it. T-8.1.6-g is the free-text trigger open to
every receiver. Trigger mapping: label and identity -> a, package -> b, appearance -> c, temperature
record -> d, transport conditions and state -> e, expiry -> f, documents and anything else -> g.
"""

CHECKS_BY_ID: Mapping[str, ReceiptCheck] = {c.id: c for c in RECEIPT_CHECKS}


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    NOT_APPLICABLE = "na"


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """A receiver's answer with what was seen; a "no" must say what was seen (T-8.1.7-g)."""

    answer: Answer
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptFacts:
    """What the system knows at receipt; each given fact decides a system check (T-8.1.3-a/d, T-8.1.5-d)."""

    received_at: float | None = None
    expires_at: float | None = None
    expected_units: frozenset[str] | None = None
    scanned_units: frozenset[str] | None = None
    container: str | None = None
    allowed_containers: frozenset[str] | None = None


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """A check that failed: which, why, who said so (receiver or system), and what follows."""

    check: ReceiptCheck
    reason: str
    source: Source


@dataclass(frozen=True, slots=True)
class ReceiptVerdict:
    """The receipt's outcome with its reasons (T-8.1.3..T-8.1.6).

    ``missing`` lists checks still unanswered (or answered "no" without saying what was seen): such a
    receipt cannot be signed. Any failure quarantines or rejects whatever else is missing.
    """

    outcome: Outcome
    failures: tuple[CheckFailure, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def triggers(self) -> tuple[Trigger, ...]:
        """The T-8.1.6 trigger categories of the nonconformance, in table order, each once."""
        return tuple(dict.fromkeys(f.check.trigger for f in self.failures))

    @property
    def transport_deviation(self) -> bool:
        """Whether a transport deviation must be opened (T-8.1.5)."""
        return any(f.check.consequence is Consequence.TRANSPORT_DEVIATION for f in self.failures)

    @property
    def notify_manufacturer(self) -> bool:
        """Any failure is reported to the manufacturer for investigation and advice (T-8.1.6)."""
        return bool(self.failures)

    @property
    def usable(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def reasons(self) -> tuple[str, ...]:
        found = [f"{f.check.id}: {f.reason}" for f in self.failures]
        return (*found, *(f"{m}: answer (or what was seen) missing" for m in self.missing))


# --- system-computed answers --------------------------------------------------------------------------


def _units_reason(facts: ReceiptFacts) -> str | None:
    if facts.expected_units is None or facts.scanned_units is None:
        return None
    missing = sorted(facts.expected_units - facts.scanned_units)
    extra = sorted(facts.scanned_units - facts.expected_units)
    if not missing and not extra:
        return ""
    parts = [f"expected but not scanned: {', '.join(missing)}"] if missing else []
    parts += [f"scanned but not ordered: {', '.join(extra)}"] if extra else []
    return "; ".join(parts)


def _expiry_reason(facts: ReceiptFacts) -> str | None:
    if facts.expires_at is None or facts.received_at is None:
        return None
    if facts.received_at <= facts.expires_at:
        return ""
    return f"expired at {format_instant(facts.expires_at)}, received {format_instant(facts.received_at)}"


def _container_reason(facts: ReceiptFacts) -> str | None:
    if facts.container is None or facts.allowed_containers is None:
        return None
    if facts.container in facts.allowed_containers:
        return ""
    allowed = ", ".join(sorted(facts.allowed_containers))
    return f"container {facts.container!r} is not among those allowed for the product ({allowed})"


_RECORD_KINDS = frozenset(
    {
        FindingKind.NO_READINGS,
        FindingKind.TOO_FEW_READINGS,
        FindingKind.GAP,
        FindingKind.PROBE_FAULT,
        FindingKind.OUT_OF_ORDER,
        FindingKind.CONFLICTING_DUPLICATE,
    }
)
_TRANSIT_KINDS = frozenset(
    {
        FindingKind.DISPATCH_UNKNOWN,
        FindingKind.ARRIVAL_UNKNOWN,
        FindingKind.ARRIVAL_BEFORE_DISPATCH,
        FindingKind.TRANSIT_TOO_LONG,
    }
)


def _coldchain_reasons(verdicts: Sequence[ColdChainVerdict]) -> dict[str, str]:
    """Reasons for T-8.1.5-a/b/c from the cold-chain analyses of every logger ("" when the check passed)."""
    if not verdicts:
        return {"T-8.1.5-a": "no temperature record for the shipment", "T-8.1.5-b": "", "T-8.1.5-c": ""}
    findings = [f for v in verdicts for f in v.blocking_findings]
    return {
        "T-8.1.5-a": "; ".join(f.reason for f in findings if f.kind in _RECORD_KINDS),
        "T-8.1.5-b": "; ".join(f.reason for f in findings if f.kind is FindingKind.EXCURSION),
        "T-8.1.5-c": "; ".join(f.reason for f in findings if f.kind in _TRANSIT_KINDS),
    }


def system_reasons(facts: ReceiptFacts, coldchain: Sequence[ColdChainVerdict]) -> dict[str, str | None]:
    """The system's view per check: None = not decided by the system, "" = passed, text = why it failed."""
    reasons: dict[str, str | None] = {
        "T-8.1.3-a": _units_reason(facts),
        "T-8.1.3-d": _expiry_reason(facts),
        "T-8.1.5-d": _container_reason(facts),
        **_coldchain_reasons(coldchain),
    }
    transport = [r for k, r in reasons.items() if k.startswith("T-8.1.5") and r]
    reasons["T-8.1.3-e"] = "; ".join(transport) if transport else ""
    return reasons


# --- the verdict --------------------------------------------------------------------------------------


def evaluate_receipt(
    answers: Mapping[str, CheckAnswer],
    coldchain_verdict: ColdChainVerdict | Sequence[ColdChainVerdict] | None,
    facts: ReceiptFacts | None = None,
) -> ReceiptVerdict:
    """Judge a receipt inspection (T-8.1.3..T-8.1.6): accepted, quarantined, rejected or incomplete.

    ``coldchain_verdict`` is the analysis of each logger of the shipment (None or empty: no record, which
    fails T-8.1.5-a). Rejection beats quarantine; any failure beats missing answers; a product is
    accepted only when every check is answered and none failed.
    """
    unknown = sorted(set(answers) - set(CHECKS_BY_ID))
    if unknown:
        raise ValueError(f"unknown receipt check(s): {', '.join(unknown)}")
    verdicts = _as_verdicts(coldchain_verdict)
    system = system_reasons(facts or ReceiptFacts(), verdicts)
    failures: list[CheckFailure] = []
    missing: list[str] = []
    for check in RECEIPT_CHECKS:
        failure, is_missing = _judge(check, answers.get(check.id), system.get(check.id))
        if failure is not None:
            failures.append(failure)
        if is_missing:
            missing.append(check.id)
    return ReceiptVerdict(_outcome(failures, missing), tuple(failures), tuple(missing))


def _as_verdicts(
    value: ColdChainVerdict | Sequence[ColdChainVerdict] | None,
) -> tuple[ColdChainVerdict, ...]:
    if value is None:
        return ()
    if isinstance(value, ColdChainVerdict):
        return (value,)
    return tuple(value)


def _judge(
    check: ReceiptCheck, given: CheckAnswer | None, system: str | None
) -> tuple[CheckFailure | None, bool]:
    """One check: (the failure if it failed, whether it still lacks a usable answer)."""
    if system:
        return CheckFailure(check, system, Source.SYSTEM), False
    if given is None:
        # A system-derived check with nothing left to confirm (T-8.1.3-e) needs no separate answer.
        return None, not (check.id == "T-8.1.3-e" and system == "")
    if given.answer is Answer.NO:
        note = given.note.strip()
        return CheckFailure(
            check, f"receiver answered no: {note}" if note else "receiver answered no", Source.RECEIVER
        ), not note
    if given.answer is Answer.NOT_APPLICABLE and not check.not_applicable_allowed:
        return None, True
    return None, False


def _outcome(failures: Sequence[CheckFailure], missing: Sequence[str]) -> Outcome:
    if any(f.check.consequence is Consequence.REJECT for f in failures):
        return Outcome.REJECTED
    if failures:
        return Outcome.QUARANTINED
    return Outcome.INCOMPLETE if missing else Outcome.ACCEPTED
