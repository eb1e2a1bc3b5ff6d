"""Product use profiles come from the manufacturer's approved product version (T-7.4): adoption, newer versions,
the unit's own batch version at the bedside, the risk plan seeded from the package, pages and API."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from cellchain.clinic import samples, services, upstream
from cellchain.clinic.models import ClinicUnit, ProductUseProfile
from cellchain.core import clock
from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.manufacturing import services as mfg_services
from cellchain.manufacturing.models import ProductUnit, ProductVersion
from cellchain.manufacturing.reference_product import INFORMATION
from cellchain.manufacturing.tests.conftest import mfg  # noqa: F401  (the manufacturing test kit)
from cellchain.qc import services as qc
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def information(**changes: Any) -> dict[str, Any]:
    """The reference information document with `section__key=value` changes."""
    document = copy.deepcopy(INFORMATION)
    for path, value in changes.items():
        section, key = path.split("__")
        document[section][key] = value
    return document


def approve(kit: Any, document: dict[str, Any], note: str = "new stability data") -> ProductVersion:
    version = kit.new_version(information=document, change_note=note)
    mfg_services.product_version_approve(actor=kit.qa, version=version, signer=kit.signer("qa_li"))
    return version


def adopt(world: Any, version: ProductVersion, reason: str = "", **overrides: Any) -> ProductUseProfile:
    return services.product_profile_adopt(
        actor=world["pharmacist_liu"],
        product_version=version,
        reason=reason,
        **samples.clinic_values(version, **overrides),
    )


def entries(profile: ProductUseProfile) -> list[dict[str, Any]]:
    """The profile's ledger entries as their canonical documents (state, reason, extra...)."""
    rows = LedgerEntry.objects.filter(record_type=profile.ledger_record_type(), record_id=str(profile.pk))
    return [json.loads(bytes(row.canonical)) for row in rows.order_by("seq")]


@pytest.fixture
def adopted(world: Any, mfg: Any) -> ProductUseProfile:  # noqa: F811
    return adopt(world, mfg.version)


# --------------------------------------------------------------------------- services


