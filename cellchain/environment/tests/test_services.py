"""Clean-zone records through the services: cleaning logs, limits, monitoring results and excursions, the area
register, open steps refused in the wrong grade; each ledgered (T-5.1.3, T-5.1.6, T-5.1.7, G-2)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from cellchain.core.errors import NotAllowed, ValidationFailed
from cellchain.environment import services
from cellchain.environment.models import MonitoringResult, StoragePlacement
from cellchain.ledger.models import LedgerEntry
from cellchain.manufacturing import services as manufacturing
from cellchain.manufacturing.reference_product import PROCESS

pytestmark = pytest.mark.django_db


def _events(record: Any) -> list[str]:
    return list(
        LedgerEntry.objects.filter(record_type=record.ledger_record_type(), record_id=str(record.pk))
        .order_by("seq")
        .values_list("event", flat=True)
    )


def _graded(mfg: Any, area: Any, grade: str) -> Any:
    return manufacturing.area_environment_update(
        actor=mfg.qa,
        area=area,
        purpose="cell_preparation",
        grade=grade,
        hvac_system="AHU-01",
        reason="qualified",
    )


def _settle_limits(mfg: Any, grade: str = "B", alert: str = "2", action: str = "5") -> Any:
    return services.monitoring_limit_set(
        actor=mfg.qa, site=mfg.site, grade=grade, parameter="settle_plate", alert=alert, action=action
    )


class TestCleaning:
    def test_a_disinfection_is_logged_with_its_agent_and_ledgered(self, mfg: Any) -> None:
        """T-5.1.6: cleaning and disinfection logs per area."""
        cleaning = services.area_cleaning_record(
            actor=mfg.operator, area=mfg.unit_area, kind="disinfection", agent="75 % ethanol ETH-01"
        )
        assert cleaning.performed_by == mfg.operator and _events(cleaning) == ["area:disinfection"]

    def test_without_an_agent_or_by_an_auditor_it_is_refused(self, mfg: Any, world: Any) -> None:
        """T-5.1.6: the agent is part of the record; only production and QA clean."""
        with pytest.raises(ValidationFailed, match="agent"):
            services.area_cleaning_record(actor=mfg.operator, area=mfg.unit_area, kind="cleaning", agent=" ")
        with pytest.raises(NotAllowed):
            services.area_cleaning_record(
                actor=world["auditor_xiehe"], area=mfg.unit_area, kind="cleaning", agent="x"
            )


class TestMonitoring:
    def test_within_alert_and_action_and_the_excursion_opens_one_deviation(self, mfg: Any) -> None:
        """T-5.1.6, G-2: judged against the site's limits for the grade; an excursion opens a deviation."""
        area = _graded(mfg, mfg.unit_area, "B")
        _settle_limits(mfg)
        outcomes = [
            services.monitoring_result_record(actor=mfg.analyst, area=area, parameter="settle_plate", value=v)
            for v in ("1", "3", "7")
        ]
        assert [r.outcome for r in outcomes] == ["within", "alert", "action"]
        assert [r.deviation is None for r in outcomes] == [True, True, False]
        deviation = outcomes[2].deviation
        assert deviation.kind == "environment" and "above action limit 5" in deviation.title
        assert deviation.subject_id == str(outcomes[2].pk)
        assert _events(outcomes[2]) == ["environment:result:action", "environment:excursion"]

    def test_the_limits_in_force_stay_with_the_result(self, mfg: Any) -> None:
        """T-5.1.6, X-3: a later change of the limits does not rejudge an earlier result."""
        area = _graded(mfg, mfg.unit_area, "B")
        _settle_limits(mfg)
        first = services.monitoring_result_record(
            actor=mfg.analyst, area=area, parameter="settle_plate", value="3"
        )
        services.monitoring_limit_set(
            actor=mfg.qa,
            site=mfg.site,
            grade="B",
            parameter="settle_plate",
            alert="4",
            action="5",
            reason="trend",
        )
        first.refresh_from_db()
        assert (first.alert, first.outcome) == (Decimal(2), "alert")

    def test_refused_for_an_unclassified_area_or_without_limits(self, mfg: Any) -> None:
        """T-5.1.3, T-5.1.6: nothing to judge a result against would look like a pass."""
        with pytest.raises(ValidationFailed, match="no cleanliness grade"):
            services.monitoring_result_record(
                actor=mfg.analyst, area=mfg.unit_area, parameter="settle_plate", value="0"
            )
        area = _graded(mfg, mfg.unit_area, "C")
        with pytest.raises(ValidationFailed, match=r"No alert/action limit .* grade C"):
            services.monitoring_result_record(actor=mfg.analyst, area=area, parameter="viable_air", value="0")
        assert not MonitoringResult.objects.exists()

    def test_a_limit_looser_than_annex_1_is_refused_and_a_change_needs_a_reason(self, mfg: Any) -> None:
        """T-5.1.6: a site's action limit never looser than EU GMP Annex 1 for its grade; X-3 for a change."""
        with pytest.raises(ValidationFailed, match=r"looser than EU GMP Annex 1 allows \(5\)"):
            _settle_limits(mfg, action="6")
        limit = _settle_limits(mfg)
        with pytest.raises(ValidationFailed):
            _settle_limits(mfg, alert="3")  # no reason given
        limit.refresh_from_db()
        assert limit.alert == Decimal(2) and _events(limit) == ["environment:limit"]

    def test_only_qc_and_qa_record_results(self, mfg: Any) -> None:
        area = _graded(mfg, mfg.unit_area, "B")
        _settle_limits(mfg)
        with pytest.raises(NotAllowed):
            services.monitoring_result_record(
                actor=mfg.operator, area=area, parameter="settle_plate", value="0"
            )


