"""A regulated write that skips the ledger raises; the record functions are the one way (issue 15 item 1; X-3)."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cellchain.core.errors import ValidationFailed
from cellchain.ledger.guard import UnledgeredWrite
from cellchain.ledger.models import LedgerEntry, RegulatedModel
from cellchain.ledger.records import record_amend, record_create, record_void

REGULATED = sorted(
    (m for m in apps.get_models() if issubclass(m, RegulatedModel)), key=lambda m: m._meta.label
)


def test_every_regulated_model_is_found() -> None:
    """The sweep below covers the whole journey, not a sample (the count only grows)."""
    assert len(REGULATED) >= 70
    assert {"signatures.signature", "journeys.unit", "qc.releasedecision"} <= {
        m._meta.label_lower for m in REGULATED
    }


BYPASSES = {
    "save": lambda m: m().save(),
    "objects.create": lambda m: m.objects.create(),
    "get_or_create": lambda m: m.objects.get_or_create(pk=-1),
    "update_or_create": lambda m: m.objects.update_or_create(pk=-1, defaults={"void_reason": "x"}),
    "update": lambda m: m.objects.filter(pk__isnull=False).update(void_reason="x"),
    "queryset delete": lambda m: m.objects.all().delete(),
    "bulk_create": lambda m: m.objects.bulk_create([m()]),
    "bulk_update": lambda m: m.objects.bulk_update([], ["void_reason"]),
    "instance delete": lambda m: m().delete(),
}


@pytest.mark.django_db
@pytest.mark.parametrize("bypass", sorted(BYPASSES))
@pytest.mark.parametrize("model", REGULATED, ids=lambda m: m._meta.label_lower)
def test_each_bypass_raises_on_each_regulated_model(model: type[RegulatedModel], bypass: str) -> None:
    """The refusal names the write and the model, and nothing reaches the table."""
    before = model._base_manager.count()
    with pytest.raises(UnledgeredWrite) as raised:
        BYPASSES[bypass](model)
    assert model._meta.label in str(raised.value) and "record_create" in str(raised.value)
    assert model._base_manager.count() == before


@pytest.mark.django_db
def test_a_related_manager_write_raises_too(world: Any) -> None:
    """`site.things.update()` goes through the regulated queryset, not around it."""
    from cellchain.accounts.models import Site

    site = Site.objects.first()
    with pytest.raises(UnledgeredWrite):
        site.production_areas.update(name="renamed")  # type: ignore[attr-defined]


def _device(world: Any) -> Any:
    from cellchain.core import clock
    from cellchain.logistics.models import MonitoringDevice

    nurse = world["nurse_wang"]
    return MonitoringDevice(
        site=nurse.site,
        code="FRZ-9",
        kind=MonitoringDevice.Kind.CONTINUOUS_MONITOR,
        name="Freezer 9 monitor",
        created_at=clock.now(),
        created_by=nurse,
    )


@pytest.mark.django_db
def test_record_create_amend_void_write_the_row_and_its_entry(world: Any) -> None:
    from cellchain.core import clock

    actor = world["nurse_wang"]
    device = record_create(actor=actor, record=_device(world), event="monitoring_device:register")
    device.in_service = False
    record_amend(
        actor=actor, record=device, event="monitoring_device:out", reason="defrost", fields=["in_service"]
    )
    record_void(
        actor=actor, record=device, event="monitoring_device:void", reason="entered twice", at=clock.now()
    )
    entries = LedgerEntry.objects.filter(record_type=device.ledger_record_type(), record_id=str(device.pk))
    assert list(entries.values_list("action", flat=True)) == ["create", "amend", "void"]
    device.refresh_from_db()
    assert device.is_voided and device.in_service is False


@pytest.mark.django_db
def test_a_record_that_breaks_a_field_rule_is_refused_before_anything_is_written(world: Any) -> None:
    device = _device(world)
    device.code = "X" * 500
    size = LedgerEntry.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        record_create(actor=world["nurse_wang"], record=device, event="monitoring_device:register")
    assert refused.value.field == "code"
    assert LedgerEntry.objects.count() == size
    assert not type(device).objects.filter(code=device.code).exists()


@pytest.mark.django_db
def test_a_void_needs_a_reason(world: Any) -> None:
    from cellchain.core import clock

    device = record_create(actor=None, record=_device(world), event="monitoring_device:register")
    with pytest.raises(ValidationFailed):
        record_void(actor=None, record=device, event="monitoring_device:void", reason=" ", at=clock.now())


@pytest.mark.django_db
def test_the_permit_covers_one_instance_only(world: Any) -> None:
    """Inside a record function's permit, another regulated row still cannot be saved."""
    from cellchain.ledger import guard

    first, second = _device(world), _device(world)
    with guard.permit(first), pytest.raises(UnledgeredWrite):
        second.save()


@pytest.mark.django_db
def test_migrations_keep_their_own_path() -> None:
    """Historical models (data migrations) are built from the migration state and do not carry the guard."""
    state = MigrationExecutor(connection).loader.project_state()
    historical = state.apps.get_model("logistics", "MonitoringDevice")
    assert historical.save is not apps.get_model("logistics", "MonitoringDevice").save
    assert not issubclass(historical, RegulatedModel)


@pytest.mark.django_db
def test_the_record_functions_take_the_canonical_encoders_fast_path(world: Any, monkeypatch: Any) -> None:
    """An entry of plain strings never needs the pure-Python RFC 8785 reference (an enum member once did)."""
    from cellchain.ledger import canonical

    def reference(_value: Any) -> bytes:
        raise AssertionError("the entry went to rfc8785.dumps")

    monkeypatch.setattr(canonical.rfc8785, "dumps", reference)
    device = record_create(
        actor=world["nurse_wang"], record=_device(world), event="monitoring_device:register"
    )
    device.in_service = False
    record_amend(
        actor=None, record=device, event="monitoring_device:out", reason="defrost", fields=["in_service"]
    )
    assert (
        LedgerEntry.objects.filter(record_type=device.ledger_record_type(), record_id=str(device.pk)).count()
        == 2
    )
