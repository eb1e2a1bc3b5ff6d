"""Findings and gates: the verdict shape every manufacturing/QC rule returns (STYLE habit 4).

A rule never answers with a bare boolean. It returns a `Gate` holding the `Finding`s that
stopped it: which check failed, the value seen, the limit, and the clause the rule comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Finding:
    """One failed check: a stable code, a sentence, the clause, its subject, the value seen and the limit."""

    check: str
    message: str
    clause: str = ""
    subject: str = ""  # what the check was about: a test code, a parameter, a unit
    value: str = ""
    limit: str = ""


@dataclass(frozen=True, slots=True)
class Gate:
    """The answer to "may this happen?": allowed exactly when no finding stands against it."""

    findings: tuple[Finding, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.findings

    @property
    def checks(self) -> tuple[str, ...]:
        """The codes of the failed checks, in order (handy for tests and messages)."""
        return tuple(f.check for f in self.findings)


def format_decimal(value: Decimal) -> str:
    """Print a decimal without exponent or trailing zeros (5.00 -> "5", 1E+9 -> "1000000000")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
