"""What this installation is: a manufacturer's, a hospital's, or both in one (issue 12 item 1).

In real use the manufacturer and each hospital run their own installation with their own database and ledger;
"both" is the single-installation demo in which one database holds the whole journey. Code that belongs to one
side asks here rather than reading settings, so the answer has one source.
"""

from __future__ import annotations

from django.conf import settings

MANUFACTURER = "manufacturer"
HOSPITAL = "hospital"
BOTH = "both"


def role() -> str:
    """The installation's role: manufacturer, hospital or both (CELLCHAIN_INSTALLATION_ROLE)."""
    return str(getattr(settings, "CELLCHAIN_INSTALLATION_ROLE", BOTH))


def name() -> str:
    """The installation's display name (CELLCHAIN_INSTALLATION_NAME), shown to partners and on pages."""
    return str(getattr(settings, "CELLCHAIN_INSTALLATION_NAME", "CellChain"))


def organisation_code() -> str:
    """The code of the organisation this installation belongs to (CELLCHAIN_INSTALLATION_ORGANISATION), or ""."""
    return str(getattr(settings, "CELLCHAIN_INSTALLATION_ORGANISATION", ""))


def is_manufacturer() -> bool:
    """True when this installation keeps manufacturing, QC and shipping records."""
    return role() in (MANUFACTURER, BOTH)


def is_hospital() -> bool:
    """True when this installation keeps patients, receipt, bedside and infusion records."""
    return role() in (HOSPITAL, BOTH)
