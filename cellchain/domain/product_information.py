"""What the product master and the batch tell the clinic: texts, values and the pseudonymous donor summary.

Clauses: T-7.4 (one package built from the product master and the batch), T-7.5 a-f, T-7.6 a-d (donor
information without identifying data; a code shaped like a name, ID number, phone or e-mail is refused),
T-7.7-T-7.15 (storage, transport, use times, risks, AE reporting, process, cell source, key process nodes,
thaw and preparation, delivery), X-4 (signatures), X-7 (no donor PII toward the clinic).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from cellchain.domain.clinical_timing import OvertimeHandling
from cellchain.domain.findings import format_decimal
from cellchain.domain.specification import (
    ReleaseOutcome,
)


@dataclass(frozen=True, slots=True)
class Bilingual:
    """A text in Chinese and English; labels and documents print both."""

    zh: str
    en: str

    @property
    def complete(self) -> bool:
        return bool(self.zh.strip() and self.en.strip())


class ProductState(StrEnum):
    """Fresh or cryopreserved product (新鲜/冻存, T-7.5-d, T-7.13-d)."""

    FRESH = "fresh"
    CRYOPRESERVED = "cryopreserved"


class DonorType(StrEnum):
    """Donor type printed on the label (自体/异体, T-7.6-a)."""

    AUTOLOGOUS = "autologous"
    ALLOGENEIC = "allogeneic"


@dataclass(frozen=True, slots=True)
class TemperatureRange:
    """A temperature range in °C, either bound open (T-7.7-a, T-7.14-a, T-7.15-a)."""

    minimum_c: Decimal | None = None
    maximum_c: Decimal | None = None

    def describe(self) -> str:
        low, high = self.minimum_c, self.maximum_c
        if low is not None and high is not None:
            return f"{format_decimal(low)} to {format_decimal(high)} °C"
        if high is not None:
            return f"≤ {format_decimal(high)} °C"
        if low is not None:
            return f"≥ {format_decimal(low)} °C"
        return ""


class IdentifyingDonorData(ValueError):
    """Donor data that could identify the person was about to reach a document for the clinic (T-7.6, X-7)."""


PSEUDONYMOUS_DONOR_FIELDS: frozenset[str] = frozenset({"donor_type", "donor_code", "screening", "hla_match"})
"""The only donor fields a document to the clinic may carry (T-7.6 a-d, X-7); anything else is refused."""

_IDENTIFYING_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("resident ID number", re.compile(r"\d{17}[\dXx]")),
    ("mobile phone number", re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")),
    ("e-mail address", re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")),
    ("a name in Chinese characters", re.compile(r"[\u4e00-\u9fff]")),
)
"""Shapes of identifying data that a donor code must never take (T-7.6, X-7): a code is a pseudonym."""


@dataclass(frozen=True, slots=True)
class ScreeningSummary:
    """One screening marker: result and date, never the raw lab report (T-7.6-c)."""

    marker: str
    result: str
    tested_on: date


@dataclass(frozen=True, slots=True)
class DonorSummary:
    """Donor information for the clinic: type, pseudonym, screening summary, HLA if allogeneic (T-7.6).

    It has no field for a name, ID number, phone or address, and refuses a code shaped like one (X-7).
    """

    donor_type: DonorType
    donor_code: str
    screening: tuple[ScreeningSummary, ...]
    hla_match: str = ""

    def __post_init__(self) -> None:
        for what, pattern in _IDENTIFYING_PATTERNS:
            if pattern.search(self.donor_code):
                raise IdentifyingDonorData(
                    f"donor code {self.donor_code!r} looks like a {what}; use the pseudonym"
                )


def donor_summary_from_fields(values: Mapping[str, object]) -> DonorSummary:
    """The donor summary from a record's fields, refusing any field outside the pseudonymous set (T-7.6)."""
    extra = sorted(set(values) - PSEUDONYMOUS_DONOR_FIELDS)
    if extra:
        raise IdentifyingDonorData(f"donor fields {', '.join(extra)} cannot go to the clinic (T-7.6)")
    screening = values.get("screening", ())
    if not isinstance(screening, tuple) or not all(isinstance(s, ScreeningSummary) for s in screening):
        raise TypeError("screening must be a tuple of ScreeningSummary")
    return DonorSummary(
        DonorType(str(values.get("donor_type", ""))),
        str(values.get("donor_code", "")),
        screening,
        str(values.get("hla_match", "")),
    )


@dataclass(frozen=True, slots=True)
class StorageTransport:
    """Storage and transport requirements (T-7.7 a-e, T-7.15 a-e)."""

    storage_temperature: TemperatureRange  # T-7.7-a [L]
    storage_mode: Bilingual  # T-7.7-d [L]
    storage_time_limit: timedelta | None  # T-7.7-e [L]
    transport_temperature: TemperatureRange  # T-7.15-a
    max_transport_time: timedelta | None  # T-7.7-b, T-7.15-b
    containers: tuple[str, ...]  # T-7.7-c, T-7.15-c
    delivery_acceptance: tuple[Bilingual, ...]  # T-7.15-d
    anomaly_handling: Bilingual  # T-7.15-e
    mkt_formula: str = "time_weighted"  # MktFormula of cellchain.domain.coldchain (USP <1079.2>; issue 16)


