"""ICANS in children at the clinic: the CAPD instead of the ICE score (ASTCT 2019, Lee et al. 2019), the age at
onset from the enrolment record or entered, through the service, the pages and the API (T-8.2.7, T-9.2.4,
T-10.8; issue 7).

A 5-year-old with an ICE score is refused (not warned): the consensus does not grade children under 12 with the
ICE score, and a grade on the wrong scale would reach the manufacturer and the regulator as if it were valid.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.urls import reverse

from cellchain.clinic import services
from cellchain.clinic.models import AdverseEvent, ReportingDuty
from cellchain.clinic.tests.conftest import NOW
from cellchain.core.errors import ValidationFailed
from cellchain.quality.models import Notification

pytestmark = pytest.mark.django_db

BIRTH_DATE_5_YEARS = NOW.date() - dt.timedelta(days=5 * 365 + 10)  # 5 years and a few days old today
CAPD = "CAPD (Cornell Assessment of Pediatric Delirium)"


@pytest.fixture
def child_course(world: Any, profile: Any) -> Any:
    """A 5-year-old enrolled in CellChain (journeys: hospital-only birth date) with a planned course."""
    from cellchain.journeys import services as journeys

    doctor, site = world["physician_wang"], world.sites["xiehe-main"]
    journeys.ethics_approval_record(
        actor=doctor,
        site=site,
        product_code=profile.code,
        protocol="PAED-01",
        number="EC-PAED-001",
        approved_on=NOW.date() - dt.timedelta(days=60),
        valid_until=NOW.date() + dt.timedelta(days=300),
    )
    journey = journeys.journey_enrol(
        actor=doctor,
        hospital_site=site,
        manufacturer_site=world.sites["shenghe-prod"],
        product_code=profile.code,
        product_name=profile.name,
        starting_material="fresh",
        patient=journeys.PatientData(
            name="小明", birth_date=BIRTH_DATE_5_YEARS, hospital_record_number="MRN-P1", wristband_id="WB-P1"
        ),
    )
    today = NOW.date()
    return services.course_plan(
        actor=world["coordinator_zhou"],
        site=site,
        product=profile,
        journey_ref="J-PAED-1",
        coi=journey.coi + journey.coi_check,
        patient_wristband_id="WB-P1",
        patient_label="Child 001",
        lymphodepletion_regimen="Flu/Cy",
        lymphodepletion_start=today - dt.timedelta(days=5),
        lymphodepletion_end=today - dt.timedelta(days=3),
        infusion_window_start=today,
        infusion_window_end=today + dt.timedelta(days=2),
        physician=doctor,
        weight_kg=18.0,
    )


def icans(world: Any, course: Any, findings: dict[str, Any], **extra: Any) -> AdverseEvent:
    return services.adverse_event_record(
        actor=world["physician_wang"],
        course=course,
        category="icans",
        term="ICANS",
        description="irritable, not consolable, poor eye contact",
        onset_at=NOW,
        serious=True,
        relation="related",
        findings=findings,
        **extra,
    )


def nothing_recorded() -> bool:
    return not AdverseEvent.objects.exists() and not ReportingDuty.objects.exists()


# --------------------------------------------------------------------------- service


class TestPaediatricIcansRecord:
    def test_capd_12_grades_3_with_the_age_from_the_enrolment_record(
        self, world: Any, child_course: Any
    ) -> None:
        event = icans(world, child_course, {"capd_score": "12", "consciousness": "awakens_spontaneously"})
        assert event.grade == 3
        assert event.findings["age_years"] == 5 and event.findings["age_source"] == "enrolment"
        assert event.grade_reasons[-1] == (
            f"grade 3 set by: {CAPD} score 12/32 (>= 9, screens positive for delirium) (child aged 5)"
        )
        note = Notification.objects.get(subject_id=str(event.pk))
        assert f"{CAPD} score 12/32" in note.body  # the manufacturer sees which tool graded it
        assert BIRTH_DATE_5_YEARS.isoformat() not in note.body and "小明" not in note.body

    def test_ice_score_for_an_enrolled_5_year_old_is_refused(self, world: Any, child_course: Any) -> None:
        with pytest.raises(
            ValidationFailed, match=r"ICE score entered for a child aged 5: .* enter the CAPD"
        ) as e:
            icans(world, child_course, {"ice_score": "8"})
        assert e.value.field == "ice_score" and nothing_recorded()

    def test_capd_33_is_refused_with_the_range(self, world: Any, child_course: Any) -> None:
        with pytest.raises(
            ValidationFailed, match=r"CAPD score 33 is out of range: the CAPD runs from 0 to 32"
        ) as e:
            icans(world, child_course, {"capd_score": 33})
        assert e.value.field == "capd_score" and nothing_recorded()

    def test_entered_age_that_contradicts_the_enrolment_record_is_refused(
        self, world: Any, child_course: Any
    ) -> None:
        with pytest.raises(
            ValidationFailed, match=r"does not match the enrolment record .* gives 5 years"
        ) as e:
            icans(world, child_course, {"capd_score": 4, "age_years": 9})
        assert e.value.field == "age_years" and nothing_recorded()

    def test_paper_enrolled_course_uses_the_entered_age(self, world: Any, course: Any) -> None:
        assert services.course_patient_age(world["physician_wang"], course, NOW.date()) is None
        with pytest.raises(ValidationFailed, match="child aged 5"):
            icans(world, course, {"ice_score": 8, "age_years": "5"})
        event = icans(world, course, {"capd_score": 4, "age_years": "5"})
        assert event.grade == 1 and "age_source" not in event.findings
        assert f"{CAPD} score 4/32 (1-8) (child aged 5) -> grade 1" in event.grade_reasons

    def test_adult_ice_score_without_age_grades_as_before(self, world: Any, course: Any) -> None:
        event = icans(world, course, {"ice_score": "5"})
        assert event.grade == 2 and "ICE score 5/10 -> grade 2" in event.grade_reasons

    def test_capd_over_12_needs_developmental_delay(self, world: Any, course: Any) -> None:
        with pytest.raises(ValidationFailed, match=r"aged 15: .*developmental delay"):
            icans(world, course, {"capd_score": 10, "age_years": 15})
        event = icans(world, course, {"capd_score": 10, "age_years": 15, "developmental_delay": True})
        assert event.grade == 3

    def test_regrade_keeps_the_enrolment_age_and_refuses_the_ice_score(
        self, world: Any, child_course: Any
    ) -> None:
        event = icans(world, child_course, {"capd_score": 4})
        assert event.grade == 1
        services.adverse_event_regrade(
            actor=world["physician_wang"],
            event=event,
            findings={"capd_not_possible": True},
            ctcae_grade=None,
            outcome="ongoing",
            reason="no longer assessable",
        )
        assert event.grade == 4 and event.findings["age_years"] == 5
        assert event.grade_reasons[0] == f"unable to perform the {CAPD} (child aged 5) -> grade 4"
        with pytest.raises(ValidationFailed, match="child aged 5"):
            services.adverse_event_regrade(
                actor=world["physician_wang"],
                event=event,
                findings={"ice_score": 9},
                ctcae_grade=None,
                outcome="ongoing",
                reason="wrong tool",
            )
        event.refresh_from_db()
        assert event.grade == 4


# --------------------------------------------------------------------------- pages


@pytest.fixture
def en(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def ae_form(**findings: str) -> dict[str, Any]:
    onset = NOW.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M")
    return {
        "category": "icans",
        "event_type": "adverse_reaction",
        "term": "ICANS",
        "description": "irritable, inconsolable",
        "onset_at": onset,
        "serious": "on",
        "relation": "related",
        "outcome": "ongoing",
        "consciousness": "alert",
        "seizure": "none",
        "motor": "none",
        **findings,
    }


def test_ae_form_shows_the_age_from_enrolment_and_records_a_capd(
    client_for: Any, child_course: Any, en: None
) -> None:
    client = client_for("physician_wang")
    url = reverse("clinic:event_new", args=[child_course.pk])
    page = client.get(url).content.decode()
    assert 'name="age_years" value="5"' in page and 'name="capd_score"' in page
    response = client.post(url, ae_form(capd_score="12", age_years="5"))
    event = AdverseEvent.objects.get()
    assert response.status_code == 302 and event.grade == 3
    page = client.get(reverse("clinic:event", args=[event.pk])).content.decode()
    assert f"{CAPD} score 12/32 (&gt;= 9, screens positive for delirium) (child aged 5) -&gt; grade 3" in page
    assert 'data-age-source="enrolment"' in page


def test_ae_form_refuses_an_ice_score_for_a_5_year_old(client_for: Any, child_course: Any, en: None) -> None:
    response = client_for("physician_wang").post(
        reverse("clinic:event_new", args=[child_course.pk]), ae_form(ice_score="8", age_years="5")
    )
    assert response.status_code == 200 and not AdverseEvent.objects.exists()
    assert "ICE score entered for a child aged 5" in response.content.decode()


def test_grade_preview_refuses_capd_33_and_grades_capd_12(client_for: Any, profile: Any, en: None) -> None:
    client = client_for("physician_wang")
    url = reverse("clinic:grade_preview")
    body = client.post(
        url, {"category": "icans", "capd_score": "33", "age_years": "5"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "CAPD score 33 is out of range: the CAPD runs from 0 to 32" in body
    body = client.post(
        url, {"category": "icans", "capd_score": "12", "age_years": "5"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-grade="3"' in body and "CAPD (Cornell Assessment of Pediatric Delirium) score 12/32" in body


# --------------------------------------------------------------------------- API


def post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_grading_api_refuses_capd_33_with_the_field(client_for: Any, profile: Any) -> None:
    response = post(
        client_for("physician_wang"),
        "/api/clinic/grading",
        {"category": "icans", "findings": {"capd_score": 33, "age_years": 5}},
    )
    body = response.json()
    assert response.status_code == 400 and "CAPD score 33 is out of range" in body["message"]
    assert body["detail"]["field"] == "capd_score"


def test_grading_api_grades_capd_12_as_3_naming_the_tool(client_for: Any, profile: Any) -> None:
    response = post(
        client_for("physician_wang"),
        "/api/clinic/grading",
        {"category": "icans", "findings": {"capd_score": 12, "age_years": 5}},
    )
    assert response.status_code == 200 and response.json()["grade"] == 3
    assert response.json()["reasons"][0].startswith(f"{CAPD} score 12/32")


def test_adverse_event_api_takes_the_capd_and_refuses_the_ice_score_for_a_child(
    client_for: Any, child_course: Any
) -> None:
    client = client_for("physician_wang")
    url = f"/api/clinic/courses/{child_course.pk}/adverse-events"
    event = {
        "category": "icans",
        "term": "ICANS",
        "description": "inconsolable",
        "onset_at": NOW.isoformat(),
        "serious": True,
        "relation": "related",
    }
    refused = post(client, url, {**event, "findings": {"ice_score": 8}})
    assert refused.status_code == 400 and refused.json()["detail"]["field"] == "ice_score"
    assert "enter the CAPD" in refused.json()["message"] and nothing_recorded()
    created = post(client, url, {**event, "findings": {"capd_score": 12}})
    assert created.status_code == 201 and created.json()["grade"] == 3
    assert AdverseEvent.objects.get().findings["age_years"] == 5
