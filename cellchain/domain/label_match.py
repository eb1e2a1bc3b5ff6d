"""A scanned product label against the hospital's manufacturer register and the unit on record (issue 12 item 3;
T-8.1.3-a, T-8.2.6-e, T-10.4, T-10.7, G-4, REGULATORY item 37).

A hospital takes products of several manufacturers, each with its ISBT 128 facility identification number
(FIN), the product codes it makes and its label format (CellChain's payload or ISBT 128 with a DS 040 COI).
Whatever the format, :func:`label_problems` applies the same checks, at receipt and at the bedside, and names
what differs in each: a DIN assigned by no registered manufacturer, a label in another format than its maker
uses, a product code the maker does not make or other than the unit's, another unit's DIN, a chain of identity
of another patient or other than the unit's, an expiry passed or other than the unit's record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cellchain.domain.identity import LabelFormat, ScannedIdentifiers, compact


@dataclass(frozen=True)
class RegisteredManufacturer:
    """One entry of the hospital's manufacturer register."""

    name: str
    fin: str
    product_codes: frozenset[str]
    """The ISBT 128 product codes (DS 003) it makes; empty: not listed, the code is not checked against it."""
    label_format: LabelFormat


@dataclass(frozen=True)
class UnitOnRecord:
    """What the hospital's record holds of the unit the label should belong to."""

    din: str
    coi: str
    product_code: str = ""
    """"" when the record has no product code (units admitted before issue 12): not compared."""
    expires: datetime | None = None
    """The expiry on record, local wall-clock time without time zone like the label's; None: not compared."""


class LabelMismatch(StrEnum):
    """What differs between a scanned label and what the hospital knows."""

    UNKNOWN_MANUFACTURER = "unknown_manufacturer"
    LABEL_FORMAT = "label_format"
    PRODUCT_NOT_OF_MANUFACTURER = "product_not_of_manufacturer"
    WRONG_PRODUCT = "wrong_product"
    WRONG_DIN = "wrong_din"
    WRONG_PATIENT = "wrong_patient"
    LABEL_COI_MISMATCH = "label_coi_mismatch"
    EXPIRED = "expired"
    EXPIRY_MISMATCH = "expiry_mismatch"


IDENTITY_MISMATCHES = frozenset(
    {
        LabelMismatch.WRONG_PRODUCT,
        LabelMismatch.WRONG_DIN,
        LabelMismatch.WRONG_PATIENT,
        LabelMismatch.LABEL_COI_MISMATCH,
    }
)
"""Mismatches that are a possible mix-up (an identity incident, G-4); the others block the step only."""


@dataclass(frozen=True)
class LabelProblem:
    """One failed label check: which, what the label says, what was expected, a sentence for the operator."""

    kind: LabelMismatch
    found: str
    expected: str
    message: str

    @property
    def identity_incident(self) -> bool:
        return self.kind in IDENTITY_MISMATCHES


def manufacturer_of(
    scanned: ScannedIdentifiers, register: Iterable[RegisteredManufacturer]
) -> RegisteredManufacturer | None:
    """The registered manufacturer whose FIN assigned the scanned DIN (ST-001 §2.4.1: αpppp is the FIN of the
    organisation that assigned the DIN), or None."""
    fin = scanned.din.facility
    return next((maker for maker in register if maker.fin == fin), None)


