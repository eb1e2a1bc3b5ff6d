"""A suspended or terminated journey's product is not infused (T-6.4-h)."""

from __future__ import annotations

import pytest

from cellchain.clinic import services
from cellchain.clinic.models import Infusion
from cellchain.clinic.tests.conftest import INFUSION
from cellchain.core.errors import Conflict
from cellchain.journeys.tests.holding import hold, journey_of_coi

pytestmark = pytest.mark.django_db


def test_T_6_4_h_infusion_refused_while_the_journey_is_suspended(world, course, verified_check) -> None:
    hold(world, journey_of_coi(world, course.coi))
    with pytest.raises(Conflict, match=r"is suspended.*infusion is refused while it stands \(T-6\.4-h\)"):
        services.infusion_start(actor=world["nurse_wang"], course=course, check=verified_check, **INFUSION)
    assert not Infusion.objects.exists()


def test_T_6_4_h_infusion_goes_ahead_without_a_hold(world, course, verified_check) -> None:
    journey_of_coi(world, course.coi)
    infusion = services.infusion_start(
        actor=world["nurse_wang"], course=course, check=verified_check, **INFUSION
    )
    assert infusion.pk