class TestProductProfileAdopt:
    def test_package_values_are_copied_and_the_source_is_recorded(self, adopted: ProductUseProfile) -> None:
        """T-7.4, T-7.8-a/b/d, T-7.14-a, T-7.9, T-7.10-b, T-8.2.6-a, T-8.2.7-a: the reference package's values."""
        p = adopted
        assert (p.code, p.source, p.source_label, p.version) == (
            "cd19-cart",
            "package",
            "cd19-cart v1",
            "cd19-cart v1",
        )
        assert (p.usable_after_thaw_min, p.preparation_min, p.use_after_dilution_min) == (90, 30, None)
        assert (p.thaw_temp_low_c, p.thaw_temp_high_c, p.thaw_methods) == (36.0, 38.0, ["water_bath"])
        assert p.overtime_handling == "reject" and p.ae_report_hours == 24 and p.diluents == []
        assert p.possible_reactions == ["cytokine release syndrome", "ICANS"]
        assert p.pre_infusion_checks == ["appearance normal", "bag intact", "label matches the patient"]
        assert (p.route, p.leukocyte_filter_forbidden, p.observation_min) == ("intravenous", True, 30)
        assert p.evidence.startswith("Stability study STAB-2025-02")
        assert p.from_package("usable_after_thaw_min") and p.from_package("route")
        assert (
            not p.from_package("rate_low_ml_h")
            and p.rate_low_ml_h == samples.PRODUCT_DEFAULTS["rate_low_ml_h"]
        )
        (entry,) = entries(p)
        assert entry["event"] == "product_profile:adopt" and entry["action"] == "create"
        assert entry["extra"]["source"] == "cd19-cart v1"

    def test_a_typed_value_cannot_widen_a_package_limit(self, world: Any, mfg: Any) -> None:  # noqa: F811
        """T-7.4/T-7.8-a: the usable time after thaw is the package's; a clinic value for it is refused."""
        with pytest.raises(ValidationFailed, match="usable_after_thaw_min: this value comes from") as caught:
            adopt(world, mfg.version, usable_after_thaw_min=600)
        assert caught.value.field == "usable_after_thaw_min"
        assert not ProductUseProfile.objects.exists()

    def test_values_the_package_does_not_carry_must_be_entered(self, world: Any, mfg: Any) -> None:  # noqa: F811
        values = samples.clinic_values(mfg.version)
        del values["dose_high"]
        with pytest.raises(ValidationFailed, match="does not carry: dose_high"):
            services.product_profile_adopt(
                actor=world["pharmacist_liu"], product_version=mfg.version, **values
            )

    def test_route_is_the_clinics_when_an_older_package_does_not_state_it(
        self,
        world: Any,
        mfg: Any,  # noqa: F811
    ) -> None:
        """Older versions without the `administration` section stay adoptable (T-8.2.6-a left to the clinic)."""
        document = copy.deepcopy(INFORMATION)
        del document["administration"]
        profile = adopt(world, approve(mfg, document), route="intravenous drip")
        assert profile.route == "intravenous drip" and not profile.from_package("route")

    def test_manufacturer_staff_cannot_adopt(self, world: Any, mfg: Any) -> None:  # noqa: F811
        with pytest.raises(NotAllowed):
            services.product_profile_adopt(
                actor=world["qa_li"], product_version=mfg.version, **samples.clinic_values(mfg.version)
            )

    def test_only_the_approved_version_can_be_adopted(self, world: Any, mfg: Any) -> None:  # noqa: F811
        draft = mfg.new_version()
        with pytest.raises(Conflict, match="draft"):
            adopt(world, draft)
        approve(mfg, INFORMATION)
        mfg.version.refresh_from_db()
        with pytest.raises(Conflict, match="superseded"):
            adopt(world, mfg.version)

    def test_a_package_without_an_ae_time_limit_cannot_be_adopted(
        self,
        world: Any,
        mfg: Any,  # noqa: F811
    ) -> None:
        version = approve(mfg, information(ae_reporting__time_limit_hours=None))
        with pytest.raises(ValidationFailed, match=r"cd19-cart v2 cannot be adopted: .*T-7\.10-b"):
            adopt(world, version)

    def test_the_same_version_twice_is_a_conflict(self, world: Any, mfg: Any, adopted: Any) -> None:  # noqa: F811
        with pytest.raises(Conflict, match="already uses cd19-cart v1"):
            adopt(world, mfg.version, reason="again")


class TestNewerVersion:
    def test_the_profile_is_behind_until_the_newer_version_is_adopted_with_a_reason(
        self,
        world: Any,
        mfg: Any,  # noqa: F811
        adopted: ProductUseProfile,
    ) -> None:
        """T-7.4, T-8.2.1: a newer approved version shows; adopting it needs a reason; the ledger keeps v1."""
        v2 = approve(mfg, information(use_times__after_thaw_hours="2", ae_reporting__time_limit_hours="12"))
        (status,) = services.profiles_status([adopted])
        assert status.behind and status.latest is not None and status.latest.label == "cd19-cart v2"
        with pytest.raises(ValidationFailed, match="reason for replacing cd19-cart v1") as caught:
            adopt(world, v2)
        assert caught.value.field == "reason"
        profile = adopt(world, v2, reason="v2: new stability study extends the post-thaw time")
        assert (profile.source_label, profile.usable_after_thaw_min, profile.ae_report_hours) == (
            "cd19-cart v2",
            120,
            12,
        )
        assert not services.profiles_status([profile])[0].behind
        first, second = entries(profile)
        assert first["state"]["usable_after_thaw_min"] == 90 and first["state"]["source_version"] == 1
        assert second["action"] == "amend" and second["reason"].startswith("v2: new stability study")
        assert second["extra"]["changes"]["usable_after_thaw_min"] == [90, 120]
        assert second["extra"]["previous"] == "cd19-cart v1"

    def test_clinic_values_are_kept_when_a_newer_version_is_adopted(
        self,
        world: Any,
        mfg: Any,  # noqa: F811
        adopted: ProductUseProfile,
    ) -> None:
        services.product_profile_amend(
            actor=world["pharmacist_liu"], profile=adopted, reason="new pump", rate_high_ml_h=500.0
        )
        v2 = approve(mfg, INFORMATION)
        profile = services.product_profile_adopt(
            actor=world["pharmacist_liu"], product_version=v2, reason="v2 approved"
        )
        assert profile.rate_high_ml_h == 500.0 and profile.source_version == 2


