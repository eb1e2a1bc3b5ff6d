"""What a logistics scan read: the label DataMatrix, a DIN barcode or a typed DIN, against the order's units (G-4, T-10.6).

Pure reading, shared by the commands and the pages, so neither imports the other for it (issue 15 item 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cellchain.domain.identity import IdentifierError, compact, parse_unit_scan


@dataclass(frozen=True)
class UnitScan:
    """What one logistics scan read (G-4).

    ``din`` is the unit of the order the scan names (None: none of them); ``read`` the DIN data the scan
    carries ("" when unreadable); ``coi`` the chain of identity a label barcode carries (None for a typed or
    DIN-only scan); ``problem`` why the scan could not be read.
    """

    text: str
    din: str | None
    read: str
    coi: str | None
    problem: str = ""

    @property
    def shown(self) -> str:
        """The unit as a person reads it back: the DIN read, else what was scanned."""
        return self.read or self.text


def read_unit_scan(scanned_text: str, expected: Iterable[str]) -> UnitScan:
    """Read a scan as the label DataMatrix ("COI DIN productcode [expiry]"), a DIN barcode or a typed DIN with
    its check character (`parse_unit_scan`), and find the unit of `expected` it names.

    A typed entry that is not a verifiable DIN (the 13 characters without the check character, or an
    apheresis unit's identifier as the order lists it) counts only when it equals a unit of the order exactly:
    the short order list is then the check. A wrong check character is never accepted (T-10.6).
    """
    text = scanned_text.strip()
    by_data = {compact(din): din for din in expected}
    try:
        scanned = parse_unit_scan(text)
    except IdentifierError as error:
        typed = by_data.get(compact(text)) if text else None
        if typed is not None:
            return UnitScan(text, typed, compact(typed), None)
        return UnitScan(text, None, "", None, error.problem.message)
    data = scanned.din.data
    return UnitScan(text, by_data.get(data), data, None if scanned.coi is None else scanned.coi.data)


def din_of(scanned_text: str, expected: Iterable[str]) -> str | None:
    """The DIN among `expected` that a scan names (typed DIN or label barcode), or None."""
    return read_unit_scan(scanned_text, expected).din
