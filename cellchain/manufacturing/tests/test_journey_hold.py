"""A suspended or terminated journey stops its batch start, and QC release of its batch (T-6.4-h)."""

from __future__ import annotations

import pytest

from cellchain.core.errors import Conflict
from cellchain.journeys import services as journeys
from cellchain.journeys.models import Journey
from cellchain.journeys.tests.holding import hold
from cellchain.manufacturing.models import Batch
from cellchain.qc import services as qc

pytestmark = pytest.mark.django_db


def _journey(intake) -> Journey:  # type: ignore[no-untyped-def]
    return Journey.objects.get(coi=intake.coi)


class TestBatchStartUnderHold:
    def test_T_6_4_h_batch_start_refused_while_the_journey_is_suspended(self, mfg, world) -> None:
        intake = mfg.intake()
        hold(world, _journey(intake), who="qa_li")
        with pytest.raises(
            Conflict, match=r"is suspended.*batch start is refused while it stands \(T-6\.4-h\)"
        ):
            mfg.start(intake)
        assert not Batch.objects.exists()

    def test_T_6_4_h_batch_starts_once_the_suspension_is_lifted(self, mfg, world) -> None:
        intake = mfg.intake()
        placed = hold(world, _journey(intake), who="qa_li")
        journeys.journey_hold_lift(actor=mfg.qa, hold=placed, reason="cleared", signer=mfg.signer("qa_li"))
        assert mfg.start(intake).number


class TestReleaseUnderHold:
    def test_T_6_4_h_release_refused_for_a_terminated_journey(self, mfg, world) -> None:
        batch = mfg.ready_for_release(mfg.manufactured())
        hold(world, _journey(batch.intake), kind="termination")
        with pytest.raises(Conflict, match=r"is terminated.*release is refused while it stands \(T-6\.4-h\)"):
            qc.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
        batch.refresh_from_db()
        assert batch.status == Batch.Status.AWAITING_RELEASE and not batch.release_decisions.exists()
