"""Supplier register, CoA files, signed lot release, the issue gate and the lot recall list (issue 13 item 5).

Clauses: P-1.1-a (supplier qualification; a vector lot used only when released), P-1.1-b (CoA and documents,
QA release), Q-2.6-a (vector RCL/RCR before release), REGULATORY item 36 (lot -> batches -> patients), X-7
(pseudonym and COI only at the manufacturer).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cellchain.core.errors import AuthenticationRequired, Conflict, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.records import record_create
from cellchain.manufacturing import selectors, services
from cellchain.manufacturing.demo import released_lot
from cellchain.manufacturing.models import (
    MaterialCertificate,
    MaterialLot,
    ProductionArea,
    ProductUnit,
    Supplier,
)
from cellchain.signatures.models import Meaning, Signature

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% CoA for a test lot\n"


def client(mfg, username: str) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(mfg.world[username])
    return c


def new_supplier(mfg, code: str = "vec-cdmo", qualified: bool = True) -> Supplier:  # type: ignore[no-untyped-def]
    supplier = services.supplier_register(
        actor=mfg.qa, site=mfg.site, code=code, name=f"{code} Ltd", supplies="lentiviral vector"
    )
    if qualified:
        supplier = services.supplier_qualify(
            actor=mfg.qa,
            supplier=supplier,
            signer=mfg.signer("qa_li"),
            reason="on-site audit passed",
            requalify_by=mfg.now.date() + dt.timedelta(days=30),
            audit_reference="AUD-2026-07",
        )
    return supplier


def activation(mfg, batch=None):  # type: ignore[no-untyped-def]
    """A new batch in a unit of its own, its activation step started."""
    if batch is None:
        code = f"unit-m{ProductionArea.objects.count()}"
        area = services.area_create(
            actor=mfg.qa, site=mfg.site, code=code, name=code, mode=ProductionArea.Mode.UNIT_BASED
        )
        batch = mfg.start(mfg.intake(), area)
    return services.step_start(actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch))


def issue(mfg, step, lot):  # type: ignore[no-untyped-def]
    return services.material_use_record(actor=mfg.operator, step=step, lot=lot, quantity="1 mL")


class TestSupplierRegister:
    def test_a_new_supplier_is_not_yet_qualified_and_qualification_is_signed_p_1_1_a(self, mfg) -> None:
        """P-1.1-a: a supplier enters the register unqualified; QA qualifies it with reason, audit, date and an
        e-signature, all ledgered."""
        supplier = new_supplier(mfg, qualified=False)
        assert supplier.status == Supplier.Status.PENDING
        supplier = services.supplier_qualify(
            actor=mfg.qa,
            supplier=supplier,
            signer=mfg.signer("qa_li"),
            reason="audit passed",
            requalify_by=mfg.now.date() + dt.timedelta(days=365),
            audit_reference="AUD-1",
            conditional=True,
        )
        assert supplier.status == Supplier.Status.CONDITIONAL and supplier.audit_reference == "AUD-1"
        assert supplier.decided_by == mfg.qa and supplier.status_since == mfg.now.date()
        sig = Signature.objects.get(record_type=supplier.ledger_record_type(), record_id=str(supplier.pk))
        assert sig.meaning == Meaning.APPROVED
        events = LedgerEntry.objects.filter(
            record_type=supplier.ledger_record_type(), record_id=str(supplier.pk)
        ).values_list("event", flat=True)
        assert {"supplier:register", "supplier:qualify"} <= set(events)

    def test_qualification_needs_a_reason_an_audit_and_a_future_date_p_1_1_a(self, mfg) -> None:
        """P-1.1-a: no qualification without its grounds."""
        supplier = new_supplier(mfg, qualified=False)
        base = {"actor": mfg.qa, "supplier": supplier, "signer": mfg.signer("qa_li")}
        with pytest.raises(ValidationFailed, match="reason"):
            services.supplier_qualify(**base, reason=" ", requalify_by=mfg.now.date() + dt.timedelta(days=9))
        with pytest.raises(ValidationFailed, match="future"):
            services.supplier_qualify(**base, reason="ok", requalify_by=mfg.now.date(), audit_reference="A")
        with pytest.raises(ValidationFailed, match="audit"):
            services.supplier_qualify(**base, reason="ok", requalify_by=mfg.now.date() + dt.timedelta(days=9))
        supplier.refresh_from_db()
        assert supplier.status == Supplier.Status.PENDING

    def test_only_qa_decides_and_a_wrong_password_changes_nothing_p_1_1_a(self, mfg) -> None:
        """P-1.1-a: supplier decisions are QA's, e-signed."""
        from cellchain.core.errors import NotAllowed
        from cellchain.signatures.services import SignerCredentials

        supplier = new_supplier(mfg)
        with pytest.raises(NotAllowed):
            services.supplier_disqualify(
                actor=mfg.operator, supplier=supplier, signer=mfg.signer("operator_chen"), reason="x"
            )
        with pytest.raises(AuthenticationRequired):
            services.supplier_disqualify(
                actor=mfg.qa,
                supplier=supplier,
                signer=SignerCredentials(mfg.qa, "wrong"),
                reason="audit failed",
            )
        supplier.refresh_from_db()
        assert supplier.status == Supplier.Status.QUALIFIED


