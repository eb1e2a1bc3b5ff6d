"""ISBT 128 data structures on a CAR-T product label CellChain did not print (issue 12 item 3; T-10.4, T-10.6, G-4).

A hospital takes products of several manufacturers. CellChain's own label carries its compact payload
(`identity.LabelPayload`: COI with check character, DIN, product code, expiry); another maker's label carries
the ISBT 128 data structures themselves, read here:

* DS 001 Donation Identification Number ``=αppppyynnnnnnff`` (ST-001 §2.4.1): the second character of the
  data identifier is the first of the FIN; ``ff`` are flag characters: 00-59 process control (no check),
  60-96 the ISO 7064 Mod 37-2 checksum + 60 over the 13 DIN characters (verified), 97-99 and letters reserved
  (refused) - ST-001 Table 3 [RT004];
* DS 003 Product Code ``=<αooootds`` (ST-001 §2.4.3): α a letter, oooo letters or digits, t a letter (either
  case) or digit, d a capital or digit, s a small letter or digit;
* DS 005 Expiration Date and Time ``&>cyyjjjhhmm`` (ST-001 §2.4.5) or DS 004 Expiration Date ``=>cyyjjj``
  (ST-001 §2.4.4; the item expires at the end of that day, so 23:59 as DS 005 encodes "no time");
* DS 040 Chain of Identity Identifier ``&/CHαppppyynnnnnn`` (ST-001 §2.4.40): the literal ``CH``, the FIN of
  the issuing organisation, a 2-digit year and a 6-character sequence (A-Z, 0-9); no check character in the
  data structure.

Source: ICCBBA, *ISBT 128 Standard Technical Specification* (ST-001) v6.2.2, §2.4.1, §2.4.3-2.4.5, §2.4.40,
Table 2 [RT003] (data identifiers) and Table 3 [RT004] (DIN flags), as read from a public copy of the text;
the ST-028 CoI standard itself (assignment rules, any keyboard check character) was not read.

A scan is the concatenation of data structures as a 2-D symbol carries them, optionally after a DS 023
compound-message header ``=+aabbb`` (aa = number of data structures that follow), or the same data structures
separated by spaces or line breaks (a keyboard-wedge scanner reading the linear barcodes one by one). The
order does not matter; each structure may appear once. FINs are read in their current usage, a letter and four
digits (ST-001 §2.4.1 notes alphanumeric FINs may come later; `identity._FIN` would widen then).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from cellchain.domain.identity import (
    ChainOfIdentityIdentifier,
    DonationIdentificationNumber,
    IdentifierError,
    IdentifierFault,
    IdentifierKind,
    IdentifierProblem,
    LabelFormat,
    ProductCode,
    expiry_barcode_data,
    mod37_2_checksum,
    parse_expiry,
)

__all__ = [
    "DinDataStructure",
    "Isbt128Label",
    "Isbt128ProductCode",
    "LabelFormat",
    "coi_data_structure",
    "din_check_flags",
    "din_flags_problem",
    "expiry_date_data_structure",
    "looks_like_isbt128_label",
    "parse_isbt128_label",
]

DI_DIN = "="
DI_PRODUCT_CODE = "=<"
DI_EXPIRY_DATE = "=>"
DI_EXPIRY_DATE_TIME = "&>"
DI_COI = "&/"
DI_COMPOUND = "=+"

_CHECK_FLAG_LOW, _CHECK_FLAG_HIGH = 60, 96
_PROCESS_FLAG_HIGH = 59
NO_FLAGS = "00"
"""DS 001 flag value when flags are not used (ST-001 Table 3): the DIN then carries no check in the barcode."""

_DIN_FIRST = re.compile(r"[A-NP-Z1-9]")
"""The second character of the DS 001 data identifier, the first of the FIN (ST-001 §2.4.1)."""

_SKIPPED_LENGTHS = {
    "=%": 4,  # DS 002 blood groups
    "=*": 6,  # DS 006 collection date
    "&*": 10,  # DS 007 collection date and time
    "=}": 6,  # DS 008 production date
    "&}": 10,  # DS 009 production date and time
    "=,": 6,  # DS 032 product divisions
}
"""Fixed-length data structures a product label may also carry; read past, not interpreted (ST-001 RT003)."""


def _error(
    fault: IdentifierFault, text: str, position: int | None, found: str, expected: str
) -> IdentifierError:
    return IdentifierError(IdentifierProblem(IdentifierKind.LABEL, fault, text, position, found, expected))


# --------------------------------------------------------------------------- single data structures

_PRODUCT_CODE = re.compile(r"[A-Z][A-Z0-9]{4}[A-Za-z0-9][A-Z0-9][a-z0-9]")


@dataclass(frozen=True)
class Isbt128ProductCode(ProductCode):
    """A DS 003 product code as ISBT 128 allows it (ST-001 §2.4.3): wider than CellChain's own product master
    (`ProductCode`: a letter and 4 digits, then 3 capitals or digits), since another maker's code may use letters
    in the product description code and small letters in the type of collection and division."""

    def __post_init__(self) -> None:
        if not _PRODUCT_CODE.fullmatch(self.code):
            raise IdentifierError(
                IdentifierProblem(
                    IdentifierKind.PRODUCT_CODE, IdentifierFault.CHARACTER, self.code, None, self.code,
                    "8 characters αooootds: a letter, 4 letters or digits, then type and division (ST-001 §2.4.3)",
                )
            )  # fmt: skip


@dataclass(frozen=True)
class DinDataStructure:
    """A DS 001 DIN with its flag characters (ST-001 §2.4.1, Table 3)."""

    din: DonationIdentificationNumber
    flags: str = NO_FLAGS

    def __post_init__(self) -> None:
        problem = din_flags_problem(self.din, self.flags)
        if problem:
            raise _error(IdentifierFault.FLAG, self.encode(), 15, self.flags, problem)

    @property
    def check_verified(self) -> bool:
        """True when the flags carry the Mod 37-2 checksum (60-96), which parsing verified."""
        return self.flags.isdigit() and _CHECK_FLAG_LOW <= int(self.flags) <= _CHECK_FLAG_HIGH

    def encode(self) -> str:
        return DI_DIN + self.din.data + self.flags


def din_check_flags(din: DonationIdentificationNumber) -> str:
    """The DS 001 flag characters that carry the DIN's Mod 37-2 checksum (checksum + 60; ST-001 Table 3)."""
    return str(mod37_2_checksum(din.data) + _CHECK_FLAG_LOW)


