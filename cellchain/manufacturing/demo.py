"""Demo manufacturing (issue 5): the method master, an approved CD19 CAR-T product, a unit-based production
unit and two rooms, equipment and lots, and two batches made from apheresis units received from Xiehe: one in
the production unit, one through the rooms, both manufactured and awaiting QC release (the QC demo releases
one fully and one conditionally).

The batches happened over the past three weeks: each step is run through the services with the clock set to
the time it happened, so durations (activation 24-48 h, expansion 7-14 days) are real. Idempotent: nothing
is made twice (checked by the demo batches and the demo wristbands). The product's approved version exists
from 300 days ago (`approved_version`), before the clinic demo adopts its information package.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from cellchain.accounts.world import DEMO_PASSWORD
from cellchain.core import clock
from cellchain.domain.custody import CustodyStep
from cellchain.manufacturing import services
from cellchain.manufacturing.models import AreaPurpose, Batch, ProductionArea, ProductVersion
from cellchain.manufacturing.reference_product import INFORMATION, METHODS, PROCESS, SPECIFICATION
from cellchain.signatures.services import SignerCredentials

PRODUCT_CODE = "cd19-cart-demo"
WRISTBANDS = ("DEMO-WB-0101", "DEMO-WB-0102")
STEPS: list[tuple[str, dict[str, str], float]] = [
    ("activation", {"viable_cells_in": "1.4E8", "bead_ratio": "3", "activator_lot": "DB-2291"}, 30),
    ("transduction", {"moi": "3", "vector_lot": "LV-19-007"}, 20),
    ("expansion", {"temperature": "37.0", "co2": "5.0", "medium": "X-VIVO 15"}, 9 * 24),
    ("harvest", {"wash_cycles": "3"}, 3),
    ("formulation", {"dmso": "7.5"}, 1),
    ("fill", {"cooling_program": "CRF-PROG-2 (-1 °C/min to -80 °C, then LN2 vapour)"}, 2),
]


@contextlib.contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    """Run the block as if it were `moment` (the demo history happened in the past)."""
    with clock.frozen(moment):
        yield


def qualified_supplier(qa: Any, signer: SignerCredentials, site: Any, **fields: Any) -> Any:
    """A supplier registered and qualified by QA for a year, on a (demo) audit (P-1.1-a)."""
    supplier = services.supplier_register(actor=qa, site=site, audit_reference="AUD-DEMO-01", **fields)
    return services.supplier_qualify(
        actor=qa,
        supplier=supplier,
        signer=signer,
        reason="supplier audit passed",
        requalify_by=clock.now().date() + dt.timedelta(days=365),
    )


def released_lot(qa: Any, signer: SignerCredentials, *, material: str, lot: str, **fields: Any) -> Any:
    """A lot registered, its CoA attached and released by QA with a signature (P-1.1-a/b, Q-2.6-a)."""
    registered = services.material_lot_register(actor=qa, material=material, lot=lot, **fields)
    coa = f"%PDF-1.4\n% CoA {material} lot {lot}\n".encode()
    services.material_certificate_attach(actor=qa, lot=registered, name=f"CoA-{lot}.pdf", content=coa)
    return services.material_lot_release(actor=qa, lot=registered, signer=signer)


class Demo:
    def __init__(self, world: Any, password: str) -> None:
        self.world, self.password = world, password
        self.site = world.sites["shenghe-prod"]
        self.qa, self.operator = world["qa_li"], world["operator_chen"]

    def signer(self, username: str) -> SignerCredentials:
        return SignerCredentials(self.world[username], self.password)

    def master_data(self) -> Any:
        from cellchain.qc.models import AnalyticalMethod
        from cellchain.qc.services import method_register

        for method in METHODS:
            if not AnalyticalMethod.objects.filter(code=method["code"]).exists():
                method_register(actor=self.qa, **method)
        product = services.product_create(
            actor=self.qa,
            code=PRODUCT_CODE,
            name_zh="CD19 CAR-T 细胞注射液（示例）",
            name_en="CD19 CAR-T cell injection (demo)",
            site=self.site,
            isbt_product_code="S1395V00",
        )
        version = services.product_version_create(
            actor=self.qa,
            product=product,
            process=PROCESS,
            specification=SPECIFICATION,
            information=INFORMATION,
            change_note="First version for the demo",
        )
        services.product_version_approve(actor=self.qa, version=version, signer=self.signer("qa_li"))
        return version

    def facility(self) -> None:
        for code, name, mode, grade, hvac in (
            ("unit-a", "生产单元 A / Production unit A", ProductionArea.Mode.UNIT_BASED, "B", "AHU-01"),
            ("unit-b", "生产单元 B / Production unit B", ProductionArea.Mode.UNIT_BASED, "B", "AHU-01"),
            ("room-1", "功能间 1 激活转导 / Room 1", ProductionArea.Mode.ROOM_BASED, "B", "AHU-02"),
            ("room-2", "功能间 2 培养 / Room 2 culture", ProductionArea.Mode.ROOM_BASED, "C", "AHU-02"),
        ):
            services.area_create(
                actor=self.qa,
                site=self.site,
                code=code,
                name=name,
                mode=mode,
                purpose=AreaPurpose.CELL_PREPARATION,
                grade=grade,
                hvac_system=hvac,
            )
        due = clock.now().date() + dt.timedelta(days=200)
        for code, kind, name in (
            ("bsc-01", "biosafety_cabinet", "生物安全柜 01 / BSC 01"),
            ("inc-01", "incubator", "CO2 培养箱 01 / Incubator 01"),
            ("crf-01", "controlled_rate_freezer", "程序降温仪 / Controlled-rate freezer"),
        ):
            services.equipment_register(
                actor=self.qa,
                site=self.site,
                code=code,
                kind=kind,
                name=name,
                calibration_due=due,
                maintenance_due=due,
            )
        services.equipment_register(
            actor=self.qa,
            site=self.site,
            code="inc-02",
            kind="incubator",
            name="CO2 培养箱 02（校准过期）/ Incubator 02 (calibration overdue)",
            calibration_due=clock.now().date() - dt.timedelta(days=3),
        )
        beads_supplier = qualified_supplier(
            self.qa,
            self.signer("qa_li"),
            self.site,
            code="thermo-dynal",
            name="赛默飞 Dynal / Thermo Fisher (Dynal)",
            supplies="CD3/CD28 Dynabeads",
        )
        vector_supplier = qualified_supplier(
            self.qa,
            self.signer("qa_li"),
            self.site,
            code="genvec-bio",
            name="基因载体生物 / GenVec Bio (vector CDMO)",
            supplies="CD19 CAR lentiviral vector",
        )
        released_lot(
            self.qa,
            self.signer("qa_li"),
            registered_supplier=beads_supplier,
            material="CD3/CD28 Dynabeads",
            lot="DB-2291",
            documents_attached=True,
            expires_on=due,
            biological_origin=True,
            risk_assessment_approved=True,
        )
        released_lot(
            self.qa,
            self.signer("qa_li"),
            registered_supplier=vector_supplier,
            material="CD19 CAR lentiviral vector",
            lot="LV-19-007",
            documents_attached=True,
            expires_on=due,
            is_vector=True,
            rcl_culture_passed=True,
        )

    def received_unit(self, wristband: str, name: str) -> str:
        """A journey labelled at Xiehe (journeys demo), packed, shipped and received here."""
        from cellchain.journeys import services as js
        from cellchain.journeys.demo import labelled_journey

        journey = labelled_journey(self.world, name=name, wristband=wristband, password=self.password)
        unit = journey.units.order_by("din").first()
        payload = unit.label_prints.order_by("-print_number").first().payload
        for actor, step, details in (
            ("apheresis_sun", CustodyStep.PACK, js.ScanDetails(shipper_code=f"SHIP-{wristband[-4:]}")),
            ("apheresis_sun", CustodyStep.HAND_TO_COURIER, js.ScanDetails(condition="2-8 °C box sealed")),
            ("logistics_zhao", CustodyStep.RECEIVE_AT_MANUFACTURER, js.ScanDetails(condition="intact, 5 °C")),
        ):
            js.unit_custody_scan(
                actor=self.world[actor], unit=unit, step=step, scanned_text=payload, details=details
            )
        return payload

    def batch(self, version: Any, start: dt.datetime, wristband: str, name: str, area: str) -> Batch:
        with at(start):
            payload = self.received_unit(wristband, name)
        with at(start + dt.timedelta(hours=3)):
            intake = services.apheresis_intake_record(
                actor=self.operator,
                scan=payload,
                bag_intact=True,
                temperature_ok=True,
                notes="5.1 °C at receipt",
            )
        where = ProductionArea.objects.get(code=area)
        with at(start + dt.timedelta(hours=4)):
            batch = services.batch_start(
                actor=self.operator, version=version, intake=intake, scan=payload, area=where
            )
        moment = start + dt.timedelta(hours=5)
        for code, values, hours in STEPS:
            moment = self.step(batch, code, values, moment, hours, payload)
        batch.refresh_from_db()
        return batch

    def step(
        self, batch: Batch, code: str, values: dict[str, str], moment: dt.datetime, hours: float, payload: str
    ) -> dt.datetime:
        rooms = {
            "activation": "room-1",
            "transduction": "room-1",
            "expansion": "room-2",
            "harvest": "room-1",
            "formulation": "room-1",
            "fill": "room-1",
        }
        area = None if batch.area_id else ProductionArea.objects.get(code=rooms[code])
        with at(moment):
            step = services.step_start(
                actor=self.operator, batch=batch, step_code=code, scan=payload, area=area
            )
            for name, value in values.items():
                services.parameter_record(actor=self.operator, step=step, code=name, value=value)
            self.uses(step, code)
        end = moment + dt.timedelta(hours=hours)
        with at(end):
            signer = self.signer("operator_chen") if code in ("harvest", "fill") else None
            services.step_complete(actor=self.operator, step=step, signer=signer)
        return end + dt.timedelta(minutes=30)

    def uses(self, step: Any, code: str) -> None:
        from cellchain.manufacturing.models import Equipment, MaterialLot

        if code == "activation":
            services.equipment_use_record(
                actor=self.operator, step=step, equipment=Equipment.objects.get(code="bsc-01")
            )
            services.material_use_record(
                actor=self.operator, step=step, lot=MaterialLot.objects.get(lot="DB-2291"), quantity="3.5 mL"
            )
        if code == "transduction":
            services.material_use_record(
                actor=self.operator,
                step=step,
                lot=MaterialLot.objects.get(lot="LV-19-007"),
                quantity="1.2 mL",
            )
        if code == "expansion":
            services.equipment_use_record(
                actor=self.operator, step=step, equipment=Equipment.objects.get(code="inc-01")
            )
        if code == "fill":
            services.fill_record(
                actor=self.operator,
                step=step,
                patient_units=2,
                qc_units=1,
                retained_units=1,
                volume_per_unit_ml=Decimal(25),
            )


MASTER_AGE = dt.timedelta(days=300)
"""The demo product's version was approved this long ago: before the clinic demo's first patient (T-7.4)."""


def approved_version(world: Any, password: str = DEMO_PASSWORD) -> ProductVersion:
    """The demo product's approved version, made with the method master when it is not there yet, so a
    context that builds on it (the clinic adopts its information package) can load its demo on its own."""
    version = ProductVersion.objects.filter(
        product__code=PRODUCT_CODE, status=ProductVersion.Status.APPROVED
    ).first()
    if version is not None:
        return version
    with at(clock.now().replace(second=0, microsecond=0) - MASTER_AGE):
        return Demo(world, password).master_data()  # type: ignore[no-any-return]


def load(world: Any, password: str = DEMO_PASSWORD) -> None:
    """Make the product, the facility and the two demo batches once."""
    if Batch.objects.filter(product_version__product__code=PRODUCT_CODE).exists():
        return
    demo = Demo(world, password)
    base = (clock.now() - dt.timedelta(days=21)).replace(hour=1, minute=0, second=0, microsecond=0)
    version = approved_version(world, password)
    with at(base - dt.timedelta(days=1)):
        if not ProductionArea.objects.filter(code="unit-a").exists():
            demo.facility()
    patients = (("王芳", "unit-a"), ("赵磊", "room-1"))  # one batch in a production unit, one through rooms
    for day, (wristband, (name, area)) in enumerate(zip(WRISTBANDS, patients, strict=True)):
        demo.batch(version, base + dt.timedelta(days=day), wristband, name, area)