class TestLotReleaseAndIssue:
    def test_register_refuses_a_lot_marked_released_and_one_without_a_registered_supplier_p_1_1_b(
        self, mfg
    ) -> None:
        """P-1.1-b: `released` comes only from the signed release; P-1.1-a: the supplier comes from the register."""
        supplier = new_supplier(mfg)
        with pytest.raises(ValidationFailed, match="signed lot release"):
            services.material_lot_register(
                actor=mfg.qa, material="IL-2", lot="R1", released=True, registered_supplier=supplier
            )
        with pytest.raises(ValidationFailed, match="supplier register"):
            services.material_lot_register(actor=mfg.qa, material="IL-2", lot="R2", supplier="Free text Co")
        assert not MaterialLot.objects.filter(lot__in=["R1", "R2"]).exists()

    def test_release_needs_the_coa_and_its_signature_binds_the_coa_hash_p_1_1_b(self, mfg) -> None:
        """P-1.1-b: no release without the CoA on file; the release is an e-signature over the CoA's SHA-256."""
        supplier = new_supplier(mfg)
        lot = services.material_lot_register(
            actor=mfg.qa, material="IL-2", lot="C1", registered_supplier=supplier, documents_attached=True
        )
        with pytest.raises(Conflict, match=r"no certificate of analysis \(CoA\) on file \(P-1.1-b\)"):
            services.material_lot_release(actor=mfg.qa, lot=lot, signer=mfg.signer("qa_li"))
        coa = services.material_certificate_attach(actor=mfg.qa, lot=lot, name="coa.pdf", content=PDF)
        assert coa.sha256 == hashlib.sha256(PDF).hexdigest() and coa.content_type == "application/pdf"
        assert services.material_certificate_content(coa) == PDF
        lot = services.material_lot_release(actor=mfg.qa, lot=lot, signer=mfg.signer("qa_li"))
        assert lot.released and lot.released_by == mfg.qa and lot.released_coa_sha256 == coa.sha256
        sig = Signature.objects.get(record_type=lot.ledger_record_type(), record_id=str(lot.pk))
        assert sig.meaning == Meaning.RELEASED
        with pytest.raises(Conflict, match="cannot be replaced"):
            services.material_certificate_attach(actor=mfg.qa, lot=lot, name="other.pdf", content=PDF + b"x")
        assert MaterialCertificate.objects.filter(lot=lot).count() == 1

    def test_a_vector_lot_is_released_only_after_its_rcl_test_q_2_6_a(self, mfg) -> None:
        """Q-2.6-a, P-1.1-a: a vector lot without a passed RCL/RCR culture cannot be released."""
        supplier = new_supplier(mfg)
        with pytest.raises(Conflict, match=r"RCL/RCR culture test \(Q-2.6-a\)"):
            released_lot(
                mfg.qa,
                mfg.signer("qa_li"),
                registered_supplier=supplier,
                material="CD19 LV",
                lot="LV-1",
                documents_attached=True,
                is_vector=True,
            )
        assert not MaterialLot.objects.get(lot="LV-1").released

    def test_a_lot_of_an_unqualified_supplier_cannot_be_released_p_1_1_a(self, mfg) -> None:
        """P-1.1-a: QA cannot release a lot from a supplier that is not qualified."""
        supplier = new_supplier(mfg, qualified=False)
        with pytest.raises(Conflict, match=r"not yet qualified \(P-1.1-a\)"):
            released_lot(
                mfg.qa,
                mfg.signer("qa_li"),
                registered_supplier=supplier,
                material="IL-2",
                lot="P1",
                documents_attached=True,
            )

    def test_a_lot_of_a_disqualified_supplier_is_refused_at_issue_p_1_1_a(self, mfg) -> None:
        """P-1.1-a: a released lot is refused at issue once its supplier is disqualified; the refusal names the
        clause and nothing is issued."""
        supplier = new_supplier(mfg)
        lot = released_lot(
            mfg.qa,
            mfg.signer("qa_li"),
            registered_supplier=supplier,
            material="IL-2",
            lot="D1",
            documents_attached=True,
        )
        step = activation(mfg)
        issue(mfg, step, lot)
        services.supplier_disqualify(
            actor=mfg.qa,
            supplier=supplier,
            signer=mfg.signer("qa_li"),
            reason="audit found data integrity gaps",
        )
        with pytest.raises(Conflict, match=r"vec-cdmo is disqualified \(P-1.1-a\)"):
            issue(mfg, step, lot)
        assert step.material_uses.filter(lot=lot).count() == 1

    def test_a_lot_is_refused_at_issue_when_the_supplier_qualification_lapsed_p_1_1_a(self, mfg) -> None:
        """P-1.1-a: past the requalification date the supplier's lots are not issued."""
        supplier = new_supplier(mfg)
        lot = released_lot(
            mfg.qa,
            mfg.signer("qa_li"),
            registered_supplier=supplier,
            material="IL-2",
            lot="L1",
            documents_attached=True,
            expires_on=mfg.now.date() + dt.timedelta(days=90),
        )
        step = activation(mfg)
        mfg.advance(31 * 24)
        with pytest.raises(Conflict, match=r"requalification was due .* \(P-1.1-a\)"):
            issue(mfg, step, lot)

    def test_an_expired_or_unreleased_lot_is_refused_at_issue_p_1_1_b(self, mfg) -> None:
        """P-1.1-b: unreleased and expired lots are refused, the message naming the clause."""
        supplier = new_supplier(mfg)
        unreleased = services.material_lot_register(
            actor=mfg.qa, material="IL-2", lot="U1", registered_supplier=supplier, documents_attached=True
        )
        expiring = released_lot(
            mfg.qa,
            mfg.signer("qa_li"),
            registered_supplier=supplier,
            material="IL-2",
            lot="E1",
            documents_attached=True,
            expires_on=mfg.now.date() + dt.timedelta(days=1),
        )
        step = activation(mfg)
        with pytest.raises(Conflict, match=r"not released by QA \(P-1.1-b\).*no certificate of analysis"):
            issue(mfg, step, unreleased)
        mfg.advance(3 * 24)
        with pytest.raises(Conflict, match=r"past its expiry \(P-1.1-b\)"):
            issue(mfg, step, expiring)

    def test_a_lot_registered_before_the_register_is_refused_until_linked_p_1_1_a(self, mfg) -> None:
        """Decision 0029, P-1.1-a: an older lot with a free-text supplier only is refused at issue until QA links
        it to a register entry."""
        legacy = record_create(
            actor=mfg.qa,
            record=MaterialLot(material="Medium", lot="OLD-1", supplier="Old Co", documents_attached=True),
            event="lot:register",
        )
        services.material_certificate_attach(actor=mfg.qa, lot=legacy, name="coa.pdf", content=PDF)
        with pytest.raises(Conflict, match=r"not in the supplier register \(P-1.1-a\)"):
            services.material_lot_release(actor=mfg.qa, lot=legacy, signer=mfg.signer("qa_li"))
        supplier = new_supplier(mfg, code="old-co")
        services.material_lot_supplier_link(
            actor=mfg.qa, lot=legacy, supplier=supplier, reason="register entry"
        )
        legacy = services.material_lot_release(actor=mfg.qa, lot=legacy, signer=mfg.signer("qa_li"))
        issue(mfg, activation(mfg), legacy)
        assert legacy.supplier == "Old Co" and legacy.registered_supplier == supplier


