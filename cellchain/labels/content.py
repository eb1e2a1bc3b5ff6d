"""What a unit label says: identifiers, bilingual text, and the template version (T-7.6-a, T-10.6).

A label carries the pseudonymous chain of identity only, never the patient's name, birth date or record
number (X-7, T-7.6): the unit travels to the manufacturer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cellchain.domain.identity import LabelPayload

LABEL_TEMPLATE_VERSION = "UL-1.0"
"""Version of the unit label layout; every printed label records it (REGULATORY item 39)."""

AUTOLOGOUS_ONLY_EN = "FOR AUTOLOGOUS USE ONLY"
AUTOLOGOUS_ONLY_ZH = "仅供自体使用"
"""Autologous statement required on the label (REGULATORY item 40; T-7.6-a donor type [L])."""

BIOHAZARD_EN = "BIOHAZARD - INFECTIOUS MARKER REACTIVE"
BIOHAZARD_ZH = "生物危害 - 传染病标志物阳性"
"""Shown when screening found a reactive marker (P-1.3.1-a: the material is flagged infectious)."""


@dataclass(frozen=True)
class UnitLabel:
    """Everything printed on one unit label."""

    payload: LabelPayload
    product_name_en: str
    product_name_zh: str
    journey_pseudonym: str
    collection_site: str
    collected_at: datetime
    volume_ml: int
    storage_en: str
    storage_zh: str
    infectious: bool = False
    template_version: str = LABEL_TEMPLATE_VERSION

    def __post_init__(self) -> None:
        if self.collected_at.tzinfo is None:
            raise ValueError("collected_at must carry its time zone: a label states local time with offset")

    @property
    def collected_at_text(self) -> str:
        return self.collected_at.isoformat(timespec="minutes")

    def text_lines(self) -> tuple[str, ...]:
        """Human-readable lines, English then Chinese, in print order (after the identifiers)."""
        lines = [
            f"{self.product_name_en} / {self.product_name_zh}",
            f"Journey 疗程: {self.journey_pseudonym}",
            f"Collected 采集: {self.collected_at_text}  {self.collection_site}",
            f"Volume 体积: {self.volume_ml} mL   Store 储存: {self.storage_en} / {self.storage_zh}",
        ]
        if self.infectious:
            lines.append(f"{BIOHAZARD_EN} / {BIOHAZARD_ZH}")
        return tuple(lines)
