"""The study-records demo: a report draft and a checklist with a missing item, written once (issue 14 item 7)."""

from __future__ import annotations

from typing import Any

import pytest

from cellchain.clinic import samples
from cellchain.studies import demo, selectors
from cellchain.studies.models import SourceDocumentTick, StatisticalReport
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def test_demo_writes_a_draft_and_a_checklist_with_a_missing_item_once(world: Any) -> None:
    product = samples.product(world["physician_wang"], world.organisations["shenghe"])
    samples.site_ready(world["physician_wang"], world.sites["xiehe-main"], product, PERSONA_PASSWORD)
    course = samples.course(
        world["coordinator_zhou"], world.sites["xiehe-main"], product, 9, physician=world["physician_wang"]
    )
    demo.load(world)
    demo.load(world)
    report = StatisticalReport.objects.get()
    assert report.state == StatisticalReport.State.DRAFT and report.main_operator == world["physician_wang"]
    assert SourceDocumentTick.objects.count() == 2
    states = {s.document.value: s for s in selectors.checklists([course])[course.pk]}
    assert states["diary_card"].present and not states["sample_transport"].present
