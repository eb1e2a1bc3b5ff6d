"""Records for the metrics tests, written in bulk behind the ledger (ledger/tests/behind.py).

The metrics only read: what they count is the rows, however they were written. Writing hundreds of journeys,
batches and shipments through the services (signatures, two-person checks, cold-chain imports) would take
minutes, so the query-count pins at ten times the data write the rows directly. The demo's records, written
through the services, are read by `test_selectors.py::TestOnTheDemoRecords` too.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from cellchain.clinic.models import BedsideCheck, ClinicUnit, Infusion, ProductUseProfile, TreatmentCourse
from cellchain.clinic.samples import PRODUCT_DEFAULTS
from cellchain.journeys.models import Collection, EthicsApproval, Journey
from cellchain.ledger.tests.behind import bulk_create_unledgered, create_unledgered
from cellchain.logistics.models import ReceiptInspection, Shipment
from cellchain.manufacturing.models import ApheresisIntake, Batch, Product, ProductVersion
from cellchain.manufacturing.reference_product import INFORMATION, PROCESS, SPECIFICATION
from cellchain.qc.models import AnalyticalMethod, QcResult, ReleaseDecision

H = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
CQA_ITEMS = {"viability": "viability", "car_positive": "car_positive", "vcn": "vcn", "dose": "viable_cells"}
UNITS = {"viability": "%", "car_positive": "%", "vcn": "copies/cell", "dose": "cells"}
_numbers = itertools.count(1)


def _n() -> int:
    return next(_numbers)


def _fields(model: type, values: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in model._meta.get_fields()}
    return {k: v for k, v in values.items() if k in names}


class Records:
    """Journeys, batches and shipments of one world, each with what the metrics read."""

    def __init__(self, world: Any, now: dt.datetime) -> None:
        self.world, self.now = world, now
        self.maker = world.sites["shenghe-prod"]
        self.qa, self.analyst = world["qa_li"], world["qc_zhang"]
        self._products: dict[str, ProductVersion] = {}
        self.method = AnalyticalMethod.objects.first() or create_unledgered(
            AnalyticalMethod, code="metrics-test", name_zh="测试", name_en="test", standing="validated"
        )

    # -- journeys: collection and infusion ------------------------------------------------------------------

    def _ethics(self, site: Any) -> EthicsApproval:
        found = EthicsApproval.objects.filter(site=site, number="METRICS-EC").first()
        return found or create_unledgered(
            EthicsApproval, site=site, product_code="S1395V00", protocol="metrics", number="METRICS-EC",
            approved_on=self.now.date() - 900 * DAY, valid_until=self.now.date() + 900 * DAY,
        )  # fmt: skip

    def _profile(self) -> ProductUseProfile:
        found = ProductUseProfile.objects.filter(code="METRICS-PROFILE").first()
        values = PRODUCT_DEFAULTS | {"code": "METRICS-PROFILE", "manufacturer": self.maker.organisation}
        return found or create_unledgered(ProductUseProfile, **_fields(ProductUseProfile, values))

    def journeys(
        self,
        site_code: str,
        days: Sequence[float | None],
        *,
        infused_at: dt.datetime | None = None,
        product: str = "CD19 CAR-T",
    ) -> list[Journey]:
        """One journey per entry of `days`: collected that many days before its infusion (None: collected, not
        infused yet). Infusions start at `infused_at` (default a day ago), a minute apart."""
        site, infused_at = self.world.sites[site_code], infused_at or self.now - DAY
        ethics, profile, nurse = self._ethics(site), self._profile(), self.world["nurse_wang"]
        tags = [f"{site.facility_id}{_n():08d}" for _ in days]
        journeys = bulk_create_unledgered(Journey, [
            Journey(coi=f"CH{tag}", coi_check="A", pseudonym=f"P-{tag}", hospital_site=site,
                    manufacturer_site=self.maker, product_code="S1395V00", product_name=product,
                    starting_material="fresh", ethics_approval=ethics, status="collected",
                    enrolled_at=infused_at - 60 * DAY, enrolled_by=self.world["coordinator_zhou"])
            for tag in tags
        ])  # fmt: skip
        starts = [infused_at + i * dt.timedelta(minutes=1) for i in range(len(days))]
        bulk_create_unledgered(Collection, [
            Collection(journey=j, site=site, operator=self.world["apheresis_sun"],
                       collected_at=start - (d if d is not None else 5) * DAY, anticoagulant_ratio=12,
                       processed_blood_volume_ml=10000, cycles=3, collected_volume_ml=200, mnc_count=5,
                       mnc_target_low=1, mnc_target_high=9, mnc_shortfall=False, starting_material="fresh")
            for j, start, d in zip(journeys, starts, days, strict=True)
        ])  # fmt: skip
        infused = [(j, s) for j, s, d in zip(journeys, starts, days, strict=True) if d is not None]
        self._infuse(site, profile, nurse, infused)
        return journeys

    def _infuse(
        self, site: Any, profile: Any, nurse: Any, infused: list[tuple[Journey, dt.datetime]]
    ) -> None:
        courses = bulk_create_unledgered(TreatmentCourse, [
            TreatmentCourse(journey_ref=f"J-{j.coi}", coi=j.coi, patient_wristband_id=f"WB-{j.coi}",
                            patient_label=j.pseudonym, site=site, product=profile,
                            physician=self.world["physician_wang"], lymphodepletion_regimen="Flu/Cy",
                            lymphodepletion_start=s.date() - 5 * DAY, lymphodepletion_end=s.date() - 3 * DAY,
                            infusion_window_start=s.date() - DAY, infusion_window_end=s.date() + DAY)
            for j, s in infused
        ])  # fmt: skip
        units = bulk_create_unledgered(ClinicUnit, [
            ClinicUnit(unit_id=f"U{c.coi}", course=c, coi=c.coi, batch_number="B-METRICS", release="released")
            for c in courses
        ])  # fmt: skip
        checks = bulk_create_unledgered(BedsideCheck, [
            BedsideCheck(course=c, unit=u, wristband_scan=c.patient_wristband_id, unit_scan=u.unit_id,
                         performer=nurse, checked_at=s - 10 * dt.timedelta(minutes=1), verdict="proceed")
            for c, u, (_, s) in zip(courses, units, infused, strict=True)
        ])  # fmt: skip
        bulk_create_unledgered(Infusion, [
            Infusion(course=c, unit=u, bedside_check=b, route="intravenous", rate_ml_h=300.0,
                     infusion_set="IV-STD-200", volume_ml=68.0, car_positive_viable_cells=2.1e8, started_at=s,
                     emergency_contact="ICU", rescue_staff_present=True, performed_by=nurse)
            for c, u, b, (_, s) in zip(courses, units, checks, infused, strict=True)
        ])  # fmt: skip

    # -- batches: QC results and release ---------------------------------------------------------------------

    def version(
        self, code: str = "cd19-metrics", specification: Mapping[str, Any] | None = None
    ) -> ProductVersion:
        """Version 1 of product `code` at the manufacturer (the reference specification by default)."""
        if code not in self._products:
            product = create_unledgered(
                Product, code=code, name_zh=f"{code} 中文", name_en=f"{code} English", site=self.maker
            )
            self._products[code] = create_unledgered(
                ProductVersion, product=product, version=1, status="approved", process=PROCESS,
                specification=specification or SPECIFICATION, information=INFORMATION, created_at=self.now,
                created_by=self.qa, approved_at=self.now, approved_by=self.qa,
            )  # fmt: skip
        return self._products[code]

    def batches(
        self,
        series: Iterable[Mapping[str, float]],
        *,
        version: ProductVersion | None = None,
        released_at: dt.datetime | None = None,
        released: bool = True,
        oos: Iterable[int] = (),
        retested: Iterable[int] = (),
        collection_site: str = "xiehe-main",
        items: Mapping[str, str] = CQA_ITEMS,
    ) -> list[Batch]:
        """One batch per mapping of CQA values (attribute -> value), started a day apart in that order and
        released at `released_at` (default two days ago). Batch `i in oos` also has an OOS result for
        endotoxin, superseded by a conforming retest; `i in retested` a conforming result retested."""
        version = version or self.version()
        rows = list(series)
        released_at = released_at or self.now - 2 * DAY
        first = self.now - (len(rows) + 30) * DAY
        batches = self._batch_rows(version, len(rows), first, released, collection_site)
        results = [
            QcResult(batch=b, item_code=items[name], value=Decimal(str(value)), unit=UNITS[name],
                     performed_at=b.started_at + 10 * DAY, verdict="conforms", **self._result_common())
            for b, values in zip(batches, rows, strict=True) for name, value in values.items()
        ]  # fmt: skip
        bulk_create_unledgered(QcResult, results)
        self._superseded(batches, set(oos), "does_not_conform")
        self._superseded(batches, set(retested), "conforms")
        if released:
            bulk_create_unledgered(ReleaseDecision, [
                ReleaseDecision(batch=b, outcome="releasable", evaluation={}, decided_at=released_at,
                                decided_by=self.qa)
                for b in batches
            ])  # fmt: skip
        return batches

    def _result_common(self) -> dict[str, Any]:
        return {"method": self.method, "method_standing": "validated", "status": "final",
                "performed_by": self.analyst}  # fmt: skip

    def _batch_rows(
        self, version: ProductVersion, count: int, first: dt.datetime, released: bool, collection_site: str
    ) -> list[Batch]:
        tags = [_n() for _ in range(count)]
        intakes = bulk_create_unledgered(ApheresisIntake, [
            ApheresisIntake(din=f"W9{tag:011d}", coi=f"CHM{tag:012d}",
                            collection_site=self.world.sites[collection_site], collected_at=first,
                            received_at=first, received_by=self.world["logistics_zhao"],
                            starting_material="fresh", bag_intact=True, temperature_ok=True)
            for tag in tags
        ])  # fmt: skip
        return bulk_create_unledgered(Batch, [
            Batch(number=f"BM-{tag:06d}", product_version=version, intake=intake, site=self.maker,
                  status="released" if released else "awaiting_release", started_at=first + i * DAY,
                  started_by=self.world["operator_chen"])
            for i, (tag, intake) in enumerate(zip(tags, intakes, strict=True))
        ])  # fmt: skip

    def _superseded(self, batches: list[Batch], which: set[int], first_verdict: str) -> None:
        """An endotoxin result with `first_verdict`, superseded by a conforming retest, for batches `which`."""
        chosen = [b for i, b in enumerate(batches) if i in which]
        retests = bulk_create_unledgered(QcResult, [
            QcResult(batch=b, item_code="endotoxin", value=Decimal("0.1"), unit="EU/mL",
                     performed_at=b.started_at + 11 * DAY, verdict="conforms", **self._result_common())
            for b in chosen
        ])  # fmt: skip
        bulk_create_unledgered(QcResult, [
            QcResult(batch=b, item_code="endotoxin", value=Decimal("0.9"), unit="EU/mL",
                     performed_at=b.started_at + 10 * DAY, verdict=first_verdict, is_current=False,
                     superseded_by=retest, **self._result_common())
            for b, retest in zip(chosen, retests, strict=True)
        ])  # fmt: skip

    # -- shipments: receipts ----------------------------------------------------------------------------------

    def receipts(self, failures: Sequence[Sequence[str]], *, received_at: dt.datetime | None = None) -> None:
        """One shipment to Xiehe per entry, received at `received_at` (default a day ago) with those failed
        receipt checks (e.g. ["T-8.1.3-e", "T-8.1.5-b"] for an excursion, [] for a clean receipt)."""
        received_at = received_at or self.now - DAY
        xiehe = self.world.sites["xiehe-main"]
        shipments = bulk_create_unledgered(Shipment, [
            Shipment(number=f"SHM-{_n():06d}", kind="ln2_dry_shipper", from_site=self.maker, to_site=xiehe,
                     product_name="CD19 CAR-T", max_transit_hours=Decimal(48), container_type="dry shipper",
                     container_code="DS-1", status="accepted" if not checks else "quarantined",
                     created_at=received_at - 2 * DAY, created_by=self.world["logistics_zhao"])
            for checks in failures
        ])  # fmt: skip
        bulk_create_unledgered(ReceiptInspection, [
            ReceiptInspection(shipment=s, received_at=received_at, receiver=self.world["pharmacist_liu"],
                              answers={}, coldchain={"within_limits": not checks}, outcome=s.status,
                              failures=[{"check": c, "reason": f"{c} failed", "source": "system",
                                         "consequence": "quarantine"} for c in checks],
                              retain_until=received_at.date() + 3650 * DAY)
            for s, checks in zip(shipments, failures, strict=True)
        ])  # fmt: skip
