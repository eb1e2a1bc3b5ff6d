"""GS1 checks of the hospital -> manufacturer EPCIS messages from any checkout (issue 12 item 2).

`epcis_reference` finds the GS1 schema at ``<repo>/../shared/standards``; from a worktree under /work/wt that
folder is /work/shared, so point it there when the default is missing (no copy of the schema in the repo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cellchain.domain.tests import epcis_reference

SHARED = Path("/work/shared/standards/epcis")


def assert_gs1_valid(document: dict[str, Any]) -> None:
    """GS1 EPCIS 2.0 JSON schema valid, eventID = our hash = GS1's reference implementation's (decision 0018)."""
    if not (epcis_reference.STANDARDS / "EPCIS-JSON-Schema.json").exists() and SHARED.exists():
        epcis_reference.STANDARDS = SHARED
    epcis_reference.assert_valid_and_identified(document)
