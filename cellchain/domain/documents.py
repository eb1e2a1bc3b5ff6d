"""Controlled documents: which version is in force on a date, when its review is due, who may sign it, and
whether a person may perform a step the document governs (issue 13 item 1).

Clauses (../shared/REQUIREMENTS.md): T-6.1 (version, author, reviewer, approver, effective date, review due;
superseded versions cannot be selected), T-6.4 (periodic review, overdue list), T-6.5-a..f (the SOPs of the
steps), T-5.3.5.2 (a drug-management SOP names the pharmacist as author or reviewer).

Pure rules over frozen dataclasses: the caller passes the date, the versions and the people.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate


class Stored(StrEnum):
    """The lifecycle a version is moved through by people; `effective` and `superseded` follow from dates."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    RETIRED = "retired"


class Shown(StrEnum):
    """The status a version has on a given date (T-6.1)."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"  # approved, effective date still ahead
    EFFECTIVE = "effective"
    SUPERSEDED = "superseded"
    RETIRED = "retired"


STEP_CLAUSES = {
    "assessment": "T-6.5-a",
    "apheresis": "T-6.5-b",
    "cryopreservation": "T-6.5-c",
    "thaw": "T-6.5-d",
    "infusion": "T-6.5-e",
    "ae_handling": "T-6.5-f",
}
"""The step an SOP governs and the clause requiring that SOP (T-6.5-a..f). Thaw is the product preparation
before infusion (T-6.5-d, T-8.2.4); AE handling is the adverse-reaction SOP (T-6.5-f)."""


@dataclass(frozen=True)
class VersionFacts:
    """What the rules need of one version."""

    pk: int
    label: str
    stored: Stored
    effective_from: dt.date | None
    review_interval_months: int
    last_reviewed_on: dt.date | None = None


def in_force_on(versions: Iterable[VersionFacts], day: dt.date) -> VersionFacts | None:
    """The one version in force on `day`: of the approved (not retired) versions whose effective date has come,
    the one that became effective last (T-6.1). Later ones supersede earlier ones from their effective date."""
    candidates = [
        v
        for v in versions
        if v.stored is Stored.APPROVED and v.effective_from is not None and v.effective_from <= day
    ]
    return max(candidates, key=lambda v: (v.effective_from, v.pk), default=None)


def shown_status(version: VersionFacts, versions: Sequence[VersionFacts], day: dt.date) -> Shown:
    """The status `version` has on `day` among its document's `versions` (T-6.1)."""
    if version.stored is not Stored.APPROVED:
        return Shown(version.stored.value)
    assert version.effective_from is not None  # an approved version always has one
    if version.effective_from > day:
        return Shown.APPROVED
    current = in_force_on(versions, day)
    return Shown.EFFECTIVE if current is not None and current.pk == version.pk else Shown.SUPERSEDED


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(version: VersionFacts) -> dt.date | None:
    """When the version in force must be reviewed again: its interval after the later of its effective date
    and its last periodic review (T-6.4 "reviewed periodically")."""
    start = max(d for d in (version.effective_from, version.last_reviewed_on) if d is not None)
    return add_months(start, version.review_interval_months)


def review_overdue(version: VersionFacts, day: dt.date) -> bool:
    """True when the version's periodic review date has passed on `day` (T-6.4 overdue list)."""
    due = review_due(version)
    return due is not None and due < day


@dataclass(frozen=True)
class Signoffs:
    """Who has signed a version so far, as user ids, and which of them are pharmacists (T-5.3.5.2)."""

    author: int | None = None
    reviewer: int | None = None
    approver: int | None = None
    pharmacists: frozenset[int] = frozenset()


def sign_gate(
    step: str, signer: int, signoffs: Signoffs, stored: Stored, drug_management: bool = False
) -> Gate:
    """May `signer` sign the version as author (`submit`), reviewer (`review`) or approver (`approve`)?

    Three different people: the reviewer is not the author, the approver neither author nor reviewer (T-6.1).
    A drug-management SOP is approved only when a pharmacist is its author or reviewer (T-5.3.5.2).
    """
    findings: list[Finding] = []
    expected = {"submit": Stored.DRAFT, "review": Stored.IN_REVIEW, "approve": Stored.IN_REVIEW}[step]
    if stored is not expected:
        findings.append(
            Finding(
                "document.state",
                f"A version that is {stored.value} cannot be signed for {step} (T-6.1).",
                "T-6.1",
                value=stored.value,
                limit=expected.value,
            )
        )
    if step == "review" and signoffs.reviewer is not None:
        findings.append(Finding("document.reviewed", "This version was already reviewed (T-6.1).", "T-6.1"))
    if step in ("review", "approve") and signer == signoffs.author:
        findings.append(
            Finding(
                "document.author_signs",
                "The author cannot review or approve their own version (T-6.1).",
                "T-6.1",
            )
        )
    if step == "approve":
        findings.extend(_approval_findings(signer, signoffs, drug_management))
    return Gate(tuple(findings))


def _approval_findings(signer: int, signoffs: Signoffs, drug_management: bool) -> list[Finding]:
    findings = []
    if signoffs.reviewer is None:
        findings.append(
            Finding("document.not_reviewed", "A version is approved only after its review (T-6.1).", "T-6.1")
        )
    elif signer == signoffs.reviewer:
        findings.append(
            Finding(
                "document.reviewer_approves", "The reviewer cannot also approve the version (T-6.1).", "T-6.1"
            )
        )
    if drug_management and not {signoffs.author, signoffs.reviewer} & signoffs.pharmacists:
        findings.append(
            Finding(
                "document.pharmacist",
                "A drug-management SOP names a pharmacist as its author or reviewer (T-5.3.5.2).",
                "T-5.3.5.2",
            )
        )
    return findings


def effective_date_gate(
    effective_from: dt.date | None, today: dt.date, approved: Iterable[VersionFacts]
) -> Gate:
    """An approved version takes effect today or later, after every other approved version of the document, so
    records already made keep the version that was in force and one version is in force on each date (T-6.1)."""
    if effective_from is None:
        return Gate((Finding("document.no_date", "Give the effective date (T-6.1).", "T-6.1"),))
    findings = []
    if effective_from < today:
        findings.append(
            Finding(
                "document.backdated",
                f"The effective date {effective_from} is in the past: it must be {today} or later (T-6.1).",
                "T-6.1",
                value=str(effective_from),
                limit=str(today),
            )
        )
    later = [v for v in approved if v.effective_from is not None and v.effective_from >= effective_from]
    if later:
        findings.append(
            Finding(
                "document.overlap",
                f"Version {later[0].label} already takes effect on {later[0].effective_from}: this version "
                "must take effect after it (T-6.1).",
                "T-6.1",
                value=str(effective_from),
                limit=str(later[0].effective_from),
            )
        )
    return Gate(tuple(findings))


def training_gate(version_label: str, code: str, step: str, trained: bool) -> Gate:
    """A person performs a governed step only after read-and-understood training on the version in force
    (T-6.1, T-6.5-a..f)."""
    if trained:
        return Gate()
    clause = STEP_CLAUSES.get(step, "T-6.1")
    return Gate(
        (
            Finding(
                "document.untrained",
                f"{code} version {version_label} governs {step} here and is in force: you have not signed its "
                f"read-and-understood training, so you may not perform this step ({clause}, T-6.1).",
                clause,
                subject=f"{code} v{version_label}",
            ),
        )
    )
