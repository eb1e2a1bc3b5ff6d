"""A dossier is built in the background with progress, holds a PDF and a subset bundle that `cellchain-verify`
accepts, and a manifest; the whole audit trail likewise (issue 14 item 6; T-7.1, T-6.3, X-7)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from cellchain.core.errors import NotAllowed, NotFound, ValidationFailed
from cellchain.dossiers import jobs
from cellchain.dossiers.models import DossierExport
from cellchain.dossiers.services import dossier_export_request
from cellchain.dossiers.tests.conftest import pdf_text, subset_of, zip_of
from cellchain.ledger.models import LedgerEntry
from cellchain.verifier.cli import EXIT_FAILED, EXIT_OK
from cellchain.verifier.cli import main as verify_main


def _verify(tmp_path: Path, data: bytes | dict[str, Any], name: str = "bundle.json") -> int:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return verify_main([str(path)])


def _built(actor: Any, kind: str, subject: str = "") -> DossierExport:
    export = dossier_export_request(actor=actor, kind=kind, subject=subject)
    assert export.status == DossierExport.Status.QUEUED
    built = jobs.dossier_export_execute(export.pk)
    assert built is not None and built.status == DossierExport.Status.DONE, built and built.error
    return built


class TestBatchDossier:
    def test_the_zip_holds_pdf_bundle_readme_and_a_manifest_of_their_hashes(
        self, released_batch: Any, world: Any
    ) -> None:
        export = _built(world["qa_li"], "batch", released_batch.number)
        archive = zip_of(export)
        assert sorted(archive.namelist()) == [
            "MANIFEST.sha256",
            "README.txt",
            "dossier.pdf",
            "ledger-subset.json",
        ]
        manifest = dict(
            reversed(line.split("  ")) for line in archive.read("MANIFEST.sha256").decode().splitlines()
        )
        assert set(manifest) == {"README.txt", "dossier.pdf", "ledger-subset.json"}
        for name, digest in manifest.items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest
        file_hash = hashlib.sha256(jobs.export_path(export).read_bytes()).hexdigest()
        assert export.file_sha256 == file_hash and export.file_size == jobs.export_path(export).stat().st_size

    def test_the_bundle_holds_exactly_the_batchs_records_and_verifies(
        self, released_batch: Any, world: Any, tmp_path: Path
    ) -> None:
        export = _built(world["qa_li"], "batch", released_batch.number)
        bundle = subset_of(export)
        kinds = {record["type"] for record in bundle["records"]}
        assert {
            "manufacturing.batch",
            "manufacturing.batchstep",
            "manufacturing.parameterentry",
            "qc.qcresult",
            "qc.releasedecision",
            "signatures.signature",
        } <= kinds
        batch_ids = {r["id"] for r in bundle["records"] if r["type"] == "manufacturing.batch"}
        assert batch_ids == {str(released_batch.pk)}
        listed = {(r["type"], r["id"]) for r in bundle["records"]}
        for item in bundle["entries"]:
            entry = json.loads(base64.b64decode(item["entry"]))
            assert (entry["record"]["type"], entry["record"]["id"]) in listed
        expected = LedgerEntry.objects.filter(
            record_type="qc.qcresult",
            record_id__in=[r["id"] for r in bundle["records"] if r["type"] == "qc.qcresult"],
        ).count()
        assert sum(len(r["seqs"]) for r in bundle["records"] if r["type"] == "qc.qcresult") == expected
        assert export.records == len(bundle["records"]) - 1 and export.entries == len(bundle["entries"])
        assert _verify(tmp_path, zip_of(export).read("ledger-subset.json")) == EXIT_OK

    def test_a_changed_entry_in_the_dossier_fails_the_verifier(
        self, released_batch: Any, world: Any, tmp_path: Path
    ) -> None:
        import base64

        bundle = subset_of(_built(world["qa_li"], "batch", released_batch.number))
        item = next(
            i for i in bundle["entries"] if b'"manufacturing.parameterentry"' in base64.b64decode(i["entry"])
        )
        entry = json.loads(base64.b64decode(item["entry"]))
        entry["state"]["value"] = "999"
        item["entry"] = base64.b64encode(json.dumps(entry, separators=(",", ":")).encode()).decode()
        assert _verify(tmp_path, bundle) == EXIT_FAILED

    def test_the_pdf_is_bilingual_and_names_batch_results_release_and_bundle_hash(
        self, released_batch: Any, world: Any
    ) -> None:
        export = _built(world["qa_li"], "batch", released_batch.number)
        archive = zip_of(export)
        text = pdf_text(archive.read("dossier.pdf"))
        assert "批记录档案" in text and "Batch dossier" in text and released_batch.number in text
        assert "质量检验" in text and "viability" in text and "放行" in text and "releasable" in text
        bundle_hash = hashlib.sha256(archive.read("ledger-subset.json")).hexdigest()
        assert bundle_hash in text.replace("\n", "").replace(" ", "").replace("\r", "")

    def test_progress_is_written_while_it_runs(
        self, released_batch: Any, world: Any, client_for: Any
    ) -> None:
        export = dossier_export_request(actor=world["qa_li"], kind="batch", subject=released_batch.number)
        client = client_for("qa_li")
        seen: list[Any] = []
        real = jobs._Progress.__call__

        def watch(self: Any, phase: str, done: int, total: int) -> None:
            real(self, phase, done, total)
            seen.append((phase, done, total))
            if phase == "proofs" and len(seen) < 20:
                page = client.get(f"/dossiers/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
                seen.append(page)

        with (
            mock.patch.object(jobs, "PROGRESS_EVERY_S", 0),
            mock.patch.object(jobs._Progress, "__call__", watch),
        ):
            jobs.dossier_export_execute(export.pk)
        phases = [item[0] for item in seen if isinstance(item, tuple)]
        assert phases[0] == "records" and {"entries", "proofs", "pdf"} <= set(phases)
        page = next(item for item in seen if isinstance(item, str))
        assert "is being built" in page and "proofs: " in page and 'hx-trigger="every 1s"' in page
        export.refresh_from_db()
        assert export.status == "done" and export.phase == "pdf"

    def test_request_start_and_end_are_in_the_ledger(self, released_batch: Any, world: Any) -> None:
        export = _built(world["qa_li"], "batch", released_batch.number)
        events = list(
            LedgerEntry.objects.filter(record_type="dossiers.dossierexport", record_id=str(export.pk))
            .order_by("seq")
            .values_list("event", flat=True)
        )
        assert events == ["dossier:request:batch", "dossier:start", "dossier:complete"]
        last = json.loads(
            bytes(
                LedgerEntry.objects.filter(record_type="dossiers.dossierexport").order_by("-seq")[0].canonical
            )
        )
        assert last["state"]["file_sha256"] == export.file_sha256 and "done" not in last["state"]

    def test_the_ledger_still_verifies_after_exports_with_their_progress(
        self, released_batch: Any, world: Any
    ) -> None:
        """Progress columns are written outside the ledger; every ledgered column still equals the last entry."""
        from cellchain.ledger.verify import verify_ledger

        _built(world["qa_li"], "batch", released_batch.number)
        _built(world["auditor_shenghe"], "audit_trail")
        report = verify_ledger()
        assert report.ok, report.findings[:3]

    def test_a_second_request_while_queued_joins_it(self, released_batch: Any, world: Any) -> None:
        first = dossier_export_request(actor=world["qa_li"], kind="batch", subject=released_batch.number)
        again = dossier_export_request(
            actor=world["auditor_shenghe"], kind="batch", subject=released_batch.number
        )
        assert again.pk == first.pk and DossierExport.objects.count() == 1

    def test_a_failure_is_recorded_with_its_reason(self, released_batch: Any, world: Any) -> None:
        export = dossier_export_request(actor=world["qa_li"], kind="batch", subject=released_batch.number)
        with mock.patch.object(jobs.selectors, "batch_content", side_effect=RuntimeError("disk on fire")):
            failed = jobs.dossier_export_execute(export.pk)
        assert failed is not None and failed.status == "failed" and "disk on fire" in failed.error
        assert not list(jobs.export_dir().glob(f"{export.pk}-*"))
        assert jobs.dossier_export_execute(export.pk) is None  # not queued any more

    def test_the_command_builds_the_queued_exports(self, released_batch: Any, world: Any) -> None:
        import io

        from django.core.management import call_command

        export = dossier_export_request(actor=world["qa_li"], kind="batch", subject=released_batch.number)
        out = io.StringIO()
        call_command("dossier", "run", stdout=out)
        export.refresh_from_db()
        assert (
            export.status == "done"
            and f"export {export.pk} (batch {released_batch.number}): done" in out.getvalue()
        )


class TestWhoGetsWhat:
    def test_a_batch_is_for_its_manufacturer_only(self, released_batch: Any, world: Any) -> None:
        with pytest.raises(NotFound):
            dossier_export_request(actor=world["auditor_xiehe"], kind="batch", subject=released_batch.number)

    def test_roles_without_the_grant_are_refused(self, released_batch: Any, world: Any) -> None:
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            dossier_export_request(actor=world["operator_chen"], kind="batch", subject=released_batch.number)

    def test_bad_requests_are_named(self, world: Any, db: None) -> None:
        with pytest.raises(ValidationFailed, match="batch number or the journey"):
            dossier_export_request(actor=world["qa_li"], kind="batch", subject=" ")
        with pytest.raises(ValidationFailed):
            dossier_export_request(actor=world["qa_li"], kind="everything")
        with pytest.raises(NotFound, match="No batch 'B-NONE'"):
            dossier_export_request(actor=world["qa_li"], kind="batch", subject="B-NONE")
        assert not DossierExport.objects.exists()

    def test_the_manufacturers_journey_dossier_carries_no_patient_identity(
        self, journey_of: Any, world: Any, tmp_path: Path
    ) -> None:
        from cellchain.journeys.models import PatientIdentity

        identity = PatientIdentity.objects.get(journey=journey_of)
        export = _built(world["qa_li"], "journey", journey_of.coi_keyboard)
        archive = zip_of(export)
        raw = archive.read("ledger-subset.json").decode()
        text = pdf_text(archive.read("dossier.pdf"))
        kinds = {record["type"] for record in json.loads(raw)["records"]}
        assert "journeys.patientidentity" not in kinds and "journeys.consent" not in kinds
        assert {"journeys.journey", "journeys.custodyevent", "journeys.unit"} <= kinds
        # The label fates the release rested on (CM7.2.2.1) travel with the labels they account for.
        assert {"journeys.labelprint", "journeys.labeldisposition"} <= kinds
        for secret in (
            identity.name,
            identity.wristband_id,
            identity.hospital_record_number,
            identity.identity_digest,
        ):
            assert secret not in raw and secret not in text
        assert journey_of.pseudonym in text and "治疗旅程档案" in text
        assert _verify(tmp_path, raw.encode()) == EXIT_OK

    def test_the_hospitals_journey_dossier_has_its_records_but_prints_only_the_pseudonym(
        self, journey_of: Any, world: Any, tmp_path: Path
    ) -> None:
        from cellchain.journeys.models import PatientIdentity

        identity = PatientIdentity.objects.get(journey=journey_of)
        export = _built(world["auditor_xiehe"], "journey", journey_of.coi)
        archive = zip_of(export)
        raw = archive.read("ledger-subset.json").decode()
        kinds = {record["type"] for record in json.loads(raw)["records"]}
        assert {"journeys.patientidentity", "journeys.consent", "journeys.collection"} <= kinds
        assert identity.name not in raw  # the identity's entries hold only its keyed digest
        text = pdf_text(archive.read("dossier.pdf"))
        assert identity.name not in text and journey_of.pseudonym in text
        assert _verify(tmp_path, raw.encode()) == EXIT_OK

    def test_an_export_of_another_organisation_is_not_shown(self, released_batch: Any, world: Any) -> None:
        from cellchain.dossiers.selectors import export_get_for

        export = _built(world["qa_li"], "batch", released_batch.number)
        with pytest.raises(NotFound):
            export_get_for(world["auditor_xiehe"], export.pk)
        assert export_get_for(world["auditor_shenghe"], export.pk).pk == export.pk
        with pytest.raises(NotAllowed):
            from cellchain.dossiers.selectors import require_same_organisation

            require_same_organisation(world["auditor_xiehe"], export)


class TestAuditTrailExport:
    def test_whole_bundle_and_trail_csv_with_manifest(self, world: Any, db: None, tmp_path: Path) -> None:
        export = _built(world["auditor_shenghe"], "audit_trail")
        archive = zip_of(export)
        assert sorted(archive.namelist()) == [
            "MANIFEST.sha256",
            "README.txt",
            "audit-trail.csv",
            "ledger-bundle.json",
        ]
        bundle = archive.read("ledger-bundle.json")
        assert json.loads(bundle)["format"] == "cellchain-ledger-bundle/2"
        assert len(json.loads(bundle)["entries"]) == export.head_size == export.entries
        assert _verify(tmp_path, bundle) == EXIT_OK
        trail = archive.read("audit-trail.csv").decode("utf-8-sig")
        assert trail.splitlines()[0].startswith("seq,recorded_at_utc,username")
        manifest = archive.read("MANIFEST.sha256").decode()
        assert f"{hashlib.sha256(bundle).hexdigest()}  ledger-bundle.json" in manifest


class TestQueryCounts:
    @pytest.mark.parametrize("amendments", [0, 40])
    def test_building_a_dossier_costs_the_same_with_more_entries(
        self, released_batch: Any, world: Any, mfg: Any, amendments: int, django_assert_max_num_queries: Any
    ) -> None:
        """Issue 14 item 6: the builder's queries do not grow per entry (here 40 more entries of one result)."""
        from decimal import Decimal

        from cellchain.qc import services as qc
        from cellchain.qc.models import QcResult

        result = QcResult.objects.get(batch=released_batch, item_code="osmolality", is_current=True)
        for number in range(amendments):
            qc.result_amend(
                actor=mfg.analyst,
                result=result,
                value=Decimal(300 + number % 10),
                reason=f"transcription {number}",
            )
        export = dossier_export_request(actor=world["qa_li"], kind="batch", subject=released_batch.number)
        with django_assert_max_num_queries(80):
            built = jobs.dossier_export_execute(export.pk)
        assert built is not None and built.status == "done"
        assert built.entries is not None and built.entries >= 60 + amendments
