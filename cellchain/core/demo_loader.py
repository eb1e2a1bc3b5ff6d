"""Load demo data: the world, the reference products, then each context's own `demo.load(world)` (this module is not itself a context demo) in order.

Which contexts' demos run depends on the installation's role (issue 12 item 4): a manufacturer's installation
loads no clinic records, a hospital's no manufacturing batches or QC; "both" loads everything.
"""

from __future__ import annotations

import importlib

from django.conf import settings
from django.db import transaction

from cellchain.accounts.world import World, build_world
from cellchain.core import installation
from cellchain.core.models import ApprovedProduct
from cellchain.core.reference import APPROVED_PRODUCTS

SKIPPED_DEMOS = {
    installation.BOTH: frozenset(),
    # The manufacturer knows patients by COI and pseudonym only: no clinic (patients at the bedside).
    installation.MANUFACTURER: frozenset({"cellchain.clinic"}),
    # The hospital makes no batches: no manufacturing or QC records (the clinic adopts the product's
    # approved version, the manufacturer's information package, on its own: `manufacturing.demo.approved_version`).
    installation.HOSPITAL: frozenset({"cellchain.manufacturing", "cellchain.environment", "cellchain.qc"}),
}
"""The contexts whose demo does not run on an installation of each role (issue 12 item 4)."""


def demo_contexts(role: str) -> list[str]:
    """The contexts whose `demo.load` runs on an installation of this role, in dependency order (issue 12 item 4)."""
    skipped = SKIPPED_DEMOS[role]
    return [app for app in settings.CELLCHAIN_CONTEXTS if app not in skipped]


def load_reference() -> int:
    """Create the review's Table 1 rows once (P-T1); returns how many were added."""
    added = 0
    for row in APPROVED_PRODUCTS:
        _obj, created = ApprovedProduct.objects.get_or_create(number=row["number"], defaults=row)
        added += int(created)
    return added


@transaction.atomic
def load_demo() -> World:
    """Idempotent: every step checks what exists before creating; only the role's parts run (issue 12 item 4)."""
    world = build_world()
    load_reference()
    for app in demo_contexts(installation.role()):
        try:
            module = importlib.import_module(f"{app}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.demo":
                raise
            continue
        module.load(world)
    return world
