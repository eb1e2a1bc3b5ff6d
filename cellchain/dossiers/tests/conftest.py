"""Fixtures of the dossier tests: a batch made, tested and released through the services (with the journey it
was made for), the command runner, and helpers to open an export's ZIP."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from cellchain.manufacturing.tests.conftest import mfg, now  # noqa: F401


@pytest.fixture(autouse=True)
def _command_runner(settings: Any, tmp_path: Any) -> None:
    """Exports stay queued until the test runs them (the thread runner is tested on its own); each test keeps
    its files apart (export ids start again in every test's database)."""
    settings.CELLCHAIN_DOSSIER_RUNNER = "command"
    settings.CELLCHAIN_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def released_batch(mfg: Any) -> Any:  # noqa: F811
    from cellchain.qc import services as qc

    batch = mfg.ready_for_release(mfg.manufactured())
    qc.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
    batch.refresh_from_db()
    return batch


@pytest.fixture
def journey_of(released_batch: Any) -> Any:
    from cellchain.journeys.models import Journey

    return Journey.objects.get(coi=released_batch.intake.coi)


def zip_of(export: Any) -> zipfile.ZipFile:
    from cellchain.dossiers.jobs import export_path

    return zipfile.ZipFile(io.BytesIO(export_path(export).read_bytes()))


def subset_of(export: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(zip_of(export).read("ledger-subset.json"))
    return result


def pdf_text(data: bytes) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        return "\n".join(document[number].get_textpage().get_text_range() for number in range(len(document)))
    finally:
        document.close()
