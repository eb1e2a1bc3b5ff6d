"""Shipping, cold chain and receipt services (T-7.7, T-8.1.1-T-8.1.7, P-1.3.1-e/f)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.logistics import demo, selectors, services
from cellchain.logistics.models import ReceiptInspection, Shipment, TemperatureReading
from cellchain.quality.models import Deviation
from cellchain.signatures.services import SignerCredentials, signatures_of
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def new_shipment(world, **changes):
    data = {
        "to_site": world.sites["xiehe-main"],
        "kind": Shipment.Kind.LN2_DRY_SHIPPER,
        "product_name": "CAR-T",
        "expected_units": ("W123426000501",),
        "container_type": "ln2_dry_shipper",
        "container_code": "DS-1",
        "max_transit_hours": Decimal(72),
    }
    data.update(changes)
    return services.shipment_create(actor=world["logistics_zhao"], data=services.ShipmentInput(**data))


class TestShipmentCreate:
    def test_limits_default_to_the_shipper_kind(self, world):
        """T-7.7-a reference defaults: LN2 dry shipper <= -150 °C; fresh 2-8 °C (P-1.3.1-e)."""
        ln2 = new_shipment(world)
        fresh = new_shipment(world, kind=Shipment.Kind.FRESH_2_8, max_transit_hours=Decimal(48))
        assert (ln2.min_c, ln2.max_c) == (None, Decimal("-150.0"))
        assert (fresh.min_c, fresh.max_c) == (Decimal("2.0"), Decimal("8.0"))
        assert LedgerEntry.objects.filter(event="shipment:create").count() == 2

    def test_kind_values_match_the_domain(self):
        from cellchain.domain.coldchain import ShipperKind

        assert set(Shipment.Kind.values) == {k.value for k in ShipperKind}


class TestShipmentPack:
    def test_unit_not_on_the_order_is_refused(self, world):
        shipment = new_shipment(world)
        with pytest.raises(IdentityMismatch, match="not a unit of shipment"):
            services.shipment_pack_scan(
                actor=world["logistics_zhao"], shipment=shipment, scanned_text="W123426999999"
            )

    def test_hospital_staff_cannot_pack(self, world):
        with pytest.raises(NotAllowed):
            services.shipment_pack_scan(
                actor=world["pharmacist_liu"], shipment=new_shipment(world), scanned_text="x"
            )

    def test_verify_needs_every_unit_scanned_and_two_people(self, world):
        shipment = new_shipment(world, expected_units=("W123426000501", "W123426000502"))
        zhao, qian = world["logistics_zhao"], world["logistics_qian"]
        services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text="W123426000501")
        with pytest.raises(Conflict, match="W123426000502"):
            services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                          verifier=SignerCredentials(qian, PERSONA_PASSWORD))  # fmt: skip
        services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text="W123426000502X")
        with pytest.raises(NotAllowed, match="two different people"):
            services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                          verifier=SignerCredentials(zhao, PERSONA_PASSWORD))  # fmt: skip
        services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                      verifier=SignerCredentials(qian, PERSONA_PASSWORD))  # fmt: skip
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.PACKED
        assert [s.meaning for s in signatures_of(shipment)] == ["performed", "verified"]

    def test_dispatch_needs_a_logger(self, world):
        shipment = new_shipment(world)
        zhao = world["logistics_zhao"]
        services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text="W123426000501")
        services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                      verifier=SignerCredentials(world["logistics_qian"], PERSONA_PASSWORD))  # fmt: skip
        with pytest.raises(Conflict, match="no temperature logger"):
            services.shipment_dispatch(actor=zhao, shipment=shipment, courier="SF")


class TestShipmentArrive:
    def test_arrival_scan_must_match_the_shipment(self, world):
        shipment = demo.ship_and_arrive(world, tag="000701", excursion=False, password=PERSONA_PASSWORD)
        assert shipment.status == Shipment.Status.ARRIVED
        other = new_shipment(world)
        with pytest.raises(Conflict):
            services.shipment_arrive(actor=world["pharmacist_liu"], shipment=other, scanned_text=other.number)


class TestLoggerFileImport:
    def test_file_is_stored_with_its_digest(self, world):
        shipment = demo.ship_and_arrive(world, tag="000711", excursion=False, password=PERSONA_PASSWORD)
        imported = shipment.loggers.get().imports.get()
        assert len(imported.sha256) == 64 and imported.readings > 300
        assert TemperatureReading.objects.filter(file_import=imported).count() == imported.readings

    def test_file_of_another_logger_is_refused(self, world):
        """Issue 6 bad input: a file for another shipment."""
        shipment = demo.ship_and_arrive(world, tag="000712", excursion=False, password=PERSONA_PASSWORD)
        link = shipment.loggers.get()
        now = dt.datetime.now(dt.UTC)
        data = demo.logger_csv("TL-OTHER", now - dt.timedelta(hours=1), now, False, seed=1)
        with pytest.raises(ValidationFailed, match="another shipment"):
            services.logger_file_import(
                actor=world["pharmacist_liu"], logger=link, data=data, file_name="x.csv"
            )

    def test_unknown_column_is_refused_with_its_line(self, world):
        shipment = demo.ship_and_arrive(world, tag="000713", excursion=False, password=PERSONA_PASSWORD)
        data = b"time,temperature,humidity\n2026-03-01T00:00:00Z,-180,4\n"
        with pytest.raises(ValidationFailed, match=r"line 1.*unknown column 'humidity'"):
            services.logger_file_import(actor=world["pharmacist_liu"], logger=shipment.loggers.get(), data=data,
                                        file_name="bad.csv")  # fmt: skip

    def test_same_file_twice_is_refused(self, world):
        shipment = demo.ship_and_arrive(world, tag="000714", excursion=False, password=PERSONA_PASSWORD)
        link = shipment.loggers.get()
        imported = link.imports.get()
        data = demo.logger_csv(link.serial, link.armed_at, shipment.arrived_at + dt.timedelta(minutes=30), False,
                               seed=714)  # fmt: skip
        assert imported.sha256 and data
        with pytest.raises(Conflict, match="already imported"):
            services.logger_file_import(
                actor=world["pharmacist_liu"], logger=link, data=data, file_name="again.csv"
            )


class TestReadingsStoreLive:
    def test_redelivered_readings_are_stored_once(self, world):
        at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        readings = [(at + dt.timedelta(minutes=i), -185.0) for i in range(10)]
        services.readings_store_live("TL-LIVE", readings)
        services.readings_store_live("TL-LIVE", [*readings[5:], (at + dt.timedelta(minutes=10), None)])
        rows = TemperatureReading.objects.filter(logger_serial="TL-LIVE")
        assert rows.count() == 11
        assert rows.filter(celsius__isnull=True).count() == 1


class TestReceiptInspect:
    def test_clean_shipment_is_accepted_and_signed(self, world):
        """T-8.1.1-T-8.1.7: all checks yes, record in range -> accepted, signed by the receiver."""
        shipment = demo.ship_and_arrive(world, tag="000721", excursion=False, password=PERSONA_PASSWORD)
        inspection = demo.inspect(world, shipment, PERSONA_PASSWORD)
        shipment.refresh_from_db()
        assert inspection.outcome == ReceiptInspection.Outcome.ACCEPTED
        assert shipment.status == Shipment.Status.ACCEPTED
        assert inspection.coldchain["within_limits"] is True
        assert inspection.retain_until.year == inspection.received_at.year + 15
        assert [s.meaning for s in signatures_of(inspection)] == ["performed"]
        assert selectors.unit_clinic_status(shipment.expected_units[0]) == "accepted"
        assert not Deviation.objects.exists()

    def test_excursion_quarantines_and_opens_a_nonconformance_at_the_manufacturer(self, world):
        """T-8.1.5-b, T-8.1.6-d: the logger shows an excursion; the receiver's "yes" cannot overturn it."""
        shipment = demo.ship_and_arrive(world, tag="000722", excursion=True, password=PERSONA_PASSWORD)
        inspection = demo.inspect(world, shipment, PERSONA_PASSWORD)
        shipment.refresh_from_db()
        assert inspection.outcome == ReceiptInspection.Outcome.QUARANTINED
        assert shipment.status == Shipment.Status.QUARANTINED
        assert {f["check"] for f in inspection.failures} == {"T-8.1.3-e", "T-8.1.5-b"}
        assert "T-8.1.6-d" in inspection.triggers
        deviation = Deviation.objects.get(number=inspection.deviation_number)
        assert deviation.kind == Deviation.Kind.TRANSPORT
        assert deviation.site == world.sites["shenghe-prod"]
        assert "excursion above -150.0 °C" in deviation.description
        assert selectors.unit_clinic_status(shipment.expected_units[0]) == "quarantined"

    def test_incomplete_form_is_refused(self, world):
        shipment = demo.ship_and_arrive(world, tag="000723", excursion=False, password=PERSONA_PASSWORD)
        answers = dict(demo.ALL_YES)
        del answers["T-8.1.4-b"]
        with pytest.raises(ValidationFailed, match=r"T-8\.1\.4-b"):
            services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                     scanned_units=shipment.expected_units, answers=answers)  # fmt: skip

    def test_damaged_package_rejects(self, world):
        shipment = demo.ship_and_arrive(world, tag="000724", excursion=False, password=PERSONA_PASSWORD)
        answers = {**demo.ALL_YES, "T-8.1.4-a": {"answer": "no", "note": "outer case cracked"}}
        inspection = services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                              scanned_units=shipment.expected_units, answers=answers)  # fmt: skip
        assert inspection.outcome == ReceiptInspection.Outcome.REJECTED
        assert Deviation.objects.get(number=inspection.deviation_number).kind == Deviation.Kind.RECEIPT

    def test_missing_unit_at_receipt_quarantines(self, world):
        """T-8.1.3-a: scanned units compared with the order."""
        shipment = demo.ship_and_arrive(world, tag="000725", excursion=False, password=PERSONA_PASSWORD)
        inspection = services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                              scanned_units=shipment.expected_units[:1], answers=demo.ALL_YES)  # fmt: skip
        assert inspection.outcome == ReceiptInspection.Outcome.QUARANTINED
        assert "expected but not scanned" in inspection.failures[0]["reason"]

    def test_receiver_must_be_qualified_and_at_the_receiving_site(self, world):
        """T-8.1.2-a: only qualified receivers of the site record a receipt."""
        shipment = demo.ship_and_arrive(world, tag="000726", excursion=False, password=PERSONA_PASSWORD)
        with pytest.raises(NotAllowed):
            services.receipt_inspect(actor=world["nurse_li"], shipment=shipment,
                                     scanned_units=shipment.expected_units, answers=demo.ALL_YES)  # fmt: skip
        with pytest.raises(NotAllowed, match="receipt"):
            services.receipt_inspect(actor=world["physician_wang"], shipment=shipment,
                                     scanned_units=shipment.expected_units, answers=demo.ALL_YES)  # fmt: skip

    def test_only_the_receiver_signs(self, world):
        shipment = demo.ship_and_arrive(world, tag="000727", excursion=False, password=PERSONA_PASSWORD)
        inspection = services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                              scanned_units=shipment.expected_units, answers=demo.ALL_YES)  # fmt: skip
        with pytest.raises(NotAllowed):
            services.receipt_sign(
                inspection=inspection, signer=SignerCredentials(world["pharmacist_ma"], PERSONA_PASSWORD)
            )


class TestColdchainSelector:
    def test_shipment_without_readings_is_not_within_limits(self, world):
        shipment = new_shipment(world)
        services.logger_link(actor=world["logistics_zhao"], shipment=shipment, serial="TL-EMPTY", interval_s=60,
                             armed_at=dt.datetime.now(dt.UTC))  # fmt: skip
        ((_, verdict),) = selectors.shipment_coldchain(shipment)
        assert not verdict.within_limits
