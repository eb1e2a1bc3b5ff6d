"""Retention of every ledgered record, computed per journey (issue 13 item 9; T-10.3, T-6.4-g, X-6; decision 0027)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.clinic.models import ClinicUnit, ProductUseProfile
from cellchain.core.errors import NotAllowed
from cellchain.domain.retention import Basis
from cellchain.ledger.guard import UnledgeredWrite
from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.records import record_amend
from cellchain.records import selectors, services
from cellchain.records.tests.conftest import NOW
from cellchain.signatures.models import Signature

pytestmark = pytest.mark.django_db

USED = NOW.date()


def _expire(world: Any, unit: ClinicUnit, on: dt.date) -> None:
    """Record the expiry printed on the unit's label (an amend through the one write path, with its reason)."""
    unit = ClinicUnit.objects.get(pk=unit.pk)
    unit.label_expires = dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC)
    record_amend(
        actor=world["pharmacist_liu"],
        record=unit,
        event="unit:amend",
        reason="label expiry",
        fields=["label_expires"],
    )


def test_t10_3_journey_retention_from_infusion_and_label_expiry(world: Any, infusion: Any) -> None:
    """T-10.3, X-6: the journey's records are kept until the later of expiry + 30 y and use + 15 y."""
    _expire(world, infusion.unit, USED + dt.timedelta(days=10))
    found = selectors.journey_retention(infusion.course.coi)
    assert (found.used, found.expiry) == (USED, USED + dt.timedelta(days=10))
    assert found.retention.until == (USED + dt.timedelta(days=10)).replace(year=USED.year + 30)
    assert found.retention.basis is Basis.EXPIRY and not found.retention.provisional


def test_x6_journey_with_use_only_is_provisional(world: Any, infusion: Any) -> None:
    """X-6: no expiry recorded -> use + 15 y, provisional (decision 0027)."""
    found = selectors.journey_retention(infusion.course.coi)
    assert found.expiry is None
    assert found.retention.until is not None and found.retention.until.year == USED.year + 15
    assert found.retention.provisional


def test_x6_every_ledgered_record_of_the_journey_follows_its_retention(world: Any, infusion: Any) -> None:
    """X-6: each ledger entry's subject (course, unit, thaw, bedside check, infusion, signature) finds its journey."""
    _expire(world, infusion.unit, USED + dt.timedelta(days=10))
    coi = selectors.coi_key(infusion.course.coi)
    journey_until = selectors.journey_retention(coi).retention.until
    subjects = set(
        LedgerEntry.objects.filter(
            record_type__in=[
                "clinic.treatmentcourse",
                "clinic.clinicunit",
                "clinic.thaw",
                "clinic.bedsidecheck",
                "clinic.infusion",
            ]
        ).values_list("record_type", "record_id")
    )
    signatures = Signature.objects.filter(record_type="clinic.bedsidecheck").values_list("pk", flat=True)
    subjects |= {("signatures.signature", str(pk)) for pk in signatures}
    assert {t for t, _ in subjects} >= {"clinic.thaw", "clinic.infusion", "signatures.signature"}
    for record_type, record_id in subjects:
        found = selectors.record_retention(record_type, record_id)
        assert (found.coi, found.retention.until) == (coi, journey_until), (record_type, record_id)


def test_x6_a_record_of_no_journey_is_kept_as_long_as_the_latest_journey(world: Any, infusion: Any) -> None:
    """X-6: a product profile supports every journey: its retention is the latest journey's (decision 0027)."""
    _expire(world, infusion.unit, USED + dt.timedelta(days=10))
    profile = ProductUseProfile.objects.get()
    found = selectors.record_retention("clinic.productuseprofile", str(profile.pk))
    assert found.coi is None
    assert found.retention.until == selectors.shared_retention().until is not None


def test_x6_purge_refused_before_the_retention_date(world: Any, infusion: Any) -> None:
    """X-6, T-10.3: purge before the retention end is refused with the date and the clause; after it, allowed."""
    _expire(world, infusion.unit, USED + dt.timedelta(days=10))
    until = selectors.journey_retention(infusion.course.coi).retention.until
    assert until is not None
    with pytest.raises(NotAllowed, match=r"X-6") as refused:
        services.retention_purge_check(
            record_type="clinic.thaw", record_id=str(infusion.unit.thaw.pk), today=USED
        )
    assert until.isoformat() in refused.value.message
    allowed = services.retention_purge_check(
        record_type="clinic.thaw", record_id=str(infusion.unit.thaw.pk), today=until + dt.timedelta(days=1)
    )
    assert allowed.retention.until == until


def test_x6_purge_refused_while_retention_is_provisional(world: Any, infusion: Any) -> None:
    """X-6: without a recorded expiry the date is provisional and no purge is ever allowed."""
    with pytest.raises(NotAllowed, match="provisional"):
        services.retention_purge_check(
            record_type="clinic.infusion", record_id=str(infusion.pk), today=dt.date(2200, 1, 1)
        )


def test_x3_x6_no_path_deletes_a_regulated_record(world: Any, infusion: Any) -> None:
    """X-3, X-6: a regulated record is never deleted (the write guard), so nothing is purged behind retention."""
    with pytest.raises(UnledgeredWrite):
        infusion.delete()
    with pytest.raises(UnledgeredWrite):
        type(infusion).objects.filter(pk=infusion.pk).delete()


def test_x6_unknown_subject_has_no_journey() -> None:
    assert selectors.record_coi("nothing.here", "1") is None
    assert selectors.record_coi("clinic.infusion", "not-a-number") is None


JOURNEY_BOUND = [
    "journeys.journey",
    "journeys.consent",
    "journeys.collection",
    "journeys.unit",
    "journeys.custodyevent",
    "manufacturing.apheresisintake",
    "manufacturing.batch",
    "manufacturing.batchstep",
    "manufacturing.parameterentry",
    "manufacturing.productunit",
    "qc.qcresult",
    "qc.releasedecision",
    "logistics.shipment",
    "logistics.receiptinspection",
    "clinic.treatmentcourse",
    "clinic.thaw",
    "clinic.infusion",
    "clinic.adverseevent",
    "clinic.followupvisit",
    "records.archivetick",
]


@pytest.mark.parametrize("label", JOURNEY_BOUND)
def test_x6_journey_records_find_their_journey_by_their_keys(label: str) -> None:
    """X-6: every record of the journey's spine reaches the COI through its foreign keys (decision 0027)."""
    from django.apps import apps

    path = selectors._coi_lookup(apps.get_model(label))
    assert path is not None and path.endswith("coi"), label


def test_x6_shared_records_have_no_journey() -> None:
    """X-6: records of no one journey (SOP-like product profile, storage position) follow the shared rule."""
    from django.apps import apps

    for label in ("clinic.productuseprofile", "journeys.storageposition", "journeys.ethicsapproval"):
        assert selectors._coi_lookup(apps.get_model(label)) is None, label