def label_problems(
    scanned: ScannedIdentifiers,
    *,
    journey_coi: str,
    unit: UnitOnRecord | None,
    register: Iterable[RegisteredManufacturer],
    now_local: datetime,
) -> tuple[LabelProblem, ...]:
    """Every way the scanned label disagrees with the register, the journey and the unit on record (issue 12
    item 3; T-8.2.6-e, T-10.4). A scan that carried no label (a DIN barcode, a typed DIN) has no label checks.

    ``now_local`` is the site's wall-clock time without time zone, as the label's expiry is printed.
    """
    if not scanned.is_label or scanned.coi is None or scanned.product_code is None:
        return ()
    din, coi, product = scanned.din.data, scanned.coi.data, scanned.product_code.code
    problems = _maker_problems(scanned, register)
    if unit is not None and product and unit.product_code and product != unit.product_code:
        problems.append(
            LabelProblem(
                LabelMismatch.WRONG_PRODUCT, product, unit.product_code,
                f"the label says product {product}, but unit {unit.din} is product {unit.product_code}",
            )
        )  # fmt: skip
    if unit is not None and din != unit.din:
        problems.append(
            LabelProblem(
                LabelMismatch.WRONG_DIN, din, unit.din,
                f"the label carries DIN {din}, but the unit expected is {unit.din}: the label is of another unit",
            )
        )  # fmt: skip
    problems += _coi_problems(din, coi, compact(journey_coi), unit)
    problems += _expiry_problems(scanned.expires, unit, now_local)
    return tuple(problems)


def _maker_problems(
    scanned: ScannedIdentifiers, register: Iterable[RegisteredManufacturer]
) -> list[LabelProblem]:
    din, product = scanned.din.data, scanned.product_code.code if scanned.product_code else ""
    maker = manufacturer_of(scanned, register)
    if maker is None:
        fin = scanned.din.facility
        return [
            LabelProblem(
                LabelMismatch.UNKNOWN_MANUFACTURER, fin, "the FIN of a registered manufacturer",
                f"DIN {din} was assigned by facility {fin}, which is not a manufacturer registered at this hospital",
            )
        ]  # fmt: skip
    problems = []
    if scanned.label_format is not maker.label_format:
        found = scanned.label_format.value if scanned.label_format else "none"
        problems.append(
            LabelProblem(
                LabelMismatch.LABEL_FORMAT, found, maker.label_format.value,
                f"the label is in {found} format, but {maker.name} labels its products in "
                f"{maker.label_format.value} format: the label may not be the maker's",
            )
        )  # fmt: skip
    if maker.product_codes and product not in maker.product_codes:
        made = ", ".join(sorted(maker.product_codes))
        problems.append(
            LabelProblem(
                LabelMismatch.PRODUCT_NOT_OF_MANUFACTURER, product, made,
                f"product code {product} is not a product of {maker.name} (registered: {made})",
            )
        )  # fmt: skip
    return problems


def _coi_problems(din: str, coi: str, journey_coi: str, unit: UnitOnRecord | None) -> list[LabelProblem]:
    journey = journey_coi[:15]
    if coi != journey:
        return [
            LabelProblem(
                LabelMismatch.WRONG_PATIENT, coi, journey,
                f"the label carries chain of identity {coi}, another patient's: this journey is {journey}",
            )
        ]  # fmt: skip
    if unit is not None and coi != compact(unit.coi)[:15]:
        return [
            LabelProblem(
                LabelMismatch.LABEL_COI_MISMATCH, coi, unit.coi,
                f"the label of unit {din} carries chain of identity {coi}, but the unit on record belongs to "
                f"{unit.coi}: the label is wrong",
            )
        ]  # fmt: skip
    return []


def _expiry_problems(
    expires: datetime | None, unit: UnitOnRecord | None, now_local: datetime
) -> list[LabelProblem]:
    problems = []
    if expires is not None and now_local > expires:
        problems.append(
            LabelProblem(
                LabelMismatch.EXPIRED, f"{expires:%Y-%m-%d %H:%M}", f"after {now_local:%Y-%m-%d %H:%M}",
                f"the label's expiry {expires:%Y-%m-%d %H:%M} has passed: the product may not be used",
            )
        )  # fmt: skip
    if unit is not None and unit.expires is not None and expires is not None and expires != unit.expires:
        problems.append(
            LabelProblem(
                LabelMismatch.EXPIRY_MISMATCH, f"{expires:%Y-%m-%d %H:%M}", f"{unit.expires:%Y-%m-%d %H:%M}",
                f"the label's expiry {expires:%Y-%m-%d %H:%M} differs from the unit's record "
                f"{unit.expires:%Y-%m-%d %H:%M}",
            )
        )  # fmt: skip
    return problems