class TestRecall:
    """REGULATORY item 36 (lot -> patients), P-1.1-a (vector lot records), X-7 (pseudonymous)."""

    def test_a_mock_vector_lot_recall_returns_exactly_the_exposed_patients_item_36(self, mfg) -> None:
        """REGULATORY item 36: the beads went to two batches, the vector lot to one; each recall list names exactly
        the batches, COIs and pseudonyms it touched, with unit states."""
        from cellchain.journeys.models import Journey

        vector = released_lot(
            mfg.qa,
            mfg.signer("qa_li"),
            registered_supplier=new_supplier(mfg),
            material="CD19 LV",
            lot="LV-9",
            documents_attached=True,
            is_vector=True,
            rcl_culture_passed=True,
        )
        filled = mfg.manufactured()
        units = list(filled.units.filter(purpose=ProductUnit.Purpose.PATIENT).order_by("din"))
        services.product_unit_status_set(
            actor=mfg.qa,
            unit=units[0],
            status=ProductUnit.Status.INFUSED,
            reason="infused",
            infused_at=mfg.now,
        )
        other_step = activation(mfg)
        issue(mfg, other_step, mfg.beads)
        issue(mfg, other_step, vector)
        other = other_step.batch

        beads = selectors.lot_recall(mfg.qa, mfg.beads)
        assert {r.batch.number for r in beads} == {filled.number, other.number}
        exposed = [r for r in beads if r.exposed]
        assert [r.batch.number for r in exposed] == [filled.number]
        row = exposed[0]
        journey = Journey.objects.get(coi=filled.intake.coi)
        assert (row.coi, row.pseudonym) == (journey.coi, journey.pseudonym)
        assert {(u.din, u.status) for u in row.units} >= {(units[0].din, "infused")}

        vector_rows = selectors.lot_recall(mfg.qa, vector)
        assert [(r.batch.number, r.coi) for r in vector_rows] == [(other.number, other.intake.coi)]
        assert not vector_rows[0].exposed and vector_rows[0].steps == ("activation",)

    def test_the_recall_query_count_does_not_grow_with_batches_item_36(self, mfg) -> None:
        """REGULATORY item 36: three queries for the recall list, with one batch or three."""
        issue(mfg, activation(mfg), mfg.beads)
        with CaptureQueriesContext(connection) as one:
            assert len(selectors.lot_recall(mfg.qa, mfg.beads)) == 1
        issue(mfg, activation(mfg), mfg.beads)
        issue(mfg, activation(mfg), mfg.beads)
        with CaptureQueriesContext(connection) as three:
            rows = selectors.lot_recall(mfg.qa, mfg.beads)
            assert len(rows) == 3 and all(r.pseudonym for r in rows)
        assert len(one) == len(three) == 3

    def test_another_organisation_sees_no_batch_in_the_recall_list_x_7(self, mfg) -> None:
        """X-7, item 36: the recall list is the manufacturer's; a hospital user's organisation has no batch."""
        issue(mfg, activation(mfg), mfg.beads)
        assert selectors.lot_recall(mfg.world["physician_wang"], mfg.beads) == []


