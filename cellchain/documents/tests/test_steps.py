"""The steps governed by an SOP: apheresis, thaw, infusion and AE handling are refused to a person not trained
on the version in force, and each record is linked to that version; without a governing SOP the steps run as
before (issue 13 item 1; T-6.1, T-6.5-b, T-6.5-d, T-6.5-e, T-6.5-f)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from cellchain.clinic import services as clinic
from cellchain.clinic.models import AdverseEvent, BedsideCheck, Infusion, Thaw
from cellchain.clinic.tests import conftest as clinic_fixtures
from cellchain.clinic.tests.conftest import INFUSION, NOW
from cellchain.clinic.tests.test_services import crs_grade_3
from cellchain.core import clock
from cellchain.core.errors import NotAllowed
from cellchain.documents import selectors
from cellchain.documents.models import DocumentVersion, SopUse
from cellchain.documents.tests.conftest import DocumentKit
from cellchain.journeys import services as journeys
from cellchain.journeys.models import Collection, Journey
from cellchain.journeys.tests.conftest import JourneyKit

pytestmark = pytest.mark.django_db

# The clinic's fixtures, used here by name: a product ready at Union Hospital, a course, a unit, a bedside check.
frozen_now, profile, course = clinic_fixtures.frozen_now, clinic_fixtures.profile, clinic_fixtures.course
unit, thawed_unit = clinic_fixtures.unit, clinic_fixtures.thawed_unit
verified_check = clinic_fixtures.verified_check


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    """The clinic and journey fixtures freeze their own clock near today (the personas' qualifications)."""
    yield


def _sop_in_force(world: Any, step: str, now: dt.datetime) -> DocumentVersion:
    """An SOP for `step` at Union Hospital, approved five days before `now` and in force since."""
    earlier = now - dt.timedelta(days=5)
    with clock.frozen(earlier):
        kit = DocumentKit(world, clock.today("Asia/Shanghai"))
        return kit.approved(kit.register(step=step, code=f"SOP-{step.upper()}"))


def _train(world: Any, version: DocumentVersion, who: str) -> None:
    DocumentKit(world).train(version, who)


def _thaw(world: Any, unit: Any) -> Thaw:
    return clinic.thaw_record(
        actor=world["nurse_wang"],
        unit=unit,
        started_at=NOW - dt.timedelta(minutes=12),
        ended_at=NOW - dt.timedelta(minutes=5),
        temperature_c=37.0,
        method="water_bath",
        area="Cell therapy prep room",
        device="Thermo bath TB-2",
        appearance_normal=True,
        no_shaking_confirmed=True,
        precautions_acknowledged=True,
    )


class TestThaw:
    def test_thaw_refused_untrained_then_recorded_with_the_sop_version_t_6_5_d(
        self, world: Any, unit: Any, client_for: Any
    ) -> None:
        """T-6.5-d, T-6.1: the thaw is refused to a nurse without read-and-understood training on the SOP in
        force, nothing is written; once trained, the thaw record names the SOP version."""
        version = _sop_in_force(world, "thaw", NOW)
        with pytest.raises(NotAllowed, match=r"SOP-THAW version 1 .*T-6\.5-d"):
            _thaw(world, unit)
        assert not Thaw.objects.exists() and not SopUse.objects.exists()
        _train(world, version, "nurse_wang")
        thaw = _thaw(world, unit)
        assert [u.version for u in selectors.sop_uses_for(thaw)] == [version]
        page = client_for("nurse_wang").get(f"/documents/versions/{version.pk}/").content.decode()
        assert '<dd id="uses">1</dd>' in page

    def test_thaw_without_a_governing_sop_proceeds_as_before(self, world: Any, unit: Any) -> None:
        _sop_in_force(world, "infusion", NOW)  # governs another step
        _thaw(world, unit)
        assert Thaw.objects.count() == 1 and not SopUse.objects.exists()


class TestInfusion:
    def test_infusion_refused_untrained_then_recorded_with_the_sop_version_t_6_5_e(
        self, world: Any, course: Any, verified_check: Any
    ) -> None:
        """T-6.5-e, T-6.1: the infusion record references the SOP version in force."""
        version = _sop_in_force(world, "infusion", NOW)
        with pytest.raises(NotAllowed, match=r"SOP-INFUSION version 1 .*T-6\.5-e"):
            clinic.infusion_start(actor=world["nurse_wang"], course=course, check=verified_check, **INFUSION)
        assert not Infusion.objects.exists()
        _train(world, version, "nurse_wang")
        check = BedsideCheck.objects.get(pk=verified_check.pk)  # as the next request would load it
        infusion = clinic.infusion_start(actor=world["nurse_wang"], course=course, check=check, **INFUSION)
        assert [u.version for u in selectors.sop_uses_for(infusion)] == [version]


class TestAdverseEventHandling:
    def test_ae_record_refused_untrained_then_names_the_ar_sop_t_6_5_f(
        self, world: Any, course: Any, verified_check: Any
    ) -> None:
        """T-6.5-f, T-6.1: the AE record is made under the adverse-reaction SOP in force."""
        clinic.infusion_start(actor=world["nurse_wang"], course=course, check=verified_check, **INFUSION)
        version = _sop_in_force(world, "ae_handling", NOW)
        with pytest.raises(NotAllowed, match=r"SOP-AE_HANDLING version 1 .*T-6\.5-f"):
            crs_grade_3(world, course)
        assert not AdverseEvent.objects.exists()
        _train(world, version, "physician_wang")
        event = crs_grade_3(world, course)
        assert [u.version for u in selectors.sop_uses_for(event)] == [version]


class TestApheresis:
    def test_collection_refused_untrained_then_names_the_collection_sop_t_6_5_b(self, world: Any) -> None:
        """T-6.5-b, T-6.1: each apheresis record references the SOP version used."""
        now = clock.now().replace(microsecond=0)
        version = _sop_in_force(world, "apheresis", now)
        with clock.frozen(now):
            kit = JourneyKit(world, now)
            journey = kit.scheduled()
            kit.screened(journey)
            with pytest.raises(NotAllowed, match=r"SOP-APHERESIS version 1 .*T-6\.5-b"):
                journeys.collection_record(
                    actor=world["apheresis_sun"], journey=journey, data=kit.collection_input()
                )
            assert not Collection.objects.exists()
            assert Journey.objects.get(pk=journey.pk).status == Journey.Status.SCHEDULED
            _train(world, version, "apheresis_sun")
            collection = journeys.collection_record(
                actor=world["apheresis_sun"], journey=journey, data=kit.collection_input()
            )
        assert [u.version for u in selectors.sop_uses_for(collection)] == [version]
