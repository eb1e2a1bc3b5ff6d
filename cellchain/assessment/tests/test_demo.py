"""The demo answers load once, through the services, and the ledger replays to them (issue 14 item 2)."""

from __future__ import annotations

from typing import Any

import pytest

from cellchain.assessment import demo
from cellchain.assessment.models import AssessmentAnswer
from cellchain.ledger.verify import verify_ledger
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def test_demo_is_idempotent_and_ledgered(world: Any) -> None:
    demo.load(world, password=PERSONA_PASSWORD)
    demo.load(world, password=PERSONA_PASSWORD)
    assert AssessmentAnswer.objects.count() == len(demo.ANSWERS)
    assert set(AssessmentAnswer.objects.values_list("answer", flat=True)) == {"yes", "no", "na"}
    assert AssessmentAnswer.objects.get(item_code="G-6-a").suggested == "no"
    report = verify_ledger()
    assert report.ok, report.lines()
