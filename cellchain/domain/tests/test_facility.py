"""Production areas, line clearance, equipment and lots (P-1.2.1-a/b, X-5, T-10.12, P-1.1, Q-2.6-a)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.facility import (
    AreaUse,
    Equipment,
    FacilityMode,
    LineClearance,
    MaterialLot,
    ProductionArea,
    SupplierStanding,
    SupplierStatus,
    area_start_check,
    equipment_use_check,
    line_clearance_check,
    material_lot_check,
    material_lot_release_check,
)
from cellchain.domain.tests.manufacturing_examples import T0, H

UNIT = ProductionArea("UNIT-A", FacilityMode.UNIT_BASED)
ROOM = ProductionArea("ROOM-3", FacilityMode.ROOM_BASED)


def clearance(
    at_hours: float, by: str = "op_sun", verifier: str = "qa_li", area: str = "UNIT-A"
) -> LineClearance:
    return LineClearance(area, by, verifier, T0 + at_hours * H)


def test_unit_based_second_batch_cannot_start_while_one_is_open() -> None:
    uses = [AreaUse("B1", T0, None)]
    gate = area_start_check(UNIT, "B2", is_culture=True, uses=uses, clearances=[])
    assert [(f.check, f.value, f.clause) for f in gate.findings] == [("area_occupied", "B1", "P-1.2.1-a")]


def test_unit_based_same_batch_continues_in_its_unit() -> None:
    assert area_start_check(
        UNIT, "B1", is_culture=False, uses=[AreaUse("B1", T0, None)], clearances=[]
    ).allowed


def test_unit_based_next_batch_needs_line_clearance_after_the_previous_closed() -> None:
    uses = [AreaUse("B1", T0, T0 + 10 * H)]
    assert area_start_check(UNIT, "B2", is_culture=False, uses=uses, clearances=[]).checks == (
        "line_clearance_missing",
    )
    early = [clearance(9)]
    assert not area_start_check(UNIT, "B2", is_culture=False, uses=uses, clearances=early).allowed
    assert area_start_check(UNIT, "B2", is_culture=False, uses=uses, clearances=[clearance(11)]).allowed


def test_clearance_by_one_person_does_not_count() -> None:
    same = clearance(11, by="op_sun", verifier="op_sun")
    assert line_clearance_check(same).checks == ("clearance_same_person",)
    assert line_clearance_check(clearance(11, verifier="")).checks == ("clearance_unsigned",)
    uses = [AreaUse("B1", T0, T0 + 10 * H)]
    assert not area_start_check(UNIT, "B2", is_culture=False, uses=uses, clearances=[same]).allowed


def test_clearance_of_another_area_does_not_count() -> None:
    uses = [AreaUse("B1", T0, T0 + 10 * H)]
    other = [clearance(11, area="UNIT-B")]
    assert not area_start_check(UNIT, "B2", is_culture=False, uses=uses, clearances=other).allowed


def test_room_based_one_batch_at_a_time_except_culture() -> None:
    culturing = [AreaUse("B1", T0, None, is_culture=True)]
    assert area_start_check(ROOM, "B2", is_culture=True, uses=culturing, clearances=[]).allowed
    gate = area_start_check(ROOM, "B2", is_culture=False, uses=culturing, clearances=[])
    assert [(f.check, f.clause) for f in gate.findings] == [("area_occupied", "P-1.2.1-b")]


def test_room_based_culture_cannot_join_a_room_with_a_non_culture_operation() -> None:
    sorting = [AreaUse("B1", T0, None, is_culture=False)]
    assert area_start_check(ROOM, "B2", is_culture=True, uses=sorting, clearances=[]).checks == (
        "area_occupied",
    )


def test_room_based_batch_returning_after_the_other_left_needs_no_new_clearance() -> None:
    uses = [AreaUse("B1", T0, T0 + 2 * H), AreaUse("B2", T0 + 3 * H, T0 + 4 * H)]
    room_clearance = [clearance(2.5, area="ROOM-3")]
    assert area_start_check(ROOM, "B2", is_culture=False, uses=uses, clearances=room_clearance).allowed
    assert area_start_check(ROOM, "B1", is_culture=False, uses=uses, clearances=room_clearance).checks == (
        "line_clearance_missing",
    )


uses_strategy = st.lists(
    st.builds(
        AreaUse,
        st.sampled_from(["B1", "B2", "B3"]),
        st.just(T0),
        st.one_of(st.none(), st.integers(1, 50).map(lambda h: T0 + h * H)),
        st.booleans(),
    ),
    max_size=5,
)


@given(uses_strategy, st.sampled_from(["B1", "B2", "B4"]), st.booleans())
def test_unit_never_admits_a_batch_while_another_is_open(
    uses: list[AreaUse], batch: str, culture: bool
) -> None:
    gate = area_start_check(UNIT, batch, is_culture=culture, uses=uses, clearances=[clearance(100)])
    if any(u.batch != batch and u.ended_at is None for u in uses):
        assert not gate.allowed


@given(uses_strategy, st.sampled_from(["B1", "B2", "B4"]))
def test_room_never_admits_non_culture_work_beside_another_open_batch(
    uses: list[AreaUse], batch: str
) -> None:
    gate = area_start_check(
        ROOM, batch, is_culture=False, uses=uses, clearances=[clearance(100, area="ROOM-3")]
    )
    assert gate.allowed == (not any(u.batch != batch and u.ended_at is None for u in uses))


@pytest.mark.parametrize(
    ("equipment", "checks"),
    [
        (Equipment("INC-01", "incubator", True, date(2026, 6, 1), date(2026, 6, 1)), ()),
        (Equipment("INC-01", "incubator", True, date(2026, 3, 1)), ("calibration_overdue",)),
        (Equipment("INC-01", "incubator", True, None), ("calibration_unknown",)),
        (
            Equipment("INC-01", "incubator", True, date(2026, 6, 1), date(2026, 3, 1)),
            ("maintenance_overdue",),
        ),
        (Equipment("INC-01", "incubator", False, date(2026, 3, 2)), ("equipment_out_of_service",)),
    ],
)
def test_equipment_overdue_or_out_of_service_cannot_be_selected(
    equipment: Equipment, checks: tuple[str, ...]
) -> None:
    assert equipment_use_check(equipment, date(2026, 3, 2)).checks == checks


def lot(**kw: object) -> MaterialLot:
    base: dict[str, object] = {
        "material": "IL-2",
        "lot": "L-7",
        "released": True,
        "expires_on": date(2026, 12, 31),
        "documents_attached": True,
        "supplier": SupplierStanding("acme", SupplierStatus.QUALIFIED, date(2027, 1, 1)),
        "coa_attached": True,
    }
    base.update(kw)
    return MaterialLot(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "checks"),
    [
        ({}, ()),
        ({"released": False}, ("lot_not_released",)),
        ({"expires_on": date(2026, 3, 1)}, ("lot_expired",)),
        ({"documents_attached": False}, ("lot_documents_missing",)),
        ({"research_use_only": True}, ("risk_assessment_missing",)),
        ({"biological_origin": True, "risk_assessment_approved": True}, ()),
        ({"is_vector": True}, ("vector_rcl_not_passed",)),
        ({"is_vector": True, "rcl_culture_passed": True}, ()),
        ({"coa_attached": False}, ("lot_coa_missing",)),
        ({"supplier": None}, ("supplier_unregistered",)),
        ({"supplier": SupplierStanding("acme", SupplierStatus.DISQUALIFIED)}, ("supplier_disqualified",)),
        ({"supplier": SupplierStanding("acme", SupplierStatus.PENDING)}, ("supplier_not_qualified",)),
        ({"supplier": SupplierStanding("acme", SupplierStatus.CONDITIONAL, date(2026, 6, 1))}, ()),
        (
            {"supplier": SupplierStanding("acme", SupplierStatus.QUALIFIED, date(2026, 3, 1))},
            ("supplier_qualification_lapsed",),
        ),
    ],
)
def test_material_lot_issue_rules(kw: dict[str, object], checks: tuple[str, ...]) -> None:
    """P-1.1-a (qualified supplier, vector lot released), P-1.1-b (release, expiry, CoA, documents,
    risk assessment), Q-2.6-a (vector RCL/RCR)."""
    assert material_lot_check(lot(**kw), date(2026, 3, 2)).checks == checks


def test_issue_refusal_names_the_clause_p_1_1_a_and_p_1_1_b() -> None:
    """A refusal's sentence names the clause it comes from (P-1.1-a, P-1.1-b, Q-2.6-a)."""
    gate = material_lot_check(
        lot(released=False, supplier=SupplierStanding("acme", SupplierStatus.DISQUALIFIED), is_vector=True),
        date(2026, 3, 2),
    )
    messages = {f.check: f.message for f in gate.findings}
    assert "(P-1.1-b)" in messages["lot_not_released"]
    assert "acme is disqualified (P-1.1-a)" in messages["supplier_disqualified"]
    assert "(Q-2.6-a)" in messages["vector_rcl_not_passed"]


def test_release_check_is_every_issue_rule_but_the_release_p_1_1_a() -> None:
    """QA cannot release a lot whose supplier is disqualified or that has no CoA (P-1.1-a, P-1.1-b)."""
    assert material_lot_release_check(lot(released=False), date(2026, 3, 2)).allowed
    assert material_lot_release_check(lot(released=False, coa_attached=False), date(2026, 3, 2)).checks == (
        "lot_coa_missing",
    )