class TestProductProfileAmend:
    def test_a_package_value_cannot_be_changed_at_the_clinic(self, world: Any, adopted: Any) -> None:
        """T-7.4: the AE reporting limit is the manufacturer's (T-7.10-b)."""
        with pytest.raises(ValidationFailed, match="ae_report_hours: this value comes from") as caught:
            services.product_profile_amend(
                actor=world["pharmacist_liu"], profile=adopted, reason="typo", ae_report_hours=72
            )
        assert caught.value.field == "ae_report_hours"

    def test_a_clinic_value_is_changed_with_its_reason(self, world: Any, adopted: Any) -> None:
        services.product_profile_amend(
            actor=world["pharmacist_liu"], profile=adopted, reason="set IV-200 added", allowed_sets=["A", "B"]
        )
        adopted.refresh_from_db()
        assert adopted.allowed_sets == ["A", "B"]
        assert entries(adopted)[-1]["extra"]["changes"] == {"allowed_sets": [["IV-STD-200"], ["A", "B"]]}


class TestProductProfileCreate:
    def test_hand_entry_is_refused_for_a_product_manufacturing_knows(
        self,
        world: Any,
        mfg: Any,  # noqa: F811
    ) -> None:
        """The kit's product has ISBT 128 code S1395V00, the sample profile's code: adopt, do not type."""
        with pytest.raises(Conflict, match="adopt its approved product version"):
            samples.product(world["physician_wang"], world.organisations["shenghe"])

    def test_a_hand_profile_of_a_product_manufacturing_now_knows_is_shown_as_behind(self, world: Any) -> None:
        """A paper-era profile keyed on the label's ISBT 128 product code: once the manufacturer's version is
        in CellChain, the products page asks to adopt it."""
        from cellchain.manufacturing.tests.kit import ManufacturingKit

        profile = samples.product(world["physician_wang"], world.organisations["shenghe"])
        assert services.profiles_status([profile])[0].latest is None
        with clock.frozen(clock.now().replace(microsecond=0)):
            ManufacturingKit(world, PERSONA_PASSWORD, clock.now()).setup()  # product cd19-cart, ISBT S1395V00
        (status,) = services.profiles_status([profile])
        assert status.behind and status.latest is not None and status.latest.label == "cd19-cart v1"

    def test_hand_entry_of_an_unknown_product_is_marked_as_such(self, world: Any, mfg: Any) -> None:  # noqa: F811
        profile = samples.product(world["physician_wang"], world.organisations["shenghe"], code="PAPER-01")
        assert profile.source == "hand" and profile.source_label == "" and profile.package_fields == []


# --------------------------------------------------------------------------- the bedside uses the package's values


def released_unit(kit: Any) -> ProductUnit:
    batch = kit.ready_for_release(kit.manufactured())
    qc.batch_release(actor=kit.qa, batch=batch, signer=kit.signer("qa_li"), outcome="releasable")
    return batch.units.filter(purpose=ProductUnit.Purpose.PATIENT).first()  # type: ignore[return-value]


def course_for(world: Any, unit: ProductUnit, profile: ProductUseProfile, journey: str = "J-PKG-1") -> Any:
    from cellchain.domain.identity import mod37_2_check_character

    coi = unit.batch.intake.coi
    _journey, wristband = upstream.patient_wristband(world["physician_wang"], coi)
    today = clock.now().date()
    return services.course_plan(
        actor=world["coordinator_zhou"],
        site=world.sites["xiehe-main"],
        product=profile,
        journey_ref=journey,
        coi=coi + mod37_2_check_character(coi),
        patient_wristband_id=wristband,
        patient_label="Package patient",
        physician=world["physician_wang"],
        lymphodepletion_regimen="Flu/Cy",
        lymphodepletion_start=today - dt.timedelta(days=5),
        lymphodepletion_end=today - dt.timedelta(days=3),
        infusion_window_start=today,
        infusion_window_end=today + dt.timedelta(days=2),
        weight_kg=70.0,
    )


