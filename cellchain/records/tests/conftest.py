"""Records fixtures: the clinic's infused journey (thaw, bedside check, infusion) built through the clinic's
services, reused from the clinic tests (issue 13 item 9)."""

from __future__ import annotations

from cellchain.clinic.tests.conftest import (  # noqa: F401 - fixtures used by the records tests
    INFUSION,
    NOW,
    course,
    frozen_now,
    infusion,
    profile,
    thawed_unit,
    unit,
    verified_check,
)
