"""The CAPA demo: a deviation with CAPA in progress and an approved change request; loading twice changes
nothing (issue 13 item 4)."""

from __future__ import annotations

import pytest
from django.db import transaction

from cellchain.accounts.world import build_world
from cellchain.capa import demo, selectors
from cellchain.capa.models import CapaAction, ChangeRequest
from cellchain.core import clock
from cellchain.domain.capa import closure_gate
from cellchain.quality.models import Deviation


@pytest.mark.django_db
def test_demo_has_a_deviation_with_capa_in_progress_and_an_approved_change() -> None:
    for _ in range(2):
        with transaction.atomic():
            demo.load(build_world())
    deviation = Deviation.objects.get(title=demo.DEVIATION_TITLE)
    actions = list(CapaAction.objects.filter(deviation=deviation))
    assert sorted(a.status for a in actions) == ["done", "open"]
    qa = build_world()["qa_li"]
    (late,) = selectors.overdue_actions(qa, clock.today(deviation.site.time_zone))
    assert late.kind == "preventive"
    gate = closure_gate(selectors.deviation_facts(deviation))
    assert gate.checks == ("actions_open", "check_missing")
    change = ChangeRequest.objects.get(title=demo.CHANGE_TITLE)
    assert change.status == "approved" and change.affected_versions.count() == 1
