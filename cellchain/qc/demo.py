"""Demo QC and release (issue 5): the first demo batch tested, reviewed and released with its certificate and
information package issued to Xiehe; the second released conditionally, its compendial sterility and
mycoplasma tests still pending (review 2.5). Idempotent: a batch already decided is left alone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from cellchain.accounts.world import DEMO_PASSWORD
from cellchain.manufacturing.demo import PRODUCT_CODE, at
from cellchain.manufacturing.models import Batch
from cellchain.qc import services
from cellchain.qc.models import QcResult
from cellchain.signatures.services import SignerCredentials

RESULTS: dict[str, dict[str, Any]] = {
    "appearance": {"outcome": "conforms"},
    "ph": {"value": Decimal("7.15")},
    "osmolality": {"value": Decimal(305)},
    "sterility_rapid": {"outcome": "negative"},
    "sterility": {"outcome": "negative"},
    "mycoplasma_rapid": {"outcome": "negative"},
    "mycoplasma": {"outcome": "negative"},
    "endotoxin": {"value": Decimal("0.08")},
    "viability": {"value": Decimal("92.3")},
    "viable_cells": {"value": Decimal("2.6E8")},
    "car_positive": {"value": Decimal("41.7")},
    "vcn": {"value": Decimal("2.4")},
    "cd3": {"value": Decimal("97.8")},
    "potency": {"value": Decimal("56.0")},
    "rcl": {"outcome": "negative"},
    "bead_residue": {"value": Decimal(3)},
    "il2_residue": {"value": Decimal(9)},
}


def _decide(world: Any, batch: Batch, password: str, conditional: bool) -> None:
    analyst, qa_li, qa_guo = world["qc_zhang"], world["qa_li"], world["qa_guo"]
    made = batch.manufactured_at or batch.started_at
    with at(made + dt.timedelta(days=1)):
        for code, fields in RESULTS.items():
            if conditional and code in ("sterility", "mycoplasma"):
                services.result_record(
                    actor=analyst, batch=batch, item_code=code, status=QcResult.Status.ORDERED
                )
            else:
                services.result_record(actor=analyst, batch=batch, item_code=code, **fields)
        retained = batch.units.get(purpose="retained")
        services.retained_sample_register(
            actor=analyst, unit=retained, container="LN2-03", rack="R2", box="B7", position=f"A{retained.pk}"
        )
    with at(made + dt.timedelta(days=2)):
        services.audit_trail_review_record(
            actor=qa_guo,
            batch=batch,
            signer=SignerCredentials(qa_guo, password),
            note="Batch record and QC audit trail reviewed; no unexplained change.",
        )
    with at(made + dt.timedelta(days=2, hours=2)):
        outcome = "conditionally_releasable" if conditional else "releasable"
        services.batch_release(
            actor=qa_li, batch=batch, signer=SignerCredentials(qa_li, password), outcome=outcome
        )
        if not conditional:
            services.package_issue(actor=qa_li, batch=batch)


def load(world: Any, password: str = DEMO_PASSWORD) -> None:
    batches = Batch.objects.filter(product_version__product__code=PRODUCT_CODE).order_by("number")
    for index, batch in enumerate(batches[:2]):
        if batch.status == Batch.Status.AWAITING_RELEASE and not batch.qc_results.exists():
            _decide(world, batch, password, conditional=index == 1)
