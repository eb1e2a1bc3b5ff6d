"""Shipping, cold chain and receipt services (T-7.7, T-8.1.1-T-8.1.7, P-1.3.1-e/f)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cellchain.core import clock
from cellchain.core.errors import (
    AuthenticationRequired,
    Conflict,
    IdentityMismatch,
    NotAllowed,
    TooLarge,
    ValidationFailed,
)
from cellchain.domain.coldchain import MktFormula
from cellchain.ledger.models import LedgerEntry
from cellchain.logistics import demo, selectors, services
from cellchain.logistics.models import (
    LoggerLink,
    PackingCheck,
    ReceiptInspection,
    Shipment,
    TemperatureReading,
)
from cellchain.logistics.tests import kit
from cellchain.quality.models import Deviation
from cellchain.signatures.services import SignerCredentials, signature_verify, signatures_of
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def new_shipment(world, **changes):
    """An apheresis shipment (no batch): the shipper kind's reference limits."""
    data = {
        "to_site": world.sites["xiehe-main"],
        "kind": Shipment.Kind.CRYOPRESERVED_APHERESIS,
        "product_name": "Cryopreserved apheresis",
        "expected_units": ("W123426000501",),
        "container_type": "ln2_vapour_shipper",
        "container_code": "DS-1",
        "max_transit_hours": Decimal(72),
    }
    data.update(changes)
    return services.shipment_create(actor=world["logistics_zhao"], data=services.ShipmentInput(**data))


def product_shipment(world, tag, **changes):
    """A product shipment of a new batch B26-<tag> of the reference product (≤ -150 °C, 72 h, LN2 dry shipper)."""
    batch = kit.product_batch(world, tag)
    data = {"batch_number": batch, "kind": Shipment.Kind.LN2_DRY_SHIPPER, "container_type": "LN2 dry shipper",
            "container_code": f"DS-{tag}"}  # fmt: skip
    data.update(changes)
    return services.shipment_create(actor=world["logistics_zhao"], data=services.ShipmentInput(**data))


def ready_to_dispatch(world, shipment):
    zhao = world["logistics_zhao"]
    for din in shipment.expected_units:
        services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text=din)
    services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                  verifier=SignerCredentials(world["logistics_qian"], PERSONA_PASSWORD))  # fmt: skip
    services.logger_link(actor=zhao, shipment=shipment, serial=f"TL-{shipment.pk}", interval_s=60,
                         armed_at=clock.now() - dt.timedelta(minutes=5))  # fmt: skip
    return shipment


def at_receipt(world):
    """The calibrated thermometer and the receiving room of the receipt (T-8.1.2-c/d)."""
    return {"monitoring_device": demo.receipt_device(world), "receiving_area": demo.RECEIVING_AREA}


