"""The backup restore-test log (issue 13 item 9; T-10.2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from cellchain.core import clock
from cellchain.core.errors import NotAllowed, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.records import services
from cellchain.records.models import RestoreTest

pytestmark = pytest.mark.django_db
SHA = "a" * 64


def _data(**over: Any) -> dict[str, Any]:
    today = clock.today("Asia/Shanghai")
    return {
        "backup_name": "cellchain-2026-12-01.sqlite3",
        "backup_sha256": SHA,
        "tree_size": 1234,
        "root_hash": "b" * 64,
        "outcome": "passed",
        "tested_on": today,
        **over,
    }


def test_t10_2_restore_test_is_logged_and_ledgered(world: Any) -> None:
    test = services.restore_test_record(actor=world["admin_shenghe"], **_data())
    assert test.outcome == "passed" and test.tested_by == world["admin_shenghe"]
    assert LedgerEntry.objects.filter(event="restoretest:record", record_id=str(test.pk)).exists()


def test_t10_2_failed_test_needs_a_note_and_hashes_are_checked(world: Any) -> None:
    actor = world["qa_li"]
    with pytest.raises(ValidationFailed, match=r"T-10\.2") as refused:
        services.restore_test_record(actor=actor, **_data(outcome="failed"))
    assert refused.value.field == "note"
    with pytest.raises(ValidationFailed) as refused:
        services.restore_test_record(actor=actor, **_data(backup_sha256="xyz"))
    assert refused.value.field == "backup_sha256"
    with pytest.raises(ValidationFailed) as refused:
        services.restore_test_record(
            actor=actor, **_data(tested_on=clock.today("UTC") + dt.timedelta(days=3))
        )
    assert refused.value.field == "tested_on"
    assert not RestoreTest.objects.exists()


def test_t10_2_only_qa_or_site_admin_logs(world: Any) -> None:
    with pytest.raises(NotAllowed, match=r"T-10\.2"):
        services.restore_test_record(actor=world["nurse_wang"], **_data())


def test_t10_2_page_says_a_test_is_due_until_one_passed(client_for: Any) -> None:
    client = client_for("qa_li")
    assert (
        "No restore of a backup has been tested"
        in client.get(reverse("records:restore_tests")).content.decode()
    )
    data = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in _data().items()}
    response = client.post(reverse("records:restore_tests"), {**data, "note": ""})
    assert response.status_code == 302
    html = client.get(reverse("records:restore_tests")).content.decode()
    assert 'data-outcome="passed"' in html and "No restore of a backup has been tested" not in html


def test_t10_2_auditor_reads_but_cannot_post(client_for: Any) -> None:
    client = client_for("auditor_shenghe")
    assert client.get(reverse("records:restore_tests")).status_code == 200
    assert client.post(reverse("records:restore_tests"), _data()).status_code == 403
