"""Journey holds, the eligibility checklist and collection-site certification (issue 13 items 6-7).

Clauses:
- T-6.4-h: treatment suspended or terminated (终(中)止) with reason and signature; the other party is told;
  manufacturing and shipping for that journey are blocked. Here a standing hold refuses batch start, release,
  shipping, infusion and apheresis; a suspension can be lifted (signed, reasoned), a termination never.
- T-9.2.1-2: screening strictly per the protocol's inclusion/exclusion criteria: an eligibility checklist of
  the protocol version; any unmet or unanswered criterion blocks the step (apheresis).
- P-1.3.1-d: the manufacturer certifies a collection site (valid from/to, "may freeze apheresis"); apheresis at
  an uncertified site, or cryopreserved material from a site without that flag, is refused.

Every rule returns a `Gate` whose findings name the hold or criterion and the clause (STYLE habit 4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate


class HoldKind(StrEnum):
    """What was decided about the treatment (T-6.4-h)."""

    SUSPENSION = "suspension"
    TERMINATION = "termination"


class HeldStep(StrEnum):
    """The steps a standing hold stops (T-6.4-h, T-8.2.2-g)."""

    APHERESIS = "apheresis"
    BATCH_START = "batch start"
    RELEASE = "release"
    SHIPPING = "shipping"
    INFUSION = "infusion"


@dataclass(frozen=True, slots=True)
class HoldFacts:
    """One hold placed on a journey, as the rules see it."""

    kind: HoldKind
    reason: str
    placed_by: str  # printed name of the signer
    placed_on: dt.date
    lifted: bool = False


_PAST = {HoldKind.SUSPENSION: "suspended", HoldKind.TERMINATION: "terminated"}


def standing(holds: Sequence[HoldFacts]) -> tuple[HoldFacts, ...]:
    """The holds still in force: a termination always, a suspension until lifted."""
    return tuple(h for h in holds if h.kind is HoldKind.TERMINATION or not h.lifted)


def step_gate(coi: str, step: HeldStep, holds: Sequence[HoldFacts]) -> Gate:
    """May `step` happen for journey `coi`? Not while a suspension or termination stands (T-6.4-h)."""
    return Gate(
        tuple(
            Finding(
                f"journey_{h.kind.value}",
                f"Journey {coi} is {_PAST[h.kind]} since {h.placed_on.isoformat()} "
                f"(signed by {h.placed_by}: {h.reason}); {step.value} is refused while it stands (T-6.4-h).",
                "T-6.4-h",
                subject=coi,
                value=h.kind.value,
            )
            for h in standing(holds)
        )
    )


def place_gate(coi: str, kind: HoldKind, holds: Sequence[HoldFacts], reason: str) -> Gate:
    """May a new hold of `kind` be placed? A reason is required; nothing is placed on a terminated journey;
    a journey is suspended once at a time (T-6.4-h)."""
    findings: list[Finding] = []
    if not reason.strip():
        findings.append(
            Finding("reason_missing", f"Give the reason for the {kind.value} (T-6.4-h).", "T-6.4-h", coi)
        )
    current = standing(holds)
    if any(h.kind is HoldKind.TERMINATION for h in current):
        findings.append(
            Finding(
                "terminated",
                f"Journey {coi} is terminated: it cannot be held again (T-6.4-h).",
                "T-6.4-h",
                coi,
            )
        )
    elif kind is HoldKind.SUSPENSION and current:
        findings.append(
            Finding("already_suspended", f"Journey {coi} is already suspended (T-6.4-h).", "T-6.4-h", coi)
        )
    return Gate(tuple(findings))


def lift_gate(coi: str, hold: HoldFacts, reason: str) -> Gate:
    """May `hold` be lifted? Only a standing suspension, with a reason; a termination never (T-6.4-h)."""
    if hold.kind is HoldKind.TERMINATION:
        return Gate(
            (
                Finding(
                    "termination_final",
                    f"Journey {coi} was terminated: a termination cannot be lifted; enrol the patient again "
                    "if treatment restarts (T-6.4-h).",
                    "T-6.4-h",
                    coi,
                ),
            )
        )
    findings: list[Finding] = []
    if hold.lifted:
        findings.append(
            Finding("already_lifted", f"The suspension of {coi} is already lifted.", "T-6.4-h", coi)
        )
    if not reason.strip():
        findings.append(
            Finding("reason_missing", "Give the reason for lifting the suspension (T-6.4-h).", "T-6.4-h", coi)
        )
    return Gate(tuple(findings))


# --------------------------------------------------------------------------- eligibility (T-9.2.1-2)


def checklist_problems(criteria: Sequence[str]) -> tuple[str, ...]:
    """Why a list of criteria is not a usable checklist: empty, blank or repeated items (T-9.2.1-2)."""
    problems: list[str] = []
    cleaned = [c.strip() for c in criteria]
    if not cleaned:
        problems.append("the checklist has no criteria")
    if any(not c for c in cleaned):
        problems.append("a criterion is blank")
    repeated = sorted({c for c in cleaned if c and cleaned.count(c) > 1})
    if repeated:
        problems.append("repeated criteria: " + "; ".join(repeated))
    return tuple(problems)


def eligibility_gate(
    protocol: str, version: int, criteria: Sequence[str], answers: Mapping[str, bool]
) -> Gate:
    """All criteria of the checklist of `protocol` version `version` answered and met (T-9.2.1-2).

    An unanswered criterion and an unmet one each stop the step; an answer to a criterion the checklist does
    not have is refused too, so a checklist of another version cannot pass for this one.
    """
    where = f"{protocol} checklist v{version}"
    findings = [
        Finding("criterion_unanswered", f"{where}: '{c}' is not answered (T-9.2.1-2).", "T-9.2.1-2", c)
        for c in criteria
        if c not in answers
    ]
    findings += [
        Finding("criterion_unmet", f"{where}: '{c}' is not met (T-9.2.1-2).", "T-9.2.1-2", c, "no", "yes")
        for c in criteria
        if answers.get(c) is False
    ]
    findings += [
        Finding("criterion_unknown", f"{where} has no criterion '{a}' (T-9.2.1-2).", "T-9.2.1-2", a)
        for a in answers
        if a not in criteria
    ]
    return Gate(tuple(findings))


# --------------------------------------------------------------------------- collection sites (P-1.3.1-d)


@dataclass(frozen=True, slots=True)
class SiteCertification:
    """The manufacturer's certification of a hospital's collection site."""

    number: str
    valid_from: dt.date
    valid_until: dt.date
    may_cryopreserve: bool


def collection_site_gate(
    site: str, day: dt.date, cryopreserved: bool, certifications: Sequence[SiteCertification]
) -> Gate:
    """May apheresis at `site` on `day` be collected (and frozen, if `cryopreserved`)? (P-1.3.1-d)"""
    valid = [c for c in certifications if c.valid_from <= day <= c.valid_until]
    if not valid:
        return Gate(
            (
                Finding(
                    "site_uncertified",
                    f"{site} holds no manufacturer's collection-site certification valid on {day.isoformat()}: "
                    "apheresis there is refused until the manufacturer certifies it (P-1.3.1-d).",
                    "P-1.3.1-d",
                    site,
                ),
            )
        )
    if cryopreserved and not any(c.may_cryopreserve for c in valid):
        numbers = ", ".join(c.number for c in valid)
        return Gate(
            (
                Finding(
                    "site_not_certified_to_freeze",
                    f"{site} is certified for collection ({numbers}) but not to cryopreserve apheresis: "
                    "cryopreserved starting material from it is refused (P-1.3.1-d).",
                    "P-1.3.1-d",
                    site,
                ),
            )
        )
    return Gate()