@dataclass(frozen=True, slots=True)
class UseTimes:
    """Time limits for use, each from a validation or stability report (T-7.8 a-d)."""

    after_thaw: timedelta | None  # T-7.8-a
    preparation: timedelta | None  # T-7.8-b
    after_dilution: timedelta | None  # T-7.8-c, if applicable
    overtime_handling: Bilingual  # T-7.8-d
    evidence: str  # report reference(s) the values come from
    overtime_action: OvertimeHandling | None = None  # T-7.8-d as a rule the bedside applies; None = not coded


@dataclass(frozen=True, slots=True)
class RiskWarnings:
    """Risk warnings and precautions (T-7.9 a-d)."""

    adverse_reactions: tuple[Bilingual, ...]
    monitoring_indicators: tuple[Bilingual, ...]
    contraindications: tuple[Bilingual, ...]
    precautions: tuple[Bilingual, ...]


@dataclass(frozen=True, slots=True)
class AdverseEventReporting:
    """How the clinic reports adverse events to the manufacturer (T-7.10 a-d)."""

    content: tuple[Bilingual, ...]  # T-7.10-a
    time_limit: timedelta | None  # T-7.10-b
    route: Bilingual  # T-7.10-c
    contacts: tuple[str, ...]  # T-7.10-c
    information_to_supply: tuple[Bilingual, ...]  # T-7.10-d


@dataclass(frozen=True, slots=True)
class CellSource:
    """Cell-source information (T-7.12 a-d); the collection date comes from the apheresis record."""

    tissue: Bilingual
    collection_principle: Bilingual
    collection_date: date | None
    collection_qc_summary: Bilingual


@dataclass(frozen=True, slots=True)
class KeyProcess:
    """Key process nodes at range level, no detailed steps (T-7.13 a-e)."""

    expansion_mode: Bilingual
    culture_conditions: Bilingual
    harvest_principle: Bilingual
    formulation_form: ProductState
    cryopreservation_principle: Bilingual  # empty for fresh products


@dataclass(frozen=True, slots=True)
class DilutionRequirement:
    """The manufacturer's dilution or mixing values the clinic enforces (T-7.14-c, T-8.2.5-a/b)."""

    diluents: tuple[str, ...]  # allowed diluents or mixing solutions (T-8.2.5-a)
    ratio: Decimal  # diluent volume : product volume (T-8.2.5-b)
    tolerance: Decimal = Decimal(0)  # relative tolerance of the ratio


@dataclass(frozen=True, slots=True)
class ThawPreparation:
    """Thaw and preparation principles (T-7.14 a-e)."""

    thaw_temperature: TemperatureRange
    thaw_method: Bilingual
    use_immediately: bool  # T-7.14-b
    further_processing: Bilingual  # T-7.14-b when not used at once
    dilution: Bilingual  # T-7.14-c, if applicable
    pre_infusion_checks: tuple[Bilingual, ...]  # T-7.14-e
    no_refreeze: bool = True  # T-7.14-d: never returned to frozen stock
    thaw_methods: tuple[str, ...] = ()  # T-7.14-a as method codes the thaw record picks from; () = the text
    dilution_spec: DilutionRequirement | None = None  # T-7.14-c, T-8.2.5-a/b; None = no dilution offered


@dataclass(frozen=True, slots=True)
class Administration:
    """How the product is given, where the manufacturer states it (T-8.2.6-a/b, T-8.2.7-a); None = not stated."""

    route: str = ""  # T-8.2.6-a, e.g. "intravenous"
    leukocyte_filter_forbidden: bool | None = None  # T-8.2.6-b
    observation: timedelta | None = None  # T-8.2.7-a, the recommended post-infusion observation


@dataclass(frozen=True, slots=True)
class ProductInformation:
    """The product-master part of what the manufacturer tells the clinic (T-7.4-T-7.15)."""

    product_name: Bilingual  # T-7.5-a
    cell_type: Bilingual  # T-7.5-a
    donor_type: DonorType  # T-7.6-a
    state: ProductState  # T-7.5-d
    shelf_life: timedelta | None  # T-7.5-e
    storage_transport: StorageTransport
    use_times: UseTimes
    risks: RiskWarnings
    ae_reporting: AdverseEventReporting
    process_information: Bilingual  # T-7.11
    cell_source: CellSource
    key_process: KeyProcess
    thaw_preparation: ThawPreparation
    administration: Administration | None = None  # T-8.2.6-a/b, T-8.2.7-a; older versions do not carry it


@dataclass(frozen=True, slots=True)
class BatchFacts:
    """Values of one batch taken from its records (T-7.5-b/c, T-7.12-c)."""

    batch_number: str
    manufactured_at: datetime
    state: ProductState
    viable_cells: Decimal | None  # T-7.5-c cell number
    concentration: Decimal | None  # T-7.5-c cells/mL
    volume_ml: Decimal | None  # T-7.5-c formulation volume
    collection_date: date | None  # from the apheresis record


@dataclass(frozen=True, slots=True)
class Signature:
    """A signature as shown on documents: meaning, printed name, time (X-4, REGULATORY item 15)."""

    meaning: str
    printed_name: str
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class ReleaseDecision:
    """QA's release decision: full or conditional, when, by whom (Q-2-b, REGULATORY item 21)."""

    outcome: ReleaseOutcome
    signature: Signature

    def __post_init__(self) -> None:
        if self.outcome is ReleaseOutcome.NOT_RELEASABLE:
            raise ValueError("a release decision is full or conditional; a rejection is not a release")
