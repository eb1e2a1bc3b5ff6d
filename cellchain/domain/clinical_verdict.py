"""Verdicts with reasons for the clinical-use checks (T-8.2, T-9.2): which check failed, the value, the limit.

Every clinical rule in `bedside`, `clinical_timing` returns a `Verdict` rather than a bare boolean, so the
screen can show each reason and the service can record the ones the standard wants recorded (an identity
incident, a deviation, a rejected unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Consequence(StrEnum):
    """What a failed check does to the step and the unit.

    Every consequence other than BLOCK leaves a record: the service records the identity incident, or opens
    the deviation that carries the unit's disposition.
    """

    BLOCK = "block"  # the step cannot go on until the input is corrected
    IDENTITY_INCIDENT = "identity_incident"  # blocks and records an identity incident (T-8.2.6-e)
    OPEN_DEVIATION = "open_deviation"  # the step is recorded but a deviation must be opened (T-8.2.4-b)
    REJECT_UNIT = "reject_unit"  # the unit may never be used (T-7.8-d, T-8.2.4-e)
    QUARANTINE_UNIT = "quarantine_unit"  # use blocked until a disposition is recorded (T-7.8-d)


@dataclass(frozen=True, slots=True)
class Reason:
    """One failed check: a stable code for the record, an English sentence, the value seen, the limit and
    the clause the rule comes from."""

    code: str
    message: str
    value: str = ""
    limit: str = ""
    clause: str = ""
    consequence: Consequence = Consequence.BLOCK


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a set of checks; it passes when no reason was found."""

    reasons: tuple[Reason, ...] = ()

    @property
    def passed(self) -> bool:
        """No check failed at all."""
        return not self.reasons

    @property
    def allowed(self) -> bool:
        """The step may go on: every failed check only asks for a deviation to be opened."""
        return all(reason.consequence is Consequence.OPEN_DEVIATION for reason in self.reasons)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(reason.code for reason in self.reasons)

    def has(self, consequence: Consequence) -> bool:
        """True when any reason carries this consequence (e.g. an identity incident must be recorded)."""
        return any(reason.consequence is consequence for reason in self.reasons)

    def __add__(self, other: Verdict) -> Verdict:
        return Verdict(self.reasons + other.reasons)


class NaiveDatetimeError(ValueError):
    """A clinical time was given without a time zone, so it cannot be compared safely."""


def require_aware(value: datetime, name: str) -> datetime:
    """Refuse naive datetimes: clinical clocks compare times from different devices and sites (X-2)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"{name} has no time zone ({value.isoformat()}); give an aware datetime")
    return value


def time_order_reasons(
    start: datetime, end: datetime | None, now: datetime, what: str, clause: str
) -> list[Reason]:
    """Start and end not in the future, end not before start: server time decides (REGULATORY.md item 8)."""
    reasons = []
    for label, moment in ((f"{what} start", start), (f"{what} end", end)):
        if moment is not None and require_aware(moment, label) > now:
            reasons.append(
                Reason(
                    f"{what}_in_future",
                    f"{label} is in the future",
                    moment.isoformat(),
                    f"<= {now.isoformat()}",
                    clause,
                )
            )
    if end is not None and end < start:
        reasons.append(
            Reason(
                f"{what}_end_before_start",
                f"{what} end is before its start",
                end.isoformat(),
                f">= {start.isoformat()}",
                clause,
            )
        )
    return reasons
