"""The demo loads only what belongs to the installation's role (issue 12 item 4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.apps import apps

from cellchain.core import installation
from cellchain.core.demo_loader import demo_contexts, load_demo

pytestmark = pytest.mark.django_db


def _enrolments(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every patient the demo enrols, so the test knows the identities the demo typed."""
    from cellchain.journeys import services

    typed: list[Any] = []
    enrol = services.journey_enrol

    def recording(**kwargs: Any) -> Any:
        typed.append(kwargs["patient"])
        return enrol(**kwargs)

    monkeypatch.setattr(services, "journey_enrol", recording)
    return typed


def _stored_text() -> list[str]:
    """Every value of every row of every model, as text (bytes decoded), to scan for identifiers."""
    texts = []
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields]
        for row in model._base_manager.values_list(*fields):
            for value in row:
                if isinstance(value, bytes | memoryview):
                    texts.append(bytes(value).decode("utf-8", "replace"))
                elif value is not None:
                    texts.append(value.isoformat() if isinstance(value, dt.date) else str(value))
    return texts


def test_both_runs_every_context_demo_as_before(settings: Any) -> None:
    assert demo_contexts(installation.BOTH) == settings.CELLCHAIN_CONTEXTS


def test_a_manufacturer_database_holds_no_patient_identifier(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cellchain.accounts.world import PEOPLE
    from cellchain.clinic.models import TreatmentCourse
    from cellchain.journeys.demo import LABELLED_WRISTBAND, RECEIVED_WRISTBAND
    from cellchain.journeys.models import Journey, PatientIdentity
    from cellchain.ledger.models import LedgerEntry
    from cellchain.manufacturing.models import Batch

    settings.CELLCHAIN_INSTALLATION_ROLE = installation.MANUFACTURER
    typed = _enrolments(monkeypatch)
    load_demo()

    assert typed, "the manufacturing demo's batches come from enrolled journeys"
    assert Batch.objects.count() == 2
    assert Journey.objects.count() == len(typed)
    assert all(j.coi and j.pseudonym for j in Journey.objects.all())
    assert not PatientIdentity.objects.exists()
    assert not TreatmentCourse.objects.exists()
    staff = " ".join(printed for _u, printed, *_rest in PEOPLE)
    identifiers = {RECEIVED_WRISTBAND, LABELLED_WRISTBAND, "张伟"}
    for patient in typed:
        identifiers |= {patient.birth_date.isoformat(), patient.hospital_record_number, patient.wristband_id}
        # A patient named like a member of staff (the hospital demo's 李娜 and QA's 李娜 Li Na) cannot be
        # told apart by a text scan; the manufacturing demo's patients are not staff.
        assert patient.name not in staff
        identifiers.add(patient.name)
    stored = _stored_text()
    leaked = sorted(i for i in identifiers if any(i in text for text in stored))
    assert leaked == []

    entries = LedgerEntry.objects.count()
    load_demo()
    assert LedgerEntry.objects.count() == entries  # idempotent on this role too


def test_a_hospital_database_holds_its_patients_and_no_batch(settings: Any) -> None:
    from cellchain.clinic.models import TreatmentCourse
    from cellchain.journeys.models import Journey, PatientIdentity
    from cellchain.ledger.models import LedgerEntry
    from cellchain.manufacturing.models import Batch
    from cellchain.qc.models import QcResult

    settings.CELLCHAIN_INSTALLATION_ROLE = installation.HOSPITAL
    load_demo()

    assert not Batch.objects.exists()
    assert not QcResult.objects.exists()
    assert PatientIdentity.objects.count() == Journey.objects.count() > 0
    assert TreatmentCourse.objects.exists()
    entries = LedgerEntry.objects.count()
    load_demo()
    assert LedgerEntry.objects.count() == entries
