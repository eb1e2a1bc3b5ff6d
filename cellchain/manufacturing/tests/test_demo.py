"""The demo holds a released batch and a conditionally released one, made through the services; loading twice
changes nothing, and the ledger replays to the same tables (issue 5 "Done means"; REGULATORY item 9)."""

from __future__ import annotations

import pytest
from django.db import transaction

from cellchain.accounts.world import build_world
from cellchain.core.demo_loader import load_reference
from cellchain.ledger.verify import verify_ledger
from cellchain.manufacturing.models import Batch
from cellchain.manufacturing.selectors import product_definition
from cellchain.qc import selectors
from cellchain.qc.documents import coa_pdf


def load_demo_up_to_qc() -> None:
    """The demo steps this one depends on (world, journeys) and its own, in `cellchain demo` order."""
    from cellchain.journeys import demo as journeys
    from cellchain.manufacturing import demo as manufacturing
    from cellchain.qc import demo as qc

    with transaction.atomic():
        world = build_world()
        load_reference()
        for module in (journeys, manufacturing, qc):
            module.load(world)


@pytest.mark.django_db
def test_demo_has_a_released_and_a_conditionally_released_batch_and_replays() -> None:
    load_demo_up_to_qc()
    load_demo_up_to_qc()
    batches = {b.status: b for b in Batch.objects.filter(product_version__product__code="cd19-cart-demo")}
    assert set(batches) == {Batch.Status.RELEASED, Batch.Status.CONDITIONALLY_RELEASED}
    released, conditional = batches[Batch.Status.RELEASED], batches[Batch.Status.CONDITIONALLY_RELEASED]
    assert released.packages.count() == 1
    assert selectors.latest_release(conditional).pending == ["sterility", "mycoplasma"]
    definition = product_definition(released.product_version)
    pdf = coa_pdf(selectors.certificate_for(released, definition), definition.item_labels, "Asia/Shanghai")
    assert pdf.startswith(b"%PDF")
    report = verify_ledger()
    mine = [f for f in report.findings if (f.record_type or "").startswith(("manufacturing.", "qc."))]
    assert mine == [], [f.message for f in mine]
