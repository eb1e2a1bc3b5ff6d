"""Quality fixtures: the clinic's course, unit and infusion (a hospital's AE to report to us, issue 12 item 2)."""

from cellchain.clinic.tests.conftest import (  # noqa: F401 - fixtures
    course,
    frozen_now,
    infusion,
    profile,
    thawed_unit,
    unit,
    verified_check,
)