class TestPages:
    def test_qa_registers_qualifies_and_disqualifies_a_supplier_through_the_pages_p_1_1_a(self, mfg) -> None:
        """P-1.1-a: supplier list and detail, the signed decisions through the forms."""
        qa = client(mfg, "qa_li")
        page = qa.post(
            "/manufacturing/suppliers/", {"code": "media-co", "name": "Media Co", "supplies": "X-VIVO 15"}
        )
        supplier = Supplier.objects.get(code="media-co")
        assert page.status_code == 302 and supplier.status == "pending"
        qa.post(
            f"/manufacturing/suppliers/{supplier.pk}/qualify/",
            {
                "reason": "questionnaire and CoA review",
                "requalify_by": (mfg.now.date() + dt.timedelta(days=200)).isoformat(),
                "audit_reference": "Q-77",
                "password": mfg.password,
            },
        )
        supplier.refresh_from_db()
        assert supplier.status == "qualified"
        detail = qa.get(f"/manufacturing/suppliers/{supplier.pk}/").content.decode()
        assert "Q-77" in detail and "Sign the disqualification" in detail
        qa.post(
            f"/manufacturing/suppliers/{supplier.pk}/disqualify/", {"reason": "", "password": mfg.password}
        )
        supplier.refresh_from_db()
        assert supplier.status == "qualified"  # no reason, nothing changed
        qa.post(
            f"/manufacturing/suppliers/{supplier.pk}/disqualify/",
            {"reason": "recall", "password": mfg.password},
        )
        supplier.refresh_from_db()
        assert supplier.status == "disqualified"
        listing = client(mfg, "operator_chen").get("/manufacturing/suppliers/").content.decode()
        assert "media-co" in listing and "Register a supplier" not in listing

    def test_qa_registers_a_lot_uploads_its_coa_and_releases_it_through_the_pages_p_1_1_b(self, mfg) -> None:
        """P-1.1-b: lot list with CoA upload and signed release; htmx filters the table in place."""
        from django.core.files.uploadedfile import SimpleUploadedFile

        qa = client(mfg, "qa_li")
        qa.post(
            "/manufacturing/lots/",
            {
                "material": "IL-2",
                "lot": "W1",
                "registered_supplier": mfg.supplier.pk,
                "expires_on": (mfg.now.date() + dt.timedelta(days=60)).isoformat(),
                "documents_attached": "on",
            },
        )
        lot = MaterialLot.objects.get(lot="W1")
        page = qa.get("/manufacturing/lots/").content.decode()
        assert "no certificate of analysis" in page and "Upload CoA" in page
        qa.post(f"/manufacturing/lots/{lot.pk}/coa/", {"coa": SimpleUploadedFile("coa-w1.pdf", PDF)})
        assert selectors.lot_certificate(lot).sha256 == hashlib.sha256(PDF).hexdigest()
        download = qa.get(f"/manufacturing/lots/{lot.pk}/coa/file/")
        assert download.content == PDF and download["X-Content-SHA256"] == hashlib.sha256(PDF).hexdigest()
        qa.post(f"/manufacturing/lots/{lot.pk}/release/", {"password": mfg.password})
        lot.refresh_from_db()
        assert lot.released and lot.released_coa_sha256 == hashlib.sha256(PDF).hexdigest()
        swap = qa.get("/manufacturing/lots/?show=unreleased", HTTP_HX_REQUEST="true").content.decode()
        assert swap.lstrip().startswith('<table id="lot-table">') and "W1" not in swap
        assert client(mfg, "operator_chen").post(f"/manufacturing/lots/{lot.pk}/release/").status_code == 403

    def test_the_recall_page_and_csv_show_coi_and_pseudonym_only_item_36(self, mfg) -> None:
        """REGULATORY item 36, X-7: the recall page and its CSV list batch, COI, pseudonym and unit states."""
        from cellchain.journeys.models import Journey

        step = activation(mfg)
        issue(mfg, step, mfg.beads)
        journey = Journey.objects.get(coi=step.batch.intake.coi)
        auditor = client(mfg, "qa_li")
        page = auditor.get(f"/manufacturing/lots/{mfg.beads.pk}/recall/").content.decode()
        assert step.batch.number in page and journey.pseudonym in page and journey.coi in page
        csv = auditor.get(f"/manufacturing/lots/{mfg.beads.pk}/recall.csv")
        text = csv.content.decode("utf-8-sig")
        header, line = text.splitlines()[:2]
        assert header == ",".join(selectors.RECALL_CSV_HEADER)
        assert f"{step.batch.number}," in line and journey.pseudonym in line and journey.coi in line
        assert csv["X-Content-SHA256"] == hashlib.sha256(csv.content).hexdigest()
