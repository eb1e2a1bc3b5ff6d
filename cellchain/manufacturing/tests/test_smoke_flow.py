"""End-to-end through the services: intake, batch, QC, review, retained sample, release."""

from __future__ import annotations

import pytest

from cellchain.manufacturing.models import Batch
from cellchain.qc import selectors as qcs
from cellchain.qc import services as qc


@pytest.mark.django_db
def test_batch_walks_from_intake_to_release(mfg) -> None:
    batch = mfg.manufactured()
    assert batch.status == Batch.Status.AWAITING_RELEASE
    batch = mfg.ready_for_release(batch)
    evaluation = qcs.release_evaluation(batch)
    assert evaluation.outcome.value == "releasable", evaluation.findings
    qc.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
    batch.refresh_from_db()
    assert batch.status == Batch.Status.RELEASED
