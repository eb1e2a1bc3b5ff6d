"""The clean-zone pages: the area list with grades, HVAC warnings and latest records; an area's log and results
recorded from the page; limits set by QA; who may do what; query counts that do not grow with the records; the
demo (T-5.1.3, T-5.1.5, T-5.1.6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from cellchain.accounts.world import build_world
from cellchain.environment import demo, services
from cellchain.environment.models import AreaCleaning, MonitoringLimit, MonitoringResult
from cellchain.manufacturing import services as manufacturing

pytestmark = pytest.mark.django_db


def _grade(mfg: Any, area: Any, grade: str, purpose: str = "cell_preparation", hvac: str = "AHU-01") -> Any:
    return manufacturing.area_environment_update(
        actor=mfg.qa, area=area, purpose=purpose, grade=grade, hvac_system=hvac, reason="qualified"
    )


def test_the_list_shows_grades_and_warns_of_a_virus_area_sharing_hvac(mfg: Any, client_for: Any) -> None:
    """T-5.1.3 register; T-5.1.5 warning on the page."""
    _grade(mfg, mfg.unit_area, "B")
    _grade(mfg, mfg.rooms[1], "C", purpose="virus_storage")
    body = client_for("qa_li").get("/environment/").content.decode()
    assert 'data-area="unit-a"' in body and 'data-check="virus_area_hvac_shared"' in body
    assert "room-2: HVAC AHU-01 also serves unit-a" in body


def test_qc_records_an_excursion_from_the_page_and_is_told_of_the_deviation(
    mfg: Any, client_for: Any
) -> None:
    """T-5.1.6: result recorded on the page; an excursion names its deviation."""
    area = _grade(mfg, mfg.unit_area, "B")
    services.monitoring_limit_set(
        actor=mfg.qa, site=mfg.site, grade="B", parameter="viable_air", alert="5", action="10"
    )
    client = client_for("qc_zhang")
    response = client.post(
        f"/environment/areas/{area.pk}/results/",
        {"parameter": "viable_air", "value": "12", "sample_point": "BSC left"},
        follow=True,
    )
    body = response.content.decode()
    result = MonitoringResult.objects.get()
    assert result.outcome == "action" and result.deviation.number in body
    assert 'data-outcome="action"' in body


def test_a_refusal_is_shown_and_nothing_is_written(mfg: Any, client_for: Any) -> None:
    """T-5.1.6: no limit set for the grade, so the page says so and keeps nothing."""
    area = _grade(mfg, mfg.unit_area, "B")
    response = client_for("qc_zhang").post(
        f"/environment/areas/{area.pk}/results/", {"parameter": "settle_plate", "value": "1"}, follow=True
    )
    assert "No alert/action limit is set for grade B" in response.content.decode()
    assert not MonitoringResult.objects.exists()


def test_operator_logs_cleaning_and_qa_sets_a_limit(mfg: Any, client_for: Any) -> None:
    """T-5.1.6: cleaning from the area page; limits from the list page."""
    client_for("operator_chen").post(
        f"/environment/areas/{mfg.unit_area.pk}/cleaning/", {"kind": "sporicide", "agent": "H2O2 6 % lot 77"}
    )
    assert AreaCleaning.objects.get().kind == "sporicide"
    client_for("qa_li").post(
        "/environment/limits/", {"grade": "C", "parameter": "contact_plate", "alert": "10", "action": "25"}
    )
    assert MonitoringLimit.objects.get().action == 25


@pytest.mark.parametrize(
    ("username", "method", "path"),
    [
        ("nurse_wang", "get", "/environment/"),
        ("operator_chen", "post", "/environment/limits/"),
        ("qc_zhang", "post", "/environment/areas/{area}/cleaning/"),
        ("operator_chen", "post", "/environment/areas/{area}/results/"),
    ],
)
def test_roles_without_the_grant_are_refused(
    mfg: Any, client_for: Any, username: str, method: str, path: str
) -> None:
    client = client_for(username)
    response = getattr(client, method)(path.format(area=mfg.unit_area.pk), {})
    assert response.status_code == 403
    assert not AreaCleaning.objects.exists() and not MonitoringLimit.objects.exists()


def test_a_hospital_auditor_sees_none_of_the_manufacturers_areas(mfg: Any, client_for: Any) -> None:
    client = client_for("auditor_xiehe")
    assert 'data-area="' not in client.get("/environment/").content.decode()
    assert client.get(f"/environment/areas/{mfg.unit_area.pk}/").status_code == 404


def test_the_list_costs_the_same_queries_with_ten_times_the_records(mfg: Any, client_for: Any) -> None:
    """T-5.1.6: the page reads the latest records per area in one query, however many there are."""
    area = _grade(mfg, mfg.unit_area, "B")
    services.monitoring_limit_set(
        actor=mfg.qa, site=mfg.site, grade="B", parameter="settle_plate", alert="2", action="5"
    )
    client = client_for("qa_li")

    def add(count: int) -> None:
        for _ in range(count):
            services.area_cleaning_record(actor=mfg.operator, area=area, kind="cleaning", agent="ethanol")
            services.monitoring_result_record(
                actor=mfg.analyst, area=area, parameter="settle_plate", value="1"
            )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/environment/").status_code == 200
        return len(captured)

    add(2)
    few = queries()
    add(20)
    assert queries() == few


def test_the_demo_sets_limits_logs_cleaning_and_shows_an_alert_once(mfg: Any) -> None:
    """T-5.1.6: demo data, idempotent."""
    for area, grade in ((mfg.unit_area, "B"), (mfg.rooms[0], "B"), (mfg.rooms[1], "C")):
        _grade(mfg, area, grade)
    for _ in range(2):
        with transaction.atomic():
            demo.load(build_world())
    assert MonitoringLimit.objects.filter(grade="B").count() == 6
    assert AreaCleaning.objects.count() == 3
    assert sorted(MonitoringResult.objects.values_list("outcome", flat=True)) == [
        "alert",
        "within",
        "within",
        "within",
    ]


def test_a_vector_lot_placed_in_cell_storage_from_the_page_is_refused(mfg: Any, client_for: Any) -> None:
    """T-5.1.4-c on the page: the refusal is shown, nothing is written; the right store takes it."""
    from cellchain.environment.models import StoragePlacement

    cells = manufacturing.area_create(
        actor=mfg.qa,
        site=mfg.site,
        code="cs-01",
        name="Cell store",
        mode="room_based",
        purpose="cell_storage",
    )
    vector = manufacturing.material_lot_register(
        actor=mfg.qa,
        material="LV",
        lot="LV-1",
        is_vector=True,
        registered_supplier=mfg.beads.registered_supplier,
    )
    client = client_for("operator_chen")
    body = client.post(
        f"/environment/areas/{cells.pk}/placements/", {"lot": vector.pk}, follow=True
    ).content.decode()
    assert "virus and cell storage are kept apart" in body and not StoragePlacement.objects.exists()
    body = client.post(
        f"/environment/areas/{cells.pk}/placements/", {"unit_din": "W0000"}, follow=True
    ).content
    assert "No cell unit W0000 is known here." in body.decode()
