"""Label fates and the label reconciliation per unit and per collection (FACT-JACIE CM7.2.2.1; issue 13 item 8)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.journeys import services
from cellchain.journeys.models import LabelDisposition
from cellchain.journeys.selectors import label_reconciliation_for_collection, label_reconciliation_for_din
from cellchain.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db


def _printed(kit, world, reprints: int = 0):
    journey = kit.collected()
    unit = kit.units(journey)[0]
    labels = [services.label_print(actor=world["apheresis_sun"], unit=unit).record]
    for n in range(reprints):
        labels.append(
            services.label_print(
                actor=world["apheresis_sun"], unit=unit, reprint_reason=f"smudged {n}"
            ).record
        )
    return unit, labels


def _fate(world, unit, label, fate, **kw):
    return services.label_disposition_record(
        actor=world["apheresis_sun"], unit=unit, label=label, fate=fate, **kw
    )


def test_each_fate_is_ledgered_and_the_unit_balances(kit, world):
    unit, (first, second, third) = _printed(kit, world, reprints=2)
    reconciliation, _rows = label_reconciliation_for_din(unit.din)
    assert not reconciliation.balanced
    assert reconciliation.outstanding == (f"{unit.din}#1", f"{unit.din}#2", f"{unit.din}#3")
    _fate(world, unit, first, "voided", reason="misprint: ribbon fault")
    _fate(world, unit, second, "destroyed", reason="spare label", witness=world["apheresis_gao"])
    used = _fate(world, unit, third, "used")
    events = list(
        LedgerEntry.objects.filter(record_type="journeys.labeldisposition")
        .order_by("seq")
        .values_list("event", flat=True)
    )
    assert events == ["label:void", "label:destroy", "label:use"]
    assert used.recorded_by == world["apheresis_sun"] and used.witness is None
    reconciliation, rows = label_reconciliation_for_din(unit.din)
    assert reconciliation.balanced
    assert (reconciliation.printed, reconciliation.used, reconciliation.voided, reconciliation.destroyed) == (
        3,
        1,
        1,
        1,
    )
    assert [r.disposition.fate for r in rows] == ["voided", "destroyed", "used"]


def test_a_label_has_one_final_fate(kit, world):
    unit, (label,) = _printed(kit, world)
    _fate(world, unit, label, "used")
    with pytest.raises(Conflict, match=r"already has its fate.*CM7\.2\.2\.1"):
        _fate(world, unit, label, "voided", reason="changed my mind")
    assert LabelDisposition.objects.filter(label=label).count() == 1


def test_a_fate_on_a_label_of_another_unit_is_refused_and_nothing_is_written(kit, world):
    unit, (label,) = _printed(kit, world)
    other, _ = _printed(kit, world)
    before = LedgerEntry.objects.count()
    with pytest.raises(Conflict, match=rf"printed for unit {unit.din}, not {other.din}.*CM7\.2\.2\.1"):
        _fate(world, other, label, "used")
    assert not LabelDisposition.objects.exists()
    assert LedgerEntry.objects.count() == before


def test_a_superseded_print_cannot_be_used(kit, world):
    unit, (first, _second) = _printed(kit, world, reprints=1)
    with pytest.raises(Conflict, match="superseded by print #2"):
        _fate(world, unit, first, "used")


def test_void_and_destroy_need_a_reason_and_destroy_a_different_witness(kit, world):
    unit, (first, second) = _printed(kit, world, reprints=1)
    with pytest.raises(ValidationFailed, match="reason") as caught:
        _fate(world, unit, first, "voided", reason="  ")
    assert caught.value.field == "reason"
    with pytest.raises(ValidationFailed, match="needs a witness"):
        _fate(world, unit, first, "destroyed", reason="spare")
    with pytest.raises(NotAllowed, match="another person"):
        _fate(world, unit, first, "destroyed", reason="spare", witness=world["apheresis_sun"])
    with pytest.raises(ValidationFailed, match="Unknown label fate"):
        _fate(world, unit, second, "lost")
    assert not LabelDisposition.objects.exists()


def test_only_label_roles_record_fates(kit, world):
    unit, (label,) = _printed(kit, world)
    with pytest.raises(PermissionDenied):
        services.label_disposition_record(actor=world["logistics_zhao"], unit=unit, label=label, fate="used")


def test_collection_reconciliation_covers_all_its_units(kit, world):
    journey = kit.collected()
    units = kit.units(journey)
    labels = [services.label_print(actor=world["apheresis_sun"], unit=u).record for u in units]
    reconciliation, _ = label_reconciliation_for_collection(units[0].collection)
    assert reconciliation.printed == len(units)
    assert not reconciliation.balanced
    for unit, label in zip(units, labels, strict=True):
        _fate(world, unit, label, "used")
    reconciliation, _ = label_reconciliation_for_collection(units[0].collection)
    assert reconciliation.balanced and reconciliation.used == len(units)


def test_reconciliation_reads_in_bounded_queries(kit, world, django_assert_max_num_queries):
    unit, _labels = _printed(kit, world, reprints=3)
    with django_assert_max_num_queries(1):
        label_reconciliation_for_din(unit.din)
