"""QC pages and API: release through the forms, certificate and label outputs, the package the clinic reads,
isolation between organisations (Q-2-b, T-7.4, T-7.5-b, X-7; REGULATORY items 5, 15, 21)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cellchain.manufacturing.models import Batch
from cellchain.qc import services

pytestmark = pytest.mark.django_db


def client(mfg, username: str) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(mfg.world[username])
    return c


def test_release_page_lists_each_test_and_what_blocks_release(mfg) -> None:
    batch = mfg.manufactured()
    mfg.results(batch)
    html = client(mfg, "qa_li").get(f"/qc/batches/{batch.pk}/").content.decode()
    assert "Not releasable" in html and "the audit trail has not been reviewed" in html
    assert 'data-test="vcn"' in html and "≤ 5 copies/cell" in html


def test_analyst_enters_a_result_with_the_form_and_an_oos_opens(mfg) -> None:
    batch = mfg.manufactured()
    response = client(mfg, "qc_zhang").post(
        f"/qc/batches/{batch.pk}/results/", {"item_code": "vcn", "value": "6.1"}, follow=True
    )
    assert "OOS investigation" in response.content.decode()


def test_qa_releases_through_the_form_and_the_label_then_prints(mfg) -> None:
    batch = mfg.ready_for_release(mfg.manufactured())
    qa = client(mfg, "qa_li")
    label = qa.get(f"/qc/batches/{batch.pk}/label/").content.decode()
    assert "Printing is blocked" in label and "label.released_at" in label
    assert qa.get(f"/qc/batches/{batch.pk}/label/?format=pdf").status_code == 302
    qa.post(f"/qc/batches/{batch.pk}/release/", {"password": mfg.password, "outcome": "releasable"})
    batch.refresh_from_db()
    assert batch.status == Batch.Status.RELEASED
    pdf = qa.get(f"/qc/batches/{batch.pk}/label/?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    coa = qa.get(f"/qc/batches/{batch.pk}/certificate.pdf")
    assert coa["Content-Type"] == "application/pdf" and coa.content.startswith(b"%PDF")


def test_analyst_cannot_release(mfg) -> None:
    batch = mfg.ready_for_release(mfg.manufactured())
    response = client(mfg, "qc_zhang").post(
        f"/qc/batches/{batch.pk}/release/", {"password": mfg.password, "outcome": "releasable"}
    )
    assert response.status_code == 403


def test_issued_package_is_readable_by_the_clinic_and_not_by_another_hospital(mfg) -> None:
    batch = mfg.ready_for_release(mfg.manufactured())
    services.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
    issue = services.package_issue(actor=mfg.qa, batch=batch)
    page = client(mfg, "physician_wang").get(f"/qc/packages/{issue.pk}/")
    assert page.status_code == 200 and batch.number in page.content.decode()
    assert client(mfg, "physician_chen").get(f"/qc/packages/{issue.pk}/").status_code == 404
    api = client(mfg, "pharmacist_liu").get(f"/api/qc/packages/{issue.pk}").json()
    assert api["content"]["label"]["batch_number"] == batch.number


def test_api_evaluation_and_release_with_a_wrong_password(mfg) -> None:
    batch = mfg.ready_for_release(mfg.manufactured())
    qa = client(mfg, "qa_li")
    evaluation = qa.get(f"/api/qc/batches/{batch.pk}/evaluation").json()
    assert evaluation["outcome"] == "releasable" and len(evaluation["verdicts"]) == 17
    refused = qa.post(
        f"/api/qc/batches/{batch.pk}/release",
        data=json.dumps({"outcome": "releasable", "password": "wrong"}),
        content_type="application/json",
    )
    assert refused.status_code == 401
    done = qa.post(
        f"/api/qc/batches/{batch.pk}/release",
        data=json.dumps({"outcome": "releasable", "password": mfg.password}),
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["outcome"] == "releasable"


def test_api_result_entry_opens_oos(mfg) -> None:
    batch = mfg.manufactured()
    response = client(mfg, "qc_zhang").post(
        f"/api/qc/batches/{batch.pk}/results",
        data=json.dumps({"item_code": "endotoxin", "value": "0.9"}),
        content_type="application/json",
    )
    body = response.json()
    assert response.status_code == 200 and body["verdict"] == "does_not_conform" and body["investigation"]


def test_corrected_result_is_marked_on_the_certificate(mfg) -> None:
    from cellchain.qc import selectors
    from cellchain.qc.models import QcResult

    batch = mfg.ready_for_release(mfg.manufactured())
    row = QcResult.objects.get(batch=batch, item_code="ph", is_current=True)
    analyst = client(mfg, "qc_zhang")
    analyst.post(f"/qc/results/{row.pk}/amend/", {"value": "7.2", "reason": "transcription error"})
    line = next(line for line in selectors.certificate_for(batch).lines if line.code == "ph")
    assert line.amended and line.result == "7.2"
    sample = analyst.post(
        f"/qc/batches/{batch.pk}/samples/", {"sampling_point": "final product bag"}, follow=True
    )
    assert f"{batch.number}-S01" in sample.content.decode()


def test_release_page_shows_the_label_reconciliation_and_the_form_refuses_an_unbalanced_batch(mfg) -> None:
    """FACT-JACIE CM7.2.2.1: the outstanding label is named on the page and in the refusal."""
    from cellchain.journeys import services as js
    from cellchain.journeys.models import Unit

    batch = mfg.ready_for_release(mfg.manufactured())
    qa = client(mfg, "qa_li")
    html = qa.get(f"/qc/batches/{batch.pk}/").content.decode()
    assert 'id="label-reconciliation"' in html and "balanced" in html and "does not balance" not in html
    unit = Unit.objects.get(din=batch.intake.din)
    js.label_print(actor=mfg.world["apheresis_sun"], unit=unit, reprint_reason="spare")
    html = qa.get(f"/qc/batches/{batch.pk}/").content.decode()
    assert "does not balance" in html and f"<code>{unit.din}#2</code>" in html
    response = qa.post(
        f"/qc/batches/{batch.pk}/release/", {"password": mfg.password, "outcome": "releasable"}, follow=True
    )
    assert "CM7.2.2.1" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == Batch.Status.AWAITING_RELEASE
    zh = client(mfg, "qa_li")
    assert "标签核对" in zh.get(f"/qc/batches/{batch.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