def din_flags_problem(din: DonationIdentificationNumber, flags: str) -> str:
    """What is wrong with ``flags`` after ``din`` ("" when nothing): reserved values, or a failed check."""
    if len(flags) != 2 or not flags.isdigit():
        return "two digits: 00-59 process control flags, or 60-96 the check (ST-001 Table 3)"
    value = int(flags)
    if value <= _PROCESS_FLAG_HIGH:
        return ""
    if value > _CHECK_FLAG_HIGH:
        return f"flags 00-96 ({flags} is reserved, ST-001 Table 3)"
    expected = din_check_flags(din)
    if flags != expected:
        return f"check flags {expected} (Mod 37-2 checksum + 60): the DIN was misread or altered"
    return ""


def coi_data_structure(coi: ChainOfIdentityIdentifier) -> str:
    """The DS 040 barcode data ``&/CH...`` of a chain-of-identity identifier (ST-001 §2.4.40)."""
    return DI_COI + coi.data


def expiry_date_data_structure(expires: datetime) -> str:
    """DS 004 barcode data ``=>cyyjjj`` of an expiry date (the item expires at the end of that day)."""
    return DI_EXPIRY_DATE + expiry_barcode_data(expires)[len(DI_EXPIRY_DATE_TIME) :][:6]


def _parse_expiry_date(content: str, text: str, position: int) -> datetime:
    """DS 004 ``cyyjjj``: the end of that day, 23:59 local, as DS 005 encodes a date without a time."""
    try:
        return parse_expiry(DI_EXPIRY_DATE_TIME + content + "2359")
    except IdentifierError as error:
        raise _error(
            IdentifierFault.CHARACTER,
            text,
            position,
            content,
            "DS 004 =>cyyjjj: century, year, day of the year",
        ) from error


# --------------------------------------------------------------------------- the label


@dataclass(frozen=True)
class Isbt128Label:
    """What an ISBT 128 CAR-T product label carries: DIN, product code, expiry and the DS 040 COI."""

    din: DinDataStructure
    product_code: ProductCode
    coi: ChainOfIdentityIdentifier
    expires: datetime | None = None
    expiry_has_time: bool = True
    """False when the label gave DS 004 (date only): ``expires`` is then 23:59 of that day."""
    skipped: tuple[str, ...] = field(default=())
    """Other fixed-length data structures read past (their data identifiers)."""

    def data_structures(self) -> tuple[str, ...]:
        """The label's data structures as barcode data, in the usual order of a label."""
        out = [self.din.encode(), DI_PRODUCT_CODE + self.product_code.code]
        if self.expires is not None:
            out.append(
                expiry_barcode_data(self.expires)
                if self.expiry_has_time
                else expiry_date_data_structure(self.expires)
            )
        out.append(coi_data_structure(self.coi))
        return tuple(out)

    def encode(self, separator: str = "") -> str:
        """The data structures concatenated (a 2-D symbol) or joined by ``separator`` (linear barcodes)."""
        return separator.join(self.data_structures())


def looks_like_isbt128_label(text: str) -> bool:
    """True when ``text`` carries an ISBT 128 DS 040 COI or DS 003 product code without CellChain's COI token
    first, i.e. it should be read by :func:`parse_isbt128_label` rather than as CellChain's payload."""
    compacted = re.sub(r"\s", "", text)
    first = text.split()[0].upper() if text.split() else ""
    return not first.startswith("CH") and (DI_COI in compacted or DI_PRODUCT_CODE in compacted)