def scan_in(world: Any, course: Any, unit: ProductUnit) -> ClinicUnit:
    from cellchain.domain.identity import mod37_2_check_character

    return services.unit_admit_scanned(
        actor=world["pharmacist_liu"],
        course=course,
        scanned_text=unit.din + mod37_2_check_character(unit.din),
    )


def thaw(world: Any, unit: ClinicUnit, ended: dt.datetime, temperature: float = 37.0) -> None:
    services.thaw_record(
        actor=world["nurse_wang"],
        unit=unit,
        started_at=ended - dt.timedelta(minutes=8),
        ended_at=ended,
        temperature_c=temperature,
        method="water_bath",
        area="prep room",
        device="WB-02",
        appearance_normal=True,
        no_shaking_confirmed=True,
        precautions_acknowledged=True,
    )
    unit.refresh_from_db()


def test_thaw_window_and_ae_deadline_are_the_adopted_packages(world: Any, mfg: Any) -> None:  # noqa: F811
    """Existing behaviour on package values: use-by = thaw end + the package's 2 h (T-7.8-a), the manufacturer's
    report due awareness + the package's 12 h (T-7.10-b); the clinic typed neither."""
    profile = adopt(
        world,
        approve(mfg, information(use_times__after_thaw_hours="2", ae_reporting__time_limit_hours="12")),
    )
    samples.site_ready(world["physician_wang"], world.sites["xiehe-main"], profile, PERSONA_PASSWORD)
    course = samples.course(
        world["coordinator_zhou"], world.sites["xiehe-main"], profile, 41, physician=world["physician_wang"]
    )
    unit = samples.unit(world["pharmacist_liu"], course, 41)  # not known upstream: the profile's values apply
    ended = clock.now() - dt.timedelta(minutes=1)
    thaw(world, unit, ended)
    assert unit.use_by == ended + dt.timedelta(minutes=120) and unit.use_by_clock == "thaw"
    event = services.adverse_event_record(
        actor=world["physician_wang"],
        course=course,
        category="other",
        term="Nausea",
        description="nausea after preconditioning",
        onset_at=clock.now(),
        serious=False,
        relation="unlikely",
        ctcae_grade=1,
    )
    assert event.duties.get(duty="to_manufacturer").due_at == event.awareness_at + dt.timedelta(hours=12)


def test_a_unit_made_under_an_older_version_is_judged_on_that_versions_limits(
    world: Any,
    mfg: Any,  # noqa: F811
) -> None:
    """The batch was made under v1 (post-thaw 90 min, thaw 36-38 °C); the profile uses v2 (120 min, 30-40 °C):
    the unit's use-by and thaw range are v1's, and the thaw record says so (T-7.8-a, T-8.2.4-a)."""
    made = released_unit(mfg)
    v2 = approve(
        mfg,
        information(
            use_times__after_thaw_hours="2", thaw_preparation__thaw_temperature={"min": "30", "max": "40"}
        ),
    )
    profile = adopt(world, v2)
    samples.site_ready(world["physician_wang"], world.sites["xiehe-main"], profile, PERSONA_PASSWORD)
    unit = scan_in(world, course_for(world, made, profile), made)
    assert (unit.batch_product, unit.batch_product_version, unit.made_under) == (
        "cd19-cart",
        1,
        "cd19-cart v1",
    )
    assert services.applied_version(services.unit_profile(unit)) == "cd19-cart v1"
    ended = clock.now() - dt.timedelta(minutes=1)
    thaw(world, unit, ended, temperature=39.0)  # inside v2's range, outside v1's
    assert unit.use_by == ended + dt.timedelta(minutes=90)
    assert unit.release == ClinicUnit.Release.QUARANTINED  # T-8.2.4-a with v1's 36-38 °C
    entry = json.loads(bytes(LedgerEntry.objects.filter(event="unit:thaw").latest("seq").canonical))
    assert entry["extra"]["values_of"] == "cd19-cart v1"