class TestShipmentCreate:
    def test_apheresis_limits_default_to_the_shipper_kind(self, world):
        """T-7.7-a reference defaults without a batch: apheresis vapour < -130 °C (P-1.3.1-f), fresh 2-8 °C."""
        cryo = new_shipment(world)
        fresh = new_shipment(world, kind=Shipment.Kind.FRESH_2_8, max_transit_hours=Decimal(48))
        assert (cryo.min_c, cryo.max_c) == (None, Decimal("-130.0"))
        assert (fresh.min_c, fresh.max_c) == (Decimal("2.0"), Decimal("8.0"))
        assert cryo.limits_source == "" and not cryo.is_product_shipment
        assert LedgerEntry.objects.filter(event="shipment:create").count() == 2

    def test_an_ln2_dry_shipper_without_a_batch_is_refused(self, world):
        """T-7.7: a product's limits come from its version, so a product shipper needs the batch."""
        with pytest.raises(ValidationFailed, match="name its batch"):
            new_shipment(world, kind=Shipment.Kind.LN2_DRY_SHIPPER)

    def test_kind_values_match_the_domain(self):
        from cellchain.domain.coldchain import ShipperKind

        assert set(Shipment.Kind.values) == {k.value for k in ShipperKind}

    def test_product_shipment_takes_every_limit_from_the_product_version(self, world):
        """T-7.7-a/b/c, T-7.15-a/b/c, T-7.5-e, T-7.7-d: range, transit, containers, expiry, storage mode."""
        from cellchain.manufacturing.models import Batch

        shipment = product_shipment(world, "000511")
        batch = Batch.objects.get(number="B26-000511")
        assert (shipment.min_c, shipment.max_c, shipment.max_transit_hours) == (
            None,
            Decimal(-150),
            Decimal(72),
        )
        assert (
            shipment.allowed_containers == ["LN2 dry shipper"]
            and shipment.container_type == "LN2 dry shipper"
        )
        assert shipment.limits_source == "cart-logistics v1" and shipment.is_product_shipment
        assert shipment.expires_at == batch.manufactured_at + dt.timedelta(hours=8760)
        assert shipment.storage_mode == "liquid_nitrogen" and shipment.storage_time_limit_hours == 8760
        assert shipment.to_site == world.sites["xiehe-main"] and shipment.coi == batch.intake.coi
        assert shipment.expected_units == list(kit.units_of("000511")[:2])  # patient units only
        assert shipment.batch_number == "B26-000511" and "CD19" in shipment.product_name

    def test_loosening_the_product_limits_is_refused_naming_the_version_and_value(self, world):
        """T-7.7-a/b/c: a wider range, a longer transit or another container than the product allows."""
        with pytest.raises(
            ValidationFailed, match=r"cart-logistics v1 allows transport at ≤ -150 °C.*-130 °C"
        ):
            product_shipment(world, "000512", max_c=Decimal(-130))
        with pytest.raises(ValidationFailed, match=r"cart-logistics v1 allows at most 72 h.*96 h") as exc:
            product_shipment(world, "000513", max_transit_hours=Decimal(96))
        assert exc.value.field == "max_transit_hours"
        with pytest.raises(
            ValidationFailed, match=r"allows the containers LN2 dry shipper; 'dry ice box'"
        ) as exc:
            product_shipment(world, "000514", container_type="dry ice box")
        assert exc.value.field == "container_type"
        assert not Shipment.objects.exists()

    def test_narrowing_is_allowed_and_said_in_the_source(self, world):
        """Decision: a stricter range or shorter transit stays within the product's requirements."""
        shipment = product_shipment(world, "000515", max_c=Decimal(-160), max_transit_hours=Decimal(48),
                                    container_type="ln2 DRY shipper")  # fmt: skip
        assert (shipment.max_c, shipment.max_transit_hours) == (Decimal(-160), Decimal(48))
        assert shipment.container_type == "LN2 dry shipper"
        assert shipment.limits_source == (
            "cart-logistics v1, narrowed by the sender: temperature ≤ -160 °C; transit ≤ 48 h"
        )

    def test_shipper_kind_must_keep_the_product_range(self, world):
        """T-7.7-a: a fresh 2-8 °C or an apheresis (≤ -130 °C) shipper cannot carry a ≤ -150 °C product."""
        with pytest.raises(
            ValidationFailed, match=r"fresh_2_8 shipper keeps 2.0 to 8.0 °C.*≤ -150 °C"
        ) as exc:
            product_shipment(world, "000516", kind=Shipment.Kind.FRESH_2_8)
        assert exc.value.field == "kind"
        with pytest.raises(ValidationFailed, match="cryopreserved_apheresis shipper"):
            product_shipment(world, "000517", kind=Shipment.Kind.CRYOPRESERVED_APHERESIS)

    def test_fresh_product_ships_at_2_8_and_needs_a_refrigerator(self, world):
        """T-7.7-a/d: a fresh product's own range, transit and container; an LN2 shipper is refused."""
        batch = kit.product_batch(world, "000518", product="cart-fresh", info=kit.information(**kit.FRESH_2_8),
                                  manufactured_at=clock.now() - dt.timedelta(hours=3))  # fmt: skip
        data = services.ShipmentInput(batch_number=batch, kind=Shipment.Kind.LN2_DRY_SHIPPER,
                                      container_type="validated 2-8 °C box", container_code="BOX-1")  # fmt: skip
        with pytest.raises(ValidationFailed, match="ln2_dry_shipper shipper keeps"):
            services.shipment_create(actor=world["logistics_zhao"], data=data)
        shipment = services.shipment_create(
            actor=world["logistics_zhao"], data=dataclasses.replace(data, kind=Shipment.Kind.FRESH_2_8)
        )
        assert (shipment.min_c, shipment.max_c, shipment.max_transit_hours) == (2, 8, 24)
        assert shipment.storage_mode == "fridge_2_8" and shipment.limits_source == "cart-fresh v1"

    def test_the_product_chooses_the_mkt_formula_of_its_shipments(self, world):
        """Issue 16: a 2-8 °C product asking for USP <1079.2>'s equal-weight MKT has it on its shipments."""
        fresh = {**kit.FRESH_2_8, "storage_transport": {**kit.FRESH_2_8["storage_transport"],
                                                        "mkt_formula": "equal_weight"}}  # fmt: skip
        batch = kit.product_batch(world, "000520", product="cart-fresh-eq", info=kit.information(**fresh),
                                  manufactured_at=clock.now() - dt.timedelta(hours=3))  # fmt: skip
        shipment = services.shipment_create(actor=world["logistics_zhao"], data=services.ShipmentInput(
            batch_number=batch, kind=Shipment.Kind.FRESH_2_8, container_type="validated 2-8 °C box",
            container_code="BOX-2"))  # fmt: skip
        assert shipment.mkt_formula == "equal_weight"
        link = LoggerLink(shipment=shipment, serial="TL-EQ", interval_s=60, armed_at=clock.now())
        assert selectors.logger_spec(shipment, link).mkt_formula is MktFormula.EQUAL_WEIGHT
        plain = product_shipment(world, "000521")
        assert plain.mkt_formula == "time_weighted"

    def test_units_must_be_patient_units_of_the_batch_and_shipped_once(self, world):
        patient, _, qc_unit = kit.units_of("000519")
        with pytest.raises(ValidationFailed, match="not a patient unit of batch B26-000519"):
            product_shipment(world, "000519", expected_units=(qc_unit,))
        one = services.shipment_create(actor=world["logistics_zhao"], data=services.ShipmentInput(
            batch_number="B26-000519", kind="ln2_dry_shipper", container_type="LN2 dry shipper",
            container_code="DS-A", expected_units=(kit.keyboard(patient),)))  # fmt: skip
        assert one.expected_units == [patient]
        with pytest.raises(Conflict, match=f"{patient} are already on shipment {one.number}"):
            services.shipment_create(actor=world["logistics_zhao"], data=services.ShipmentInput(
                batch_number="B26-000519", kind="ln2_dry_shipper", container_type="LN2 dry shipper",
                container_code="DS-B"))  # fmt: skip

    def test_batch_without_fill_expired_or_for_another_site_is_refused(self, world):
        """T-7.5-e: the expiry needs the fill time; an expired batch is not shipped; autologous product goes
        back to the collection site."""
        kit.product_batch(world, "000520", filled=False)
        data = services.ShipmentInput(batch_number="B26-000520", kind="ln2_dry_shipper",
                                      container_type="LN2 dry shipper", container_code="DS-1")  # fmt: skip
        with pytest.raises(Conflict, match="no fill time"):
            services.shipment_create(actor=world["logistics_zhao"], data=data)
        kit.product_batch(world, "000521", manufactured_at=clock.now() - dt.timedelta(days=400))
        with pytest.raises(Conflict, match=r"expired .*T-7\.5-e"):
            services.shipment_create(actor=world["logistics_zhao"],
                                     data=dataclasses.replace(data, batch_number="B26-000521"))  # fmt: skip
        kit.product_batch(world, "000522")
        with pytest.raises(ValidationFailed, match="collected at"):
            services.shipment_create(actor=world["logistics_zhao"], data=dataclasses.replace(
                data, batch_number="B26-000522", to_site=world.sites["renji-east"]))  # fmt: skip
        with pytest.raises(ValidationFailed, match="No batch"):
            services.shipment_create(actor=world["logistics_zhao"],
                                     data=dataclasses.replace(data, batch_number="B26-999999"))  # fmt: skip

    def test_typed_expiry_or_containers_are_refused_for_a_product_shipment(self, world):
        """The expiry and the allowed containers come from the product version; typing them could loosen."""
        with pytest.raises(ValidationFailed, match="come from its product version cart-logistics v1"):
            product_shipment(world, "000523", expires_at=clock.now() + dt.timedelta(days=999))
        with pytest.raises(ValidationFailed, match="come from its product version"):
            product_shipment(world, "000524", allowed_containers=("anything",))


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
        services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text=kit.keyboard("W123426000502"))
        with pytest.raises(NotAllowed, match="two different people"):
            services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                          verifier=SignerCredentials(zhao, PERSONA_PASSWORD))  # fmt: skip
        services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                      verifier=SignerCredentials(qian, PERSONA_PASSWORD))  # fmt: skip
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.PACKED
        check = shipment.packing_check
        assert [s.meaning for s in signatures_of(check)] == ["performed", "verified"]
        assert signatures_of(shipment) == []  # the check is signed, not the changing shipment
        assert check.units == ["W123426000501", "W123426000502"]
        assert (check.container_code, check.loggers) == (shipment.container_code, [])

    def test_packing_signatures_still_verify_after_dispatch_and_arrival(self, world):
        """X-5, 21 CFR 11.70: hand-off, arrival and receipt change the shipment, not the signed packing check."""
        shipment = kit.received(world, tag="000761")  # packed, handed off, arrived, inspected and signed
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.ACCEPTED and shipment.dispatched_at and shipment.arrived_at
        signatures = signatures_of(shipment.packing_check)
        assert [s.meaning for s in signatures] == ["performed", "verified"]
        assert [signature_verify(s).valid for s in signatures] == [True, True]

    def test_wrong_password_writes_no_packing_check(self, world):
        """X-5, 21 CFR 11.300: a refused check leaves the shipment packing, with no check record."""
        shipment = new_shipment(world)
        zhao, qian = world["logistics_zhao"], world["logistics_qian"]
        services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text="W123426000501")
        with pytest.raises(AuthenticationRequired):
            services.shipment_pack_verify(shipment=shipment, performer=SignerCredentials(zhao, PERSONA_PASSWORD),
                                          verifier=SignerCredentials(qian, "wrong"))  # fmt: skip
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.PACKING
        assert not PackingCheck.objects.filter(shipment=shipment).exists()

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
        shipment = kit.ship_and_arrive(world, tag="000701", excursion=False)
        assert shipment.status == Shipment.Status.ARRIVED
        other = new_shipment(world)
        with pytest.raises(Conflict):
            services.shipment_arrive(actor=world["pharmacist_liu"], shipment=other, scanned_text=other.number)


