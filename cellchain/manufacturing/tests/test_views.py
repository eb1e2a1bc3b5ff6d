"""Manufacturing pages and API: what each role sees, the batch record driven through the forms, htmx swaps,
organisation isolation, pinned query counts (STYLE habits 5 and 7; X-7)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cellchain.manufacturing.models import BatchStep, ParameterEntry

pytestmark = pytest.mark.django_db


def client(mfg, username: str) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(mfg.world[username])
    return c


def test_operator_starts_a_step_and_enters_a_parameter_through_the_pages(mfg) -> None:
    batch = mfg.start(mfg.intake())
    operator = client(mfg, "operator_chen")
    page = operator.get(f"/manufacturing/batches/{batch.pk}/")
    assert page.status_code == 200 and 'id="start-activation"' in page.content.decode()
    operator.post(
        f"/manufacturing/batches/{batch.pk}/steps/start/", {"step": "activation", "scan": mfg.scan(batch)}
    )
    step = BatchStep.objects.get(batch=batch, code="activation")
    swap = operator.post(
        f"/manufacturing/steps/{step.pk}/parameter/",
        {"code": "bead_ratio", "value": "4.2"},
        HTTP_HX_REQUEST="true",
    )
    html = swap.content.decode()
    assert swap.status_code == 200 and html.lstrip().startswith('<div id="steps">')
    assert "deviation" in html.lower() and ParameterEntry.objects.get(step=step).outcome == "out_of_range"


def test_wrong_bag_scan_on_the_page_shows_the_refusal(mfg) -> None:
    batch, other = mfg.start(mfg.intake()), mfg.intake()
    operator = client(mfg, "operator_chen")
    response = operator.post(
        f"/manufacturing/batches/{batch.pk}/steps/start/",
        {"step": "activation", "scan": mfg.scan(other)},
        follow=True,
    )
    assert "Wrong unit" in response.content.decode()
    assert not batch.steps.exists()


def test_hospital_auditor_sees_no_manufacturer_batch(mfg) -> None:
    batch = mfg.start(mfg.intake())
    auditor = client(mfg, "auditor_xiehe")
    assert batch.number not in auditor.get("/manufacturing/").content.decode()
    assert auditor.get(f"/manufacturing/batches/{batch.pk}/").status_code == 404
    assert auditor.get("/api/manufacturing/batches").json() == []


def test_hospital_physician_cannot_open_the_batch_record(mfg) -> None:
    batch = mfg.start(mfg.intake())
    assert client(mfg, "physician_wang").get(f"/manufacturing/batches/{batch.pk}/").status_code == 403


def test_version_page_shows_the_approval_signature(mfg) -> None:
    html = client(mfg, "qa_li").get(f"/manufacturing/versions/{mfg.version.pk}/").content.decode()
    assert "李娜 Li Na" in html and "CPP" in html


def test_line_clearance_form_needs_two_people(mfg) -> None:
    operator = client(mfg, "operator_chen")
    response = operator.post(
        f"/manufacturing/areas/{mfg.unit_area.pk}/clearance/",
        {"password": mfg.password, "verifier_username": "operator_chen", "verifier_password": mfg.password},
        follow=True,
    )
    assert "two different people" in response.content.decode()
    assert not mfg.unit_area.clearances.exists()


def test_api_lists_batches_and_records_a_parameter(mfg) -> None:
    batch = mfg.start(mfg.intake())
    step = mfg.step(batch, "activation", mfg.STEPS[0][1], 30)
    operator = client(mfg, "operator_chen")
    detail = operator.get(f"/api/manufacturing/batches/{batch.pk}").json()
    assert detail["steps"][0]["code"] == "activation" and detail["coi"] == batch.intake.coi
    refused = operator.post(
        f"/api/manufacturing/steps/{step.pk}/parameters",
        data=json.dumps({"code": "bead_ratio", "value": "3"}),
        content_type="application/json",
    )
    assert refused.status_code == 409 and "completed" in refused.json()["message"]


def _queries(c: Client, *paths: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        for path in paths:
            assert c.get(path).status_code == 200
    return len(captured.captured_queries)


def test_batch_list_query_count_does_not_grow_with_batches(mfg) -> None:
    mfg.start(mfg.intake(), mfg.rooms[0])
    qa = client(mfg, "qa_li")
    paths = ("/manufacturing/", "/api/manufacturing/batches", "/qc/")
    _queries(qa, *paths)
    with_one = _queries(qa, *paths)
    for _ in range(3):
        mfg.start(mfg.intake(), mfg.rooms[0])
    assert _queries(qa, *paths) == with_one <= 30
