"""Chain-of-identity and unit identifiers with ISO 7064 Mod 37-2 check characters (T-10.4, T-10.6, G-4).

Two identifiers follow the journey (REGULATORY.md §D item 35; DESIGN.md "Identity and labels"):

* the **chain-of-identity identifier** (COI), one per patient therapy journey, in the form of ISBT 128
  Data Structure 040 "Chain of Identity Identifier" (ICCBBA ST-028, published Dec 2022, with
  implementation guide IG-050 "Using the ISBT 128 Chain of Identity Identifier" v1.0.0, Dec 2023; see
  https://www.isbt128.org/post/st-028-chain-of-identity-identifier). ST-028's full text is licensed and
  was not available to us; CellChain uses the form fixed in DESIGN.md: ``CH`` + 5-character facility
  identification number (FIN) + 2-digit year + 6-character sequence (15 characters). For keyboard entry
  it carries a Mod 37-2 check character like the DIN.
* the **donation identification number** (DIN), one per collected bag or product unit, 13 characters
  in the ISBT 128 Data Structure 001 layout: FIN (a letter and 4 digits) + 2-digit year + 6-digit
  sequence. Its eye-readable check character and its barcode flag characters (checksum + 60) follow
  ISO 7064 Mod 37-2 as described in JPAC "Guidelines for the Blood Transfusion Services in the UK"
  (Red Book), Annex 2 "ISBT 128 check character calculation"
  (https://www.transfusionguidelines.org/red-book/annex-2-isbt-128-check-character-calculation).

``parse_*`` functions accept what a scanner or a person produces (barcode data, keyboard entry with the
check character, eye-readable text with spaces and a boxed check character) and raise
:class:`IdentifierError` naming the position, the character found and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Self

MOD37_2_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
"""ISO 7064 Mod 37-2 character values 0..36 (JPAC Red Book Annex 2, Table A2.1)."""

COI_PREFIX = "CH"
DIN_LENGTH = 13
COI_LENGTH = 15
ISBT_DIN_DATA_IDENTIFIER = "="
ISBT_PRODUCT_CODE_DATA_IDENTIFIER = "=<"
ISBT_EXPIRY_DATA_IDENTIFIER = "&>"
"""ISBT 128 Data Structure 005 "Expiration Date and Time": ``&>`` + ``cyyjjjhhmm`` (ST-001 §2.4.5, as listed in
the public ISBT 128 data structure table; the standard's full text was not available to us). ``c`` counts
centuries from 2000, ``jjj`` is the day of the year, the time is the local time printed on the label."""
_ISBT_CHECK_FLAG_OFFSET = 60
"""Barcode flag characters carry the Mod 37-2 checksum plus 60 (JPAC Red Book Annex 2, step 7)."""


class IdentifierKind(StrEnum):
    """Which identifier a text was read as."""

    DIN = "din"
    COI = "coi"
    PRODUCT_CODE = "product_code"
    EXPIRY = "expiry"
    LABEL = "label"


class LabelFormat(StrEnum):
    """How a manufacturer's labels carry the chain of identity (issue 12 item 3; `isbt128`)."""

    CELLCHAIN = "cellchain"
    """CellChain's own payload (`LabelPayload`): COI with its Mod 37-2 check character, DS 001 DIN, DS 003, DS 005."""
    ISBT128_DS040 = "isbt128-ds040"
    """ISBT 128 data structures of another maker, the COI as DS 040 ``&/CH...`` (`isbt128.parse_isbt128_label`)."""


class IdentifierFault(StrEnum):
    """Why a text is not a valid identifier."""

    EMPTY = "empty"
    LENGTH = "length"
    CHARACTER = "character"
    PREFIX = "prefix"
    CHECK_MISSING = "check_missing"
    CHECK_CHARACTER = "check_character"
    FLAG = "flag"


@dataclass(frozen=True)
class IdentifierProblem:
    """One reason a text was rejected: which position (1-based, in the compact text), found, expected."""

    kind: IdentifierKind
    fault: IdentifierFault
    text: str
    position: int | None
    found: str
    expected: str

    @property
    def message(self) -> str:
        where = f" at position {self.position}" if self.position is not None else ""
        return (
            f"{self.kind.value} {self.text!r} rejected ({self.fault.value}){where}: "
            f"found {self.found!r}, expected {self.expected}"
        )


class IdentifierError(ValueError):
    """A scanned or typed identifier is malformed or fails its check character."""

    def __init__(self, problem: IdentifierProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


# --------------------------------------------------------------------------- Mod 37-2


def mod37_2_checksum(data: str) -> int:
    """ISO 7064 Mod 37-2 checksum 0..36 of ``data`` (JPAC Red Book Annex 2, steps 1-6).

    Weights are 2^n with n the position from the right of the data *plus one*, which the recursive form
    ``(2 * s + value) mod 37`` over ``data`` followed by a zero check slot computes.
    """
    total = 0
    for char in data:
        total = (total + _char_value(char)) * 2 % 37
    return (38 - total) % 37


def mod37_2_check_character(data: str) -> str:
    """The eye-readable Mod 37-2 check character for ``data`` (one of 0-9, A-Z, *)."""
    return MOD37_2_ALPHABET[mod37_2_checksum(data)]


def mod37_2_is_valid(data_with_check: str) -> bool:
    """True when the last character is the Mod 37-2 check character of the rest."""
    data, check = data_with_check[:-1], data_with_check[-1:]
    if not data or check not in MOD37_2_ALPHABET or any(c not in MOD37_2_ALPHABET[:-1] for c in data):
        return False
    return mod37_2_check_character(data) == check


def _char_value(char: str) -> int:
    value = MOD37_2_ALPHABET.find(char)
    if value < 0 or char == "*":
        raise ValueError(f"character {char!r} has no Mod 37-2 value (only 0-9 and A-Z may be data)")
    return value


# --------------------------------------------------------------------------- value objects

_FIN = re.compile(r"[A-Z][0-9]{4}")
_YEAR = re.compile(r"[0-9]{2}")
_DIN_SEQUENCE = re.compile(r"[0-9]{6}")
_COI_SEQUENCE = re.compile(r"[0-9A-Z]{6}")

_Layout = tuple[tuple[re.Pattern[str], int, str], ...]
"""(pattern for one character, how many, what a person should read as expected)."""

_LETTER = re.compile(r"[A-Z]")
_DIGIT = re.compile(r"[0-9]")
_ALNUM = re.compile(r"[0-9A-Z]")
_DIN_LAYOUT: _Layout = (
    (_LETTER, 1, "a letter A-Z (facility identification number)"),
    (_DIGIT, 4, "a digit (facility identification number)"),
    (_DIGIT, 2, "a digit (year)"),
    (_DIGIT, 6, "a digit (sequence number)"),
)
_COI_LAYOUT: _Layout = (
    (re.compile("C"), 1, "'C' (chain-of-identity prefix CH)"),
    (re.compile("H"), 1, "'H' (chain-of-identity prefix CH)"),
    *_DIN_LAYOUT[:3],
    (_ALNUM, 6, "a digit or letter (sequence)"),
)
_PRODUCT_LAYOUT: _Layout = (
    (_LETTER, 1, "a letter A-Z (product description code)"),
    (_DIGIT, 4, "a digit (product description code)"),
    (_ALNUM, 3, "a digit or letter (donation type and divisions)"),
)


@dataclass(frozen=True)
class _FacilityIdentifier:
    """An identifier issued by a facility: [prefix] + FIN + 2-digit year + 6-character sequence, with a Mod 37-2
    check character over all of it (the DIN and the COI differ only in prefix and sequence alphabet)."""

    _kind: ClassVar[IdentifierKind]
    _prefix: ClassVar[str]
    _layout: ClassVar[_Layout]

    facility: str
    year: str
    sequence: str

    def __post_init__(self) -> None:
        _require_layout(self._kind, self.data, self._layout)

    @classmethod
    def _from_data(cls, data: str) -> Self:
        """The identifier whose data (prefix included, no check character) is ``data``, layout checked."""
        body = data[len(cls._prefix) :]
        return cls(body[:5], body[5:7], body[7:])

    @property
    def data(self) -> str:
        return f"{self._prefix}{self.facility}{self.year}{self.sequence}"

    @property
    def check_character(self) -> str:
        return mod37_2_check_character(self.data)

    @property
    def keyboard_form(self) -> str:
        """What a person types (a COI label barcode carries it too): the data followed by the check character."""
        return self.data + self.check_character

    @property
    def eye_readable(self) -> str:
        """Display form ``W1234 25 123456 [K]`` (DIN) or ``CH W1234 25 000001 [K]`` (COI); the bracketed character
        is printed boxed on labels."""
        prefix = f"{self._prefix} " if self._prefix else ""
        return f"{prefix}{self.facility} {self.year} {self.sequence} [{self.check_character}]"


@dataclass(frozen=True)
class DonationIdentificationNumber(_FacilityIdentifier):
    """A 13-character unit identifier: FIN + year + 6-digit sequence (ISBT 128 DS 001; T-10.6).

    Typed as 14 characters (``keyboard_form``: data and check character)."""

    _kind: ClassVar[IdentifierKind] = IdentifierKind.DIN
    _prefix: ClassVar[str] = ""
    _layout: ClassVar[_Layout] = _DIN_LAYOUT

    @property
    def flag_characters(self) -> str:
        """ISBT 128 flag characters carrying the checksum + 60 (barcode form)."""
        return str(mod37_2_checksum(self.data) + _ISBT_CHECK_FLAG_OFFSET)

    @property
    def barcode_data(self) -> str:
        """ISBT 128 DS 001 barcode data: ``=`` + DIN + check flag characters."""
        return ISBT_DIN_DATA_IDENTIFIER + self.data + self.flag_characters


@dataclass(frozen=True)
class ChainOfIdentityIdentifier(_FacilityIdentifier):
    """A journey's chain-of-identity identifier ``CH`` + FIN + year + sequence (ISBT 128 DS 040; T-10.4).

    Typed, and carried by a label barcode, as 16 characters (``keyboard_form``: data and check character)."""

    _kind: ClassVar[IdentifierKind] = IdentifierKind.COI
    _prefix: ClassVar[str] = COI_PREFIX
    _layout: ClassVar[_Layout] = _COI_LAYOUT


@dataclass(frozen=True)
class ProductCode:
    """An 8-character ISBT 128-style product code: description code, donation type, divisions (DS 003).

    CellChain treats the code as issued by the product master; it checks only the layout
    (a letter and 4 digits, then 3 characters 0-9/A-Z).
    """

    code: str

    def __post_init__(self) -> None:
        _require_layout(IdentifierKind.PRODUCT_CODE, self.code, _PRODUCT_LAYOUT)

    @property
    def barcode_data(self) -> str:
        return ISBT_PRODUCT_CODE_DATA_IDENTIFIER + self.code


# --------------------------------------------------------------------------- issuing


def din_issue(facility: str, year: int, number: int) -> DonationIdentificationNumber:
    """The DIN for the ``number``-th unit of ``facility`` in ``year`` (number 1..999999; T-10.6)."""
    _require_range("DIN sequence number", number, 1, 999_999)
    return DonationIdentificationNumber(facility, _year_digits(year), f"{number:06d}")


def coi_issue(facility: str, year: int, number: int) -> ChainOfIdentityIdentifier:
    """The COI for the ``number``-th journey of ``facility`` in ``year`` (number 1..999999; T-10.4)."""
    _require_range("COI sequence number", number, 1, 999_999)
    return ChainOfIdentityIdentifier(facility, _year_digits(year), f"{number:06d}")


def _year_digits(year: int) -> str:
    _require_range("year", year, 2000, 2099)
    return f"{year % 100:02d}"


def _require_range(what: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{what} {value} outside {low}..{high}")


# --------------------------------------------------------------------------- parsing


def _layout_length(layout: _Layout) -> int:
    return sum(count for _, count, _ in layout)


def _require_layout(kind: IdentifierKind, text: str, layout: _Layout) -> None:
    """Raise at the first character that breaks ``layout`` (after checking the length)."""
    expected_length = _layout_length(layout)
    if len(text) != expected_length:
        found = f"{len(text)} characters"
        raise _error(kind, IdentifierFault.LENGTH, text, None, found, f"{expected_length}")
    position = 0
    for pattern, count, expected in layout:
        for _ in range(count):
            if not pattern.fullmatch(text[position]):
                raise _error(kind, IdentifierFault.CHARACTER, text, position + 1, text[position], expected)
            position += 1


def _error(
    kind: IdentifierKind, fault: IdentifierFault, text: str, position: int | None, found: str, expected: str
) -> IdentifierError:
    return IdentifierError(IdentifierProblem(kind, fault, text, position, found, expected))


def compact(text: str) -> str:
    """Upper-case ``text``; drop spaces, hyphens and the brackets of an eye-readable check character."""
    return re.sub(r"[\s\-\[\]]", "", text).upper()


def parse_din(text: str) -> DonationIdentificationNumber:
    """Read a DIN from barcode data (``=`` + 13 + 2 check flags) or keyboard entry (13 + check character).

    A DIN without its check character is refused: a typed DIN must be verified (T-10.6).
    """
    raw = compact(text)
    if not raw:
        raise _error(IdentifierKind.DIN, IdentifierFault.EMPTY, raw, None, "nothing", "a DIN")
    if raw.startswith(ISBT_DIN_DATA_IDENTIFIER):
        return _parse_din_barcode(raw)
    return DonationIdentificationNumber._from_data(_typed_data(IdentifierKind.DIN, raw, _DIN_LAYOUT))


def _parse_din_barcode(raw: str) -> DonationIdentificationNumber:
    body = raw[len(ISBT_DIN_DATA_IDENTIFIER) :]
    if len(body) != DIN_LENGTH + 2:
        raise _error(IdentifierKind.DIN, IdentifierFault.LENGTH, raw, None, f"{len(raw)} characters", "16")
    _require_layout(IdentifierKind.DIN, body[:DIN_LENGTH], _DIN_LAYOUT)
    flags = body[DIN_LENGTH:]
    expected = str(mod37_2_checksum(body[:DIN_LENGTH]) + _ISBT_CHECK_FLAG_OFFSET)
    if flags != expected:
        raise _error(
            IdentifierKind.DIN, IdentifierFault.FLAG, raw, len(raw) - 1, flags,
            f"check flags {expected} (Mod 37-2 checksum + 60)",
        )  # fmt: skip
    return DonationIdentificationNumber._from_data(body[:DIN_LENGTH])


def parse_coi(text: str) -> ChainOfIdentityIdentifier:
    """Read a chain-of-identity identifier: ``CH`` + FIN + year + sequence + check character."""
    raw = compact(text)
    if not raw:
        raise _error(IdentifierKind.COI, IdentifierFault.EMPTY, raw, None, "nothing", "a COI")
    if not raw.startswith(COI_PREFIX):
        raise _error(IdentifierKind.COI, IdentifierFault.PREFIX, raw, 1, raw[:2], "'CH'")
    return ChainOfIdentityIdentifier._from_data(_typed_data(IdentifierKind.COI, raw, _COI_LAYOUT))


def _typed_data(kind: IdentifierKind, raw: str, layout: _Layout) -> str:
    """The data of a typed identifier (data + check character), its check character verified.

    Data without the check character is refused: a typed identifier must be verified (T-10.4, T-10.6).
    """
    length = _layout_length(layout)
    if len(raw) == length:
        _require_layout(kind, raw, layout)
        raise _error(
            kind, IdentifierFault.CHECK_MISSING, raw, length + 1, "nothing",
            f"the boxed check character after the {length} characters",
        )  # fmt: skip
    if len(raw) != length + 1:
        raise _error(kind, IdentifierFault.LENGTH, raw, None, f"{len(raw)} characters", f"{length + 1}")
    _require_layout(kind, raw[:-1], layout)
    _require_check_character(kind, raw)
    return raw[:-1]


def parse_product_code(text: str) -> ProductCode:
    """Read a product code from barcode data (``=<`` + 8) or keyboard entry (8 characters)."""
    raw = compact(text)
    if raw.startswith(ISBT_PRODUCT_CODE_DATA_IDENTIFIER):
        raw = raw[len(ISBT_PRODUCT_CODE_DATA_IDENTIFIER) :]
    return ProductCode(raw)


def _require_check_character(kind: IdentifierKind, raw: str) -> None:
    expected = mod37_2_check_character(raw[:-1])
    if raw[-1] != expected:
        raise _error(
            kind, IdentifierFault.CHECK_CHARACTER, raw, len(raw), raw[-1],
            f"check character {expected!r}: the identifier was mistyped or misread",
        )  # fmt: skip


# --------------------------------------------------------------------------- label payload


@dataclass(frozen=True)
class LabelPayload:
    """What a label's 2-D DataMatrix carries: COI, DIN and product code (T-10.4, T-10.6), and on a final
    product label also the expiry (T-7.5-e).

    Encoded as space-separated tokens, each self-identifying: the COI with its check character, the
    ISBT 128 DS 001 DIN with check flags, the ISBT 128 DS 003 product code, then - only when ``expires`` is
    set - the ISBT 128 DS 005 expiry. Spaces, not line breaks, separate them, so a keyboard-wedge scanner
    does not submit the form half-way. ``expires`` is the local wall-clock time printed next to the symbol,
    to the minute and without time zone, as DS 005 carries it.
    """

    coi: ChainOfIdentityIdentifier
    din: DonationIdentificationNumber
    product_code: ProductCode
    expires: datetime | None = None

    def __post_init__(self) -> None:
        if self.expires is not None and (
            self.expires.tzinfo is not None or self.expires.second or self.expires.microsecond
        ):
            raise ValueError(
                "expires must be local wall-clock time to the minute, without time zone (DS 005)"
            )

    def encode(self) -> str:
        tokens = [self.coi.keyboard_form, self.din.barcode_data, self.product_code.barcode_data]
        if self.expires is not None:
            tokens.append(expiry_barcode_data(self.expires))
        return " ".join(tokens)


def expiry_barcode_data(expires: datetime) -> str:
    """ISBT 128 DS 005 barcode data ``&>cyyjjjhhmm`` of a local expiry time (years 2000..2999)."""
    _require_range("expiry year", expires.year, 2000, 2999)
    century, year = divmod(expires.year - 2000, 100)
    day = expires.timetuple().tm_yday
    return f"{ISBT_EXPIRY_DATA_IDENTIFIER}{century}{year:02d}{day:03d}{expires.hour:02d}{expires.minute:02d}"


_EXPIRY = re.compile(r"&>(?P<c>[0-9])(?P<yy>[0-9]{2})(?P<jjj>[0-9]{3})(?P<hh>[0-9]{2})(?P<mm>[0-9]{2})")


def parse_expiry(text: str) -> datetime:
    """Read ISBT 128 DS 005 barcode data ``&>cyyjjjhhmm`` as local wall-clock time (no time zone)."""
    raw = text.strip()
    match = _EXPIRY.fullmatch(raw)
    if match is None:
        fault = IdentifierFault.CHARACTER if len(raw) == 12 else IdentifierFault.LENGTH
        raise _error(IdentifierKind.EXPIRY, fault, raw, None, raw or "nothing", "'&>' + 10 digits cyyjjjhhmm")
    year = 2000 + 100 * int(match["c"]) + int(match["yy"])
    start = datetime(year, 1, 1)
    day, hour, minute = int(match["jjj"]), int(match["hh"]), int(match["mm"])
    if not 1 <= day <= (datetime(year + 1, 1, 1) - start).days:
        raise _error(
            IdentifierKind.EXPIRY, IdentifierFault.CHARACTER, raw, 6, match["jjj"], f"a day of {year}"
        )
    if hour > 23 or minute > 59:
        raise _error(IdentifierKind.EXPIRY, IdentifierFault.CHARACTER, raw, 9, raw[8:12], "a time 0000..2359")
    return start + timedelta(days=day - 1, hours=hour, minutes=minute)


def parse_label_payload(text: str) -> LabelPayload:
    """Read the tokens of a label DataMatrix in their fixed order: COI, DIN, product code[, expiry]."""
    tokens = text.strip().split()
    if len(tokens) not in (3, 4):
        raise _error(
            IdentifierKind.LABEL, IdentifierFault.LENGTH, text.strip(), None, f"{len(tokens)} tokens",
            "3 or 4 space-separated tokens: COI, =DIN, =<product code[, &>expiry]",
        )  # fmt: skip
    expires = parse_expiry(tokens[3]) if len(tokens) == 4 else None
    return LabelPayload(parse_coi(tokens[0]), parse_din(tokens[1]), parse_product_code(tokens[2]), expires)


@dataclass(frozen=True)
class ScannedIdentifiers:
    """What one scan or typed entry yielded: a DIN, and the COI and product code when a label was read (and
    the local expiry when that label was a final product label)."""

    din: DonationIdentificationNumber
    coi: ChainOfIdentityIdentifier | None
    product_code: ProductCode | None
    expires: datetime | None = None
    label_format: LabelFormat | None = None
    """Which label was read (None: a DIN barcode or a typed DIN, no label data; issue 12 item 3)."""

    @property
    def is_label(self) -> bool:
        return self.label_format is not None


def parse_unit_scan(text: str) -> ScannedIdentifiers:
    """Read the unit a scan refers to: CellChain's label DataMatrix, another maker's ISBT 128 label (DS 001, DS 003,
    DS 005/004, DS 040; issue 12 item 3), a DIN barcode, or a typed DIN (G-4)."""
    from cellchain.domain.isbt128 import looks_like_isbt128_label, parse_isbt128_label

    if len(text.split()) in (3, 4) and compact(text).startswith(COI_PREFIX):
        payload = parse_label_payload(text)
        return ScannedIdentifiers(
            payload.din, payload.coi, payload.product_code, payload.expires, LabelFormat.CELLCHAIN
        )
    if looks_like_isbt128_label(text):
        label = parse_isbt128_label(text)
        return ScannedIdentifiers(
            label.din.din, label.coi, label.product_code, label.expires, LabelFormat.ISBT128_DS040
        )
    return ScannedIdentifiers(parse_din(text), None, None)
