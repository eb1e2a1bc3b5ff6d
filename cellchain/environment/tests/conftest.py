"""The manufacturing kit (areas, a product, batches) for the clean-zone tests."""

from cellchain.manufacturing.tests.conftest import mfg, now

__all__ = ["mfg", "now"]
