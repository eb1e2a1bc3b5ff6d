"""Test kit: a product approved through the services, areas, equipment, lots, received apheresis units, and a
batch walked step by step with the clock moved forward, as operators would do it."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import Any

from cellchain.core import clock
from cellchain.domain.custody import CustodyStep
from cellchain.manufacturing import services
from cellchain.manufacturing.demo import qualified_supplier, released_lot
from cellchain.manufacturing.models import ApheresisIntake, Batch, BatchStep, ProductionArea, ProductVersion
from cellchain.manufacturing.reference_product import INFORMATION, METHODS, PROCESS, SPECIFICATION
from cellchain.qc import services as qc
from cellchain.signatures.services import SignerCredentials

H = dt.timedelta(hours=1)

PASSING: dict[str, dict[str, Any]] = {
    "appearance": {"outcome": "conforms"},
    "ph": {"value": Decimal("7.1")},
    "osmolality": {"value": Decimal(310)},
    "sterility_rapid": {"outcome": "negative"},
    "sterility": {"outcome": "negative"},
    "mycoplasma_rapid": {"outcome": "negative"},
    "mycoplasma": {"outcome": "negative"},
    "endotoxin": {"value": Decimal("0.12")},
    "viability": {"value": Decimal("91.5")},
    "viable_cells": {"value": Decimal("2.4E8")},
    "car_positive": {"value": Decimal("38.6")},
    "vcn": {"value": Decimal("2.3")},
    "cd3": {"value": Decimal("97.1")},
    "potency": {"value": Decimal(52)},
    "rcl": {"outcome": "negative"},
    "bead_residue": {"value": Decimal(4)},
    "il2_residue": {"value": Decimal(12)},
}


class ManufacturingKit:
    """Everything a batch needs, created through the services only."""

    def __init__(self, world: Any, password: str, now: dt.datetime) -> None:
        self.world, self.password, self.now = world, password, now
        self.site = world.sites["shenghe-prod"]
        self.qa = world["qa_li"]
        self.operator = world["operator_chen"]
        self.analyst = world["qc_zhang"]
        self.payloads: dict[str, str] = {}  # DIN -> what its label's DataMatrix reads

    def signer(self, username: str) -> SignerCredentials:
        return SignerCredentials(self.world[username], self.password)

    def setup(self) -> ManufacturingKit:
        for method in METHODS:
            qc.method_register(actor=self.qa, **method)
        self.product = services.product_create(
            actor=self.qa,
            code="cd19-cart",
            name_zh="CD19 CAR-T",
            name_en="CD19 CAR-T",
            site=self.site,
            isbt_product_code="S1395V00",
        )
        self.version = self.new_version()
        services.product_version_approve(actor=self.qa, version=self.version, signer=self.signer("qa_li"))
        self.unit_area = services.area_create(
            actor=self.qa, site=self.site, code="unit-a", name="Unit A", mode=ProductionArea.Mode.UNIT_BASED
        )
        self.rooms = [
            services.area_create(
                actor=self.qa,
                site=self.site,
                code=f"room-{i}",
                name=f"Room {i}",
                mode=ProductionArea.Mode.ROOM_BASED,
            )
            for i in (1, 2)
        ]
        due = self.now.date() + dt.timedelta(days=180)
        self.cabinet = services.equipment_register(
            actor=self.qa,
            site=self.site,
            code="bsc-01",
            kind="biosafety_cabinet",
            name="BSC 01",
            calibration_due=due,
        )
        self.incubator = services.equipment_register(
            actor=self.qa,
            site=self.site,
            code="inc-01",
            kind="incubator",
            name="Incubator 01",
            calibration_due=due,
        )
        self.supplier = qualified_supplier(
            self.qa,
            self.signer("qa_li"),
            self.site,
            code="acme-bio",
            name="Acme Bio",
            supplies="beads, media",
        )
        self.beads = released_lot(
            self.qa,
            self.signer("qa_li"),
            registered_supplier=self.supplier,
            material="CD3/CD28 beads",
            lot="DB-2291",
            documents_attached=True,
            expires_on=due,
            biological_origin=True,
            risk_assessment_approved=True,
        )
        return self

    def new_version(self, **changes: Any) -> ProductVersion:
        documents = {
            "process": PROCESS,
            "specification": SPECIFICATION,
            "information": INFORMATION,
            **changes,
        }
        return services.product_version_create(actor=self.qa, product=self.product, **documents)

    # -- apheresis units through the journeys context -------------------------------------------------------

    def received_unit(self) -> Any:
        """A collected unit labelled, packed, shipped and received at the manufacturer (journeys services)."""
        from cellchain.journeys import services as js
        from cellchain.journeys.tests.conftest import JourneyKit

        if getattr(self, "_journeys", None) is None:
            self._journeys = JourneyKit(self.world, clock.now())
        journeys = self._journeys
        journeys.now, journeys.today = clock.now(), clock.now().date()
        # Two journeys per slot (its capacity): later journeys book the slots of later days.
        made = getattr(self, "_units_made", 0)
        self._units_made = made + 1
        journeys.slots = functools.partial(JourneyKit.slots, journeys, 3 + made // 2)  # type: ignore[method-assign]
        unit = journeys.units(journeys.collected())[0]
        label = js.label_print(actor=self.world["apheresis_sun"], unit=unit).record
        js.unit_label_verify(
            unit=unit,
            scanned_text=label.payload,
            performer=self.signer("apheresis_sun"),
            verifier=self.signer("apheresis_gao"),
        )
        # The label is on the bag: its fate balances the label reconciliation (FACT-JACIE CM7.2.2.1).
        js.label_disposition_record(actor=self.world["apheresis_sun"], unit=unit, label=label, fate="used")
        js.unit_custody_scan(
            actor=self.world["apheresis_sun"],
            unit=unit,
            step=CustodyStep.PACK,
            scanned_text=label.payload,
            details=js.ScanDetails(shipper_code="SHIPPER-01"),
        )
        js.unit_custody_scan(
            actor=self.world["apheresis_sun"],
            unit=unit,
            step=CustodyStep.HAND_TO_COURIER,
            scanned_text=label.payload,
        )
        js.unit_custody_scan(
            actor=self.world["logistics_zhao"],
            unit=unit,
            step=CustodyStep.RECEIVE_AT_MANUFACTURER,
            scanned_text=label.payload,
        )
        unit.refresh_from_db()
        self.payloads[unit.din] = label.payload
        return unit

    def intake(self, unit: Any | None = None, **checks: bool) -> ApheresisIntake:
        unit = unit or self.received_unit()
        intake = services.apheresis_intake_record(
            actor=self.operator,
            scan=self.payloads[unit.din],
            bag_intact=checks.get("bag_intact", True),
            temperature_ok=checks.get("temperature_ok", True),
        )
        return intake

    def scan(self, batch_or_intake: Any) -> str:
        """What the bag's label reads when scanned."""
        intake = getattr(batch_or_intake, "intake", batch_or_intake)
        return self.payloads[intake.din]

    # -- a batch walked through its steps -------------------------------------------------------------------

    def start(self, intake: ApheresisIntake, area: ProductionArea | None = None) -> Batch:
        return services.batch_start(
            actor=self.operator,
            version=self.version,
            intake=intake,
            scan=self.scan(intake),
            area=area or self.unit_area,
        )

    def step(
        self,
        batch: Batch,
        code: str,
        values: dict[str, str],
        hours: float,
        area: ProductionArea | None = None,
    ) -> BatchStep:
        """Start `code`, enter `values`, let `hours` pass, complete (signing where the template asks)."""
        step = services.step_start(
            actor=self.operator, batch=batch, step_code=code, scan=self.scan(batch), area=area
        )
        for name, value in values.items():
            services.parameter_record(actor=self.operator, step=step, code=name, value=value)
        if code == "activation":
            services.equipment_use_record(actor=self.operator, step=step, equipment=self.cabinet)
            services.material_use_record(actor=self.operator, step=step, lot=self.beads, quantity="3 mL")
        if code == "expansion":
            services.equipment_use_record(actor=self.operator, step=step, equipment=self.incubator)
        if code == "fill":
            services.fill_record(
                actor=self.operator,
                step=step,
                patient_units=2,
                qc_units=1,
                retained_units=1,
                volume_per_unit_ml=Decimal(25),
            )
        self.advance(hours)
        signer = self.signer("operator_chen") if code in ("harvest", "fill") else None
        return services.step_complete(actor=self.operator, step=step, signer=signer)

    def advance(self, hours: float) -> None:
        self.now = self.now + dt.timedelta(hours=hours)
        clock._frozen.append(self.now)

    STEPS: list[tuple[str, dict[str, str], float]] = [
        ("activation", {"viable_cells_in": "1.2E8", "bead_ratio": "3", "activator_lot": "DB-2291"}, 30),
        ("transduction", {"moi": "3", "vector_lot": "LV-19-007"}, 20),
        ("expansion", {"temperature": "37.0", "co2": "5.0", "medium": "X-VIVO 15"}, 9 * 24),
        ("harvest", {"wash_cycles": "3"}, 3),
        ("formulation", {"dmso": "7.5"}, 1),
        ("fill", {"cooling_program": "CRF-PROG-2"}, 2),
    ]

    def manufactured(self, intake: ApheresisIntake | None = None, until: str = "fill") -> Batch:
        batch = self.start(intake or self.intake())
        self.advance(1)
        for code, values, hours in self.STEPS:
            self.step(batch, code, values, hours)
            if code == until:
                break
        batch.refresh_from_db()
        return batch

    def results(self, batch: Batch, **overrides: dict[str, Any]) -> None:
        for code, fields in (PASSING | overrides).items():
            qc.result_record(actor=self.analyst, batch=batch, item_code=code, **fields)

    def ready_for_release(self, batch: Batch, **overrides: dict[str, Any]) -> Batch:
        self.results(batch, **overrides)
        retained = batch.units.get(purpose="retained")
        qc.retained_sample_register(
            actor=self.analyst,
            unit=retained,
            container="LN2-03",
            rack="R2",
            box="B7",
            position=f"A{retained.pk}",
        )
        qc.audit_trail_review_record(actor=self.qa, batch=batch, signer=self.signer("qa_li"))
        batch.refresh_from_db()
        return batch