class TestLoggerFileImport:
    def test_file_is_stored_with_its_digest(self, world):
        shipment = kit.ship_and_arrive(world, tag="000711", excursion=False)
        imported = shipment.loggers.get().imports.get()
        assert len(imported.sha256) == 64 and imported.readings > 300
        assert TemperatureReading.objects.filter(file_import=imported).count() == imported.readings

    def test_file_of_another_logger_is_refused(self, world):
        """Issue 6 bad input: a file for another shipment."""
        shipment = kit.ship_and_arrive(world, tag="000712", excursion=False)
        link = shipment.loggers.get()
        now = dt.datetime.now(dt.UTC)
        data = demo.logger_csv("TL-OTHER", now - dt.timedelta(hours=1), now, False, seed=1)
        with pytest.raises(ValidationFailed, match="another shipment"):
            services.logger_file_import(
                actor=world["pharmacist_liu"], logger=link, data=data, file_name="x.csv"
            )

    def test_unknown_column_is_refused_with_its_line(self, world):
        shipment = kit.ship_and_arrive(world, tag="000713", excursion=False)
        data = b"time,temperature,humidity\n2026-03-01T00:00:00Z,-180,4\n"
        with pytest.raises(ValidationFailed, match=r"line 1.*unknown column 'humidity'"):
            services.logger_file_import(actor=world["pharmacist_liu"], logger=shipment.loggers.get(), data=data,
                                        file_name="bad.csv")  # fmt: skip

    def test_same_file_twice_is_refused(self, world):
        shipment = kit.ship_and_arrive(world, tag="000714", excursion=False)
        link = shipment.loggers.get()
        imported = link.imports.get()
        data = demo.logger_csv(link.serial, link.armed_at, shipment.arrived_at + dt.timedelta(minutes=30), False,
                               seed=714)  # fmt: skip
        assert imported.sha256 and data
        with pytest.raises(Conflict, match="already imported"):
            services.logger_file_import(
                actor=world["pharmacist_liu"], logger=link, data=data, file_name="again.csv"
            )

    def test_a_file_over_the_logger_limit_is_refused_before_parsing(self, world, settings, client_for):
        """Issue 15: a 50 MB CSV tied a worker; the limit is checked first and nothing is written."""
        shipment = kit.ship_and_arrive(world, tag="000715", excursion=False)
        link = shipment.loggers.get()
        settings.CELLCHAIN_MAX_LOGGER_FILE_BYTES = 200_000
        data = b"time,temperature\n" + b"2026-03-01T00:00:00Z,-180\n" * 10_000  # 270 kB
        before = link.imports.count()
        with pytest.raises(TooLarge, match=r"big.csv is 0.3 MB; a logger file may be at most 0.2 MB"):
            services.logger_file_import(
                actor=world["pharmacist_liu"], logger=link, data=data, file_name="big.csv"
            )
        response = client_for("pharmacist_liu").post(
            f"/api/logistics/shipments/{shipment.number}/loggers/{link.serial}/files",
            {"file": SimpleUploadedFile("big.csv", data, content_type="text/csv")},
        )
        assert response.status_code == 413 and "at most 0.2 MB" in response.json()["message"]
        assert link.imports.count() == before

    def test_a_request_body_over_the_installation_limit_gets_413_unread(self, world, settings, client_for):
        shipment = kit.ship_and_arrive(world, tag="000716", excursion=False)
        settings.CELLCHAIN_MAX_UPLOAD_BYTES = 1_000_000
        data = b"x" * 1_200_000
        client = client_for("pharmacist_liu")
        link = shipment.loggers.get()
        page = client.post(
            f"/logistics/shipments/{shipment.number}/loggers/{link.serial}/upload/",
            {"file": SimpleUploadedFile("huge.csv", data, content_type="text/csv")},
        )
        assert page.status_code == 413
        assert "at most 1.0 MB per request" in page.content.decode()
        assert link.imports.count() == 1  # only the file imported when the shipment arrived


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
        shipment = kit.ship_and_arrive(world, tag="000721", excursion=False)
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
        shipment = kit.ship_and_arrive(world, tag="000722", excursion=True)
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
        shipment = kit.ship_and_arrive(world, tag="000723", excursion=False)
        answers = dict(demo.ALL_YES)
        del answers["T-8.1.4-b"]
        with pytest.raises(ValidationFailed, match=r"T-8\.1\.4-b"):
            services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                     scanned_units=shipment.expected_units, answers=answers, **at_receipt(world))  # fmt: skip

    def test_damaged_package_rejects(self, world):
        shipment = kit.ship_and_arrive(world, tag="000724", excursion=False)
        answers = {**demo.ALL_YES, "T-8.1.4-a": {"answer": "no", "note": "outer case cracked"}}
        inspection = services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                              scanned_units=shipment.expected_units, answers=answers, **at_receipt(world))  # fmt: skip
        assert inspection.outcome == ReceiptInspection.Outcome.REJECTED
        assert Deviation.objects.get(number=inspection.deviation_number).kind == Deviation.Kind.RECEIPT

    def test_missing_unit_at_receipt_quarantines(self, world):
        """T-8.1.3-a: scanned units compared with the order."""
        shipment = kit.ship_and_arrive(world, tag="000725", excursion=False)
        inspection = services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                              scanned_units=shipment.expected_units[:1], answers=demo.ALL_YES, **at_receipt(world))  # fmt: skip
        assert inspection.outcome == ReceiptInspection.Outcome.QUARANTINED
        assert "expected but not scanned" in inspection.failures[0]["reason"]

    def test_receiver_must_be_qualified_and_at_the_receiving_site(self, world):
        """T-8.1.2-a: only qualified receivers of the site record a receipt."""
        shipment = kit.ship_and_arrive(world, tag="000726", excursion=False)
        with pytest.raises(NotAllowed):
            services.receipt_inspect(actor=world["nurse_li"], shipment=shipment,
                                     scanned_units=shipment.expected_units, answers=demo.ALL_YES, **at_receipt(world))  # fmt: skip
        with pytest.raises(NotAllowed, match="receipt"):
            services.receipt_inspect(actor=world["physician_wang"], shipment=shipment,
                                     scanned_units=shipment.expected_units, answers=demo.ALL_YES, **at_receipt(world))  # fmt: skip

    def test_only_the_receiver_signs(self, world):
        shipment = kit.ship_and_arrive(world, tag="000727", excursion=False)
        inspection = services.receipt_inspect(actor=world["pharmacist_liu"], shipment=shipment,
                                              scanned_units=shipment.expected_units, answers=demo.ALL_YES, **at_receipt(world))  # fmt: skip
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
