"""Unit labels as PDF and ZPL with a DataMatrix of the identifiers (T-10.6; REGULATORY items 39, 40).

Plain Python (no Django): the journeys app stores each printed label as a record and calls these renderers.
"""

from cellchain.labels.content import (
    AUTOLOGOUS_ONLY_EN,
    AUTOLOGOUS_ONLY_ZH,
    LABEL_TEMPLATE_VERSION,
    UnitLabel,
)
from cellchain.labels.pdf import unit_label_pdf
from cellchain.labels.zpl import unit_label_zpl

__all__ = [
    "AUTOLOGOUS_ONLY_EN",
    "AUTOLOGOUS_ONLY_ZH",
    "LABEL_TEMPLATE_VERSION",
    "UnitLabel",
    "unit_label_pdf",
    "unit_label_zpl",
]
