"""The QC tests use the manufacturing kit."""

from cellchain.manufacturing.tests.conftest import mfg, now  # noqa: F401