def test_a_unit_of_another_product_is_refused_at_hand_over(world: Any, mfg: Any) -> None:  # noqa: F811
    """T-8.2.6-e: the product information of the unit must agree with the course's product."""
    made = released_unit(mfg)
    other = mfg_services.product_create(
        actor=mfg.qa, code="cd22-cart", name_zh="CD22", name_en="CD22 CAR-T", site=mfg.site
    )
    version = mfg_services.product_version_create(
        actor=mfg.qa,
        product=other,
        process=mfg.version.process,
        specification=mfg.version.specification,
        information=INFORMATION,
    )
    mfg_services.product_version_approve(actor=mfg.qa, version=version, signer=mfg.signer("qa_li"))
    profile = adopt(world, version)
    with pytest.raises(IdentityMismatch, match="is product cd19-cart"):
        scan_in(world, course_for(world, made, profile), made)


# --------------------------------------------------------------------------- risk plan (T-9.1)


class TestRiskPlanFromThePackage:
    def test_the_register_must_answer_every_adverse_reaction_of_the_package(
        self, world: Any, adopted: Any
    ) -> None:
        site = world.sites["xiehe-main"]
        with pytest.raises(ValidationFailed, match="missing: cytokine release syndrome, ICANS"):
            services.risk_plan_create(
                actor=world["physician_wang"],
                site=site,
                product=adopted,
                version="1",
                title="plan",
                items=samples.SITE_RISKS,
            )
        plan = services.risk_plan_create(
            actor=world["physician_wang"],
            site=site,
            product=adopted,
            version="1",
            title="plan",
            items=samples.risk_rows(adopted),
        )
        bases = {item.hazard: item.basis for item in plan.items.all()}
        assert bases["ICANS"] == "cd19-cart v1 T-7.9-a" and bases["wrong patient"] == ""
        assert services.risk_plan_uncovered(plan) == ()

    def test_a_reaction_added_by_a_newer_version_shows_as_not_answered(
        self,
        world: Any,
        mfg: Any,  # noqa: F811
        adopted: Any,
    ) -> None:
        plan = samples.site_ready(world["physician_wang"], world.sites["xiehe-main"], adopted, None)
        reactions = [*INFORMATION["risks"]["adverse_reactions"], {"zh": "噬血细胞综合征", "en": "HLH/MAS"}]
        v2 = approve(mfg, information(risks__adverse_reactions=reactions))
        adopt(world, v2, reason="v2 adds HLH/MAS")
        plan.refresh_from_db()
        assert services.risk_plan_uncovered(plan) == ("HLH/MAS",)

    def test_the_seed_starts_from_the_manufacturers_risks(self, adopted: Any) -> None:
        seed = services.risk_plan_seed(adopted)
        assert [(s.hazard, s.required) for s in seed][:3] == [
            ("cytokine release syndrome", True),
            ("ICANS", True),
            ("infusion despite: active uncontrolled infection", False),
        ]


# --------------------------------------------------------------------------- pages


