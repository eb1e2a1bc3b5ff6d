"""Load demo data: the world, the reference products, then each context's own `demo.load(world)` (this module is not itself a context demo) in order."""

from __future__ import annotations

import importlib

from django.conf import settings
from django.db import transaction

from cellchain.accounts.world import World, build_world
from cellchain.core.models import ApprovedProduct
from cellchain.core.reference import APPROVED_PRODUCTS


def load_reference() -> int:
    """Create the review's Table 1 rows once (P-T1); returns how many were added."""
    added = 0
    for row in APPROVED_PRODUCTS:
        _obj, created = ApprovedProduct.objects.get_or_create(number=row["number"], defaults=row)
        added += int(created)
    return added


@transaction.atomic
def load_demo() -> World:
    """Idempotent: every step checks what exists before creating."""
    world = build_world()
    load_reference()
    for app in settings.CELLCHAIN_CONTEXTS:
        try:
            module = importlib.import_module(f"{app}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.demo":
                raise
            continue
        module.load(world)
    return world