def parse_isbt128_label(text: str) -> Isbt128Label:
    """Read an ISBT 128 product label scan (issue 12 item 3): DS 001, DS 003, DS 005 or DS 004, and DS 040.

    Raises :class:`IdentifierError` naming the data structure and position that could not be read, a DIN
    whose check flags fail, a missing or repeated structure, or a compound-message count that disagrees.
    """
    raw = re.sub(r"\s", "", text)
    if not raw:
        raise _error(IdentifierFault.EMPTY, raw, None, "nothing", "ISBT 128 data structures")
    position, declared = 0, None
    if raw.startswith(DI_COMPOUND):
        header = raw[2:7]
        if len(header) != 5 or not header.isdigit():
            raise _error(IdentifierFault.CHARACTER, raw, 3, header, "DS 023 =+aabbb: 5 digits")
        declared, position = int(header[:2]), 7
    found: dict[str, tuple[int, str]] = {}
    skipped: list[str] = []
    while position < len(raw):
        identifier, length = _identifier_at(raw, position)
        start = position + len(identifier)
        content = raw[start : start + length] if identifier != DI_DIN else raw[position + 1 : position + 16]
        if len(content) != length:
            raise _error(
                IdentifierFault.LENGTH, raw, position + 1, content,
                f"{length} characters after data identifier {identifier!r}",
            )  # fmt: skip
        if identifier in _SKIPPED_LENGTHS:
            skipped.append(identifier)
        elif identifier in found:
            raise _error(IdentifierFault.CHARACTER, raw, position + 1, identifier, "each data structure once")
        else:
            found[identifier] = (position + 1, content)
        position = (position + 16) if identifier == DI_DIN else start + length
    count = len(found) + len(skipped)
    if declared is not None and declared != count:
        raise _error(
            IdentifierFault.LENGTH,
            raw,
            3,
            f"{count} data structures",
            f"{declared} as the compound header says",
        )
    return _label(raw, found, tuple(skipped))


def _identifier_at(raw: str, position: int) -> tuple[str, int]:
    """The data identifier at ``position`` and the length of its data content."""
    pair = raw[position : position + 2]
    lengths = {DI_PRODUCT_CODE: 8, DI_EXPIRY_DATE: 6, DI_EXPIRY_DATE_TIME: 10, DI_COI: 15, **_SKIPPED_LENGTHS}
    if pair in lengths:
        return pair, lengths[pair]
    if pair[:1] == DI_DIN and _DIN_FIRST.fullmatch(pair[1:2] or " "):
        return DI_DIN, 15
    raise _error(
        IdentifierFault.CHARACTER, raw, position + 1, pair or "nothing",
        "an ISBT 128 data identifier CellChain reads: =α (DIN), =< (product code), &> or => (expiry), &/ (COI)",
    )  # fmt: skip


def _label(raw: str, found: dict[str, tuple[int, str]], skipped: tuple[str, ...]) -> Isbt128Label:
    for identifier, name in (
        (DI_DIN, "DS 001 DIN"),
        (DI_PRODUCT_CODE, "DS 003 product code"),
        (DI_COI, "DS 040 COI"),
    ):
        if identifier not in found:
            raise _error(
                IdentifierFault.LENGTH, raw, None, f"no {name}", f"the label's {name} ({identifier}...)"
            )
    if DI_EXPIRY_DATE in found and DI_EXPIRY_DATE_TIME in found:
        raise _error(IdentifierFault.CHARACTER, raw, found[DI_EXPIRY_DATE][0], "=> and &>", "one expiry")
    din_at, din_content = found[DI_DIN]
    din = DonationIdentificationNumber._from_data(din_content[:13])
    flags = din_content[13:]
    problem = din_flags_problem(din, flags)
    if problem:
        raise _error(IdentifierFault.FLAG, raw, din_at + 14, flags, problem)
    coi_content = found[DI_COI][1]
    if not coi_content.startswith("CH"):
        raise _error(
            IdentifierFault.PREFIX, raw, found[DI_COI][0] + 2, coi_content[:2], "'CH' (ST-001 §2.4.40)"
        )
    coi = ChainOfIdentityIdentifier._from_data(coi_content)
    product = Isbt128ProductCode(found[DI_PRODUCT_CODE][1])
    expires, has_time = None, True
    if DI_EXPIRY_DATE_TIME in found:
        expires = parse_expiry(DI_EXPIRY_DATE_TIME + found[DI_EXPIRY_DATE_TIME][1])
    elif DI_EXPIRY_DATE in found:
        at, content = found[DI_EXPIRY_DATE]
        expires, has_time = _parse_expiry_date(content, raw, at), False
    return Isbt128Label(DinDataStructure(din, flags), product, coi, expires, has_time, skipped)