class TestAreaRegister:
    def test_purpose_grade_and_hvac_are_registered_and_changed_with_a_reason(self, mfg: Any) -> None:
        """T-5.1.3: area register with purpose, cleanliness grade and HVAC system."""
        area = manufacturing.area_create(
            actor=mfg.qa,
            site=mfg.site,
            code="vs-01",
            name="Virus store",
            mode="room_based",
            purpose="virus_storage",
            grade="C",
            hvac_system="AHU-07",
        )
        assert (area.purpose, area.grade, area.hvac_system) == ("virus_storage", "C", "AHU-07")
        with pytest.raises(ValidationFailed, match="grade 'E'"):
            manufacturing.area_environment_update(
                actor=mfg.qa, area=area, purpose="", grade="E", hvac_system="", reason="x"
            )
        _graded(mfg, area, "B")
        assert _events(area) == ["area:create", "area:environment"]


class TestOpenSteps:
    def _open_activation(self, mfg: Any, grades: list[str]) -> None:
        process = copy.deepcopy(PROCESS)
        process["steps"][0].update(open_operation=True, allowed_grades=grades)
        version = mfg.new_version(process=process)
        manufacturing.product_version_approve(actor=mfg.qa, version=version, signer=mfg.signer("qa_li"))
        mfg.version = version

    def test_an_open_step_is_refused_in_a_room_of_the_wrong_grade(self, mfg: Any) -> None:
        """T-5.1.7: an open step cannot be recorded in an area whose grade the process does not allow."""
        from cellchain.core.errors import Conflict

        self._open_activation(mfg, ["A", "B"])
        room = _graded(mfg, mfg.rooms[0], "C")
        batch = mfg.start(mfg.intake(), room)
        with pytest.raises(Conflict, match=r"activation is an open .* grade A or B; room-1 is C \(T-5.1.7\)"):
            manufacturing.step_start(
                actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch), area=room
            )
        assert not batch.steps.exists()
        _graded(mfg, room, "B")
        step = manufacturing.step_start(
            actor=mfg.operator, batch=batch, step_code="activation", scan=mfg.scan(batch), area=room
        )
        assert step.area == room

    def test_an_open_step_naming_no_grade_cannot_be_approved(self, mfg: Any) -> None:
        """T-5.1.7: the process definition names the grades an open step may be done in."""
        process = copy.deepcopy(PROCESS)
        process["steps"][0]["open_operation"] = True
        version = mfg.new_version(process=process)
        problems = manufacturing.product_version_problems(version)
        assert "open_step_without_grade" in problems.checks


class TestStorage:
    def _store(self, mfg: Any, code: str, purpose: str) -> Any:
        return manufacturing.area_create(
            actor=mfg.qa, site=mfg.site, code=code, name=code, mode="room_based", purpose=purpose, grade="D"
        )

    def test_a_vector_lot_goes_only_into_virus_storage_and_cells_only_into_cell_storage(
        self, mfg: Any
    ) -> None:
        """T-5.1.4-c: storage typed virus or cell; the wrong placement is refused and nothing is written."""
        virus, cells = self._store(mfg, "vs-01", "virus_storage"), self._store(mfg, "cs-01", "cell_storage")
        vector = manufacturing.material_lot_register(
            actor=mfg.qa,
            material="CD19 CAR lentivirus",
            lot="LV-0912",
            is_vector=True,
            registered_supplier=mfg.beads.registered_supplier,
        )
        with pytest.raises(ValidationFailed, match=r"virus and cell storage are kept apart \(T-5.1.4-c\)"):
            services.storage_place(actor=mfg.operator, area=cells, lot=vector)
        placed = services.storage_place(
            actor=mfg.operator, area=virus, lot=vector, position="-80 °C F2 R1 B3"
        )
        assert _events(placed) == ["storage:place:vector"]
        batch = mfg.manufactured()
        unit = batch.units.first()
        with pytest.raises(ValidationFailed, match=r"T-5\.1\.4-c"):
            services.storage_place(actor=mfg.operator, area=virus, unit=unit)
        assert services.storage_place(actor=mfg.operator, area=cells, unit=unit).unit == unit
        assert StoragePlacement.objects.count() == 2

    def test_a_lot_that_is_not_a_vector_or_no_item_is_refused(self, mfg: Any) -> None:
        virus = self._store(mfg, "vs-01", "virus_storage")
        with pytest.raises(ValidationFailed, match="not a viral vector"):
            services.storage_place(actor=mfg.operator, area=virus, lot=mfg.beads)
        with pytest.raises(ValidationFailed, match="Place one item"):
            services.storage_place(actor=mfg.operator, area=virus)
