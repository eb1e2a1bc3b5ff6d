"""Fixtures of the CAPA tests: a frozen clock, a deviation at the manufacturer, a product version, a kit that
walks a deviation to the point of closure through the services (issue 13 item 4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from cellchain.capa import services
from cellchain.capa.models import CapaAction, ChangeRequest
from cellchain.core import clock
from cellchain.manufacturing import services as mfg
from cellchain.manufacturing.models import ProductVersion
from cellchain.manufacturing.reference_product import INFORMATION, METHODS, PROCESS, SPECIFICATION
from cellchain.qc import services as qc
from cellchain.quality import services as quality
from cellchain.quality.models import Deviation
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD

NOW = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 15)  # Shanghai's date at NOW


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


class CapaKit:
    """A deviation at the manufacturer and the steps that bring it to closure, through the services only."""

    def __init__(self, world: Any) -> None:
        self.world = world
        self.qa, self.operator = world["qa_li"], world["operator_chen"]
        self.deviation = quality.deviation_open(
            actor=self.operator,
            site=world.sites["shenghe-prod"],
            kind=Deviation.Kind.PROCESS,
            title="Incubator CO2 at 6.2 %",
            description="CO2 above 5.5 % for 40 min during expansion.",
        )

    def signer(self, username: str = "qa_li", password: str = PERSONA_PASSWORD) -> SignerCredentials:
        return SignerCredentials(self.world[username], password)

    def refresh(self) -> Deviation:
        self.deviation = Deviation.objects.select_related("site").get(pk=self.deviation.pk)
        return self.deviation

    def disposition(self) -> None:
        quality.deviation_disposition(
            actor=self.qa, deviation=self.refresh(), investigation="see CAPA", disposition="batch continues"
        )

    def investigate(self) -> None:
        services.investigation_record(
            actor=self.qa,
            deviation=self.refresh(),
            investigator=self.world["qa_guo"],
            category="equipment",
            root_cause="CO2 sensor drift; last calibration 11 months ago.",
            impact_assessment="Cells within viability limits; no impact on the batch.",
        )

    def action(self, kind: str = "corrective", due: int = 10, owner: str = "operator_chen") -> CapaAction:
        return services.capa_action_add(
            actor=self.qa,
            deviation=self.refresh(),
            kind=kind,
            description=f"{kind} action",
            owner=self.world[owner],
            due_on=TODAY + dt.timedelta(days=due),
        )

    def complete(self, action: CapaAction, who: str = "operator_chen") -> CapaAction:
        return services.capa_action_complete(actor=self.world[who], action=action, note="done, record QF-77")

    def check(self, result: str = "effective") -> Any:
        return services.effectiveness_check_record(
            actor=self.qa, deviation=self.refresh(), result=result, evidence="3 months without recurrence"
        )

    def ready(self) -> None:
        """Dispositioned, investigated, one action done, checked effective: closure may go ahead."""
        self.disposition()
        self.investigate()
        self.complete(self.action())
        self.check()

    def close(self, who: str = "qa_li", password: str = PERSONA_PASSWORD) -> Deviation:
        return services.deviation_close(
            actor=self.world[who], deviation=self.refresh(), signer=self.signer(who, password)
        )


@pytest.fixture
def kit(world: Any) -> CapaKit:
    return CapaKit(world)


@pytest.fixture
def version(world: Any) -> ProductVersion:
    qa = world["qa_li"]
    for method in METHODS:
        qc.method_register(actor=qa, **method)
    product = mfg.product_create(
        actor=qa,
        code="cd19-cart",
        name_zh="CD19 CAR-T",
        name_en="CD19 CAR-T",
        site=world.sites["shenghe-prod"],
    )
    return mfg.product_version_create(
        actor=qa, product=product, process=PROCESS, specification=SPECIFICATION, information=INFORMATION
    )


def raise_change(world: Any, version: ProductVersion | None, **changes: Any) -> ChangeRequest:
    data: dict[str, Any] = {
        "kind": "process",
        "title": "Expansion medium from X-VIVO 15 to TexMACS",
        "description": "Replace the expansion medium.",
        "reason": "Supplier discontinues X-VIVO 15.",
        "risk_level": "high",
        "risk_assessment": "Growth kinetics may change; comparability study needed.",
        "affected_versions": [version] if version is not None else [],
        **changes,
    }
    actor = data.pop("actor", world["operator_chen"])
    return services.change_raise(actor=actor, **data)