class TestPages:
    def test_products_page_marks_each_value_and_offers_the_newer_version(
        self,
        client_for: Any,
        mfg: Any,  # noqa: F811
        adopted: Any,
    ) -> None:
        page = client_for("pharmacist_liu").get("/clinic/products/").content.decode()
        assert 'data-source="package"' in page and "cd19-cart v1" in page
        assert 'data-field="usable_after_thaw_min"' in page and "data-behind" not in page
        v2 = approve(mfg, INFORMATION, note="new shipper")
        page = client_for("pharmacist_liu").get("/clinic/products/").content.decode()
        assert 'data-behind="cd19-cart v2"' in page and f"/clinic/products/adopt/{v2.pk}/" in page
        assert "new shipper" in page

    def test_adopt_page_shows_the_package_and_asks_only_the_clinics_values(
        self,
        world: Any,
        client_for: Any,
        mfg: Any,  # noqa: F811
    ) -> None:
        client = client_for("pharmacist_liu")
        url = f"/clinic/products/adopt/{mfg.version.pk}/"
        page = client.get(url).content.decode()
        assert 'data-field="usable_after_thaw_min"' in page and 'name="rate_low_ml_h"' in page
        assert 'name="usable_after_thaw_min"' not in page and 'name="route"' not in page
        form = {
            "rate_low_ml_h": "60",
            "rate_high_ml_h": "600",
            "allowed_sets": "IV-STD-200, IV-STD-300",
            "dose_low": "600000",
            "dose_high": "6000000",
            "dose_per_kg": "on",
            "follow_up_months": "1, 3, 6, 12",
            "follow_up_years": "15",
            "integrating_vector": "on",
            "usable_after_thaw_min": "600",  # not a field of the form: ignored, never stored
        }
        response = client.post(url, form)
        assert response.status_code == 302
        profile = ProductUseProfile.objects.get(code="cd19-cart")
        assert profile.usable_after_thaw_min == 90 and profile.allowed_sets == ["IV-STD-200", "IV-STD-300"]
        assert profile.follow_up_months == [1, 3, 6, 12]

    def test_replacing_needs_a_reason_on_the_page(
        self,
        client_for: Any,
        mfg: Any,  # noqa: F811
        adopted: Any,
    ) -> None:
        v2 = approve(mfg, INFORMATION)
        client = client_for("pharmacist_liu")
        page = client.get(f"/clinic/products/adopt/{v2.pk}/").content.decode()
        assert 'name="reason"' in page and "In use now: cd19-cart v1" in page

    def test_a_nurse_cannot_adopt(self, client_for: Any, mfg: Any) -> None:  # noqa: F811
        assert client_for("nurse_wang").get(f"/clinic/products/adopt/{mfg.version.pk}/").status_code == 403

    def test_a_draft_is_not_found(self, client_for: Any, mfg: Any) -> None:  # noqa: F811
        draft = mfg.new_version()
        assert client_for("pharmacist_liu").get(f"/clinic/products/adopt/{draft.pk}/").status_code == 404

    def test_new_risk_plan_starts_from_the_manufacturers_risks(self, client_for: Any, adopted: Any) -> None:
        client = client_for("physician_wang")
        page = client.get(f"/clinic/risk-plans/new/?product={adopted.pk}").content.decode()
        assert "after infusion | cytokine release syndrome | product risk stated by the manufacturer" in page
        assert client.get("/clinic/risk-plans/new/?product=abc").status_code == 200  # no seed, no error


# --------------------------------------------------------------------------- API


class TestApi:
    def test_products_and_versions(self, client_for: Any, mfg: Any, adopted: Any) -> None:  # noqa: F811
        client = client_for("nurse_wang")
        (profile,) = client.get("/api/clinic/products").json()
        assert profile["source_version"] == "cd19-cart v1" and profile["behind"] is False
        sources = {v["name"]: v["source"] for v in profile["values"]}
        assert sources["usable_after_thaw_min"] == "manufacturer" and sources["dose_low"] == "clinic"
        (version,) = client.get("/api/clinic/product-versions").json()
        assert version["version"] == "cd19-cart v1" and version["adoptable"] is True

    def test_adopt(self, client_for: Any, mfg: Any) -> None:  # noqa: F811
        client = client_for("pharmacist_liu")
        url = f"/api/clinic/product-versions/{mfg.version.pk}/adopt"
        body = {"values": samples.clinic_values(mfg.version)}
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 200, response.content
        assert response.json()["source_version"] == "cd19-cart v1"

    def test_adopt_refuses_a_package_value_and_unknown_names(self, client_for: Any, mfg: Any) -> None:  # noqa: F811
        client = client_for("pharmacist_liu")
        url = f"/api/clinic/product-versions/{mfg.version.pk}/adopt"
        widened = {"values": {**samples.clinic_values(mfg.version), "usable_after_thaw_min": 600}}
        response = client.post(url, widened, content_type="application/json")
        assert response.status_code == 400 and response.json()["detail"]["field"] == "usable_after_thaw_min"
        response = client.post(url, {"values": {"actor": 1}}, content_type="application/json")
        assert response.status_code == 400 and "Unknown product value" in response.json()["message"]

    def test_a_nurse_cannot_adopt(self, client_for: Any, mfg: Any) -> None:  # noqa: F811
        url = f"/api/clinic/product-versions/{mfg.version.pk}/adopt"
        assert client_for("nurse_wang").post(url, {}, content_type="application/json").status_code == 403
