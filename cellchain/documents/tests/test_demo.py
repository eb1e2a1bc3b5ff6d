"""The documents demo: one SOP per governed step at Union Hospital in force, its users trained, one policy
overdue for review; loading twice changes nothing (issue 13 item 1; T-6.1, T-6.4, T-6.5-b/d/e/f)."""

from __future__ import annotations

import pytest
from django.db import transaction

from cellchain.accounts.world import build_world
from cellchain.core import clock
from cellchain.documents import demo, selectors, services
from cellchain.documents.models import ControlledDocument, TrainingRecord


@pytest.mark.django_db
def test_demo_sops_are_in_force_and_the_users_trained_t_6_1() -> None:
    for _ in range(2):
        with transaction.atomic():
            demo.load(build_world())
    world = build_world()
    site = world.sites["xiehe-main"]
    today = clock.today(site.time_zone)
    assert ControlledDocument.objects.count() == 5
    for _code, _title, step in demo.SOPS:
        version = services.training_gate(world["nurse_wang"], step, site, today)
        assert version is not None and version.document.step == step
    assert TrainingRecord.objects.filter(person=world["auditor_xiehe"]).count() == 0
    overdue = selectors.register(world["coordinator_zhou"], today, overdue_only=True)
    assert [r.document.code for r in overdue] == [demo.POLICY[0]]
