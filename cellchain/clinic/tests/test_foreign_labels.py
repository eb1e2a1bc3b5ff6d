"""A hospital workspace for several manufacturers (issue 12 item 3): a unit of another maker, labelled in ISBT 128
with a DS 040 chain of identity CellChain did not issue, is received by its label and checked at the bedside like
CellChain's own (T-8.1.3-a, T-8.2.6-e, T-10.4, T-10.7, X-7, REGULATORY item 37); every mismatch blocks, naming
what differs; the same worklist and timeline show both makers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from cellchain.accounts.models import Organisation
from cellchain.accounts.services import organisation_create
from cellchain.clinic import samples as factories
from cellchain.clinic import selectors, services
from cellchain.clinic.models import BedsideCheck, ClinicUnit, Manufacturer
from cellchain.clinic.tests.conftest import NOW
from cellchain.core.errors import IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.domain.identity import LabelPayload, ProductCode, coi_issue, din_issue
from cellchain.domain.isbt128 import DinDataStructure, Isbt128Label, Isbt128ProductCode, din_check_flags
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

FIN = "B7312"
CODES = ("S2104100", "S2105100")
# The label's expiry is the site's wall-clock time (Asia/Shanghai): 30 days ahead is well clear of NOW.
EXPIRES = (NOW + dt.timedelta(days=30)).replace(tzinfo=None, hour=23, minute=59)


def label(
    number: int = 1,
    *,
    coi_number: int | None = None,
    product: str = CODES[0],
    expires: dt.datetime | None = EXPIRES,
    fin: str = FIN,
    separator: str = " ",
) -> str:
    """Nordcell's ISBT 128 label of unit `number` (DS 001 with check flags, DS 003, DS 005, DS 040)."""
    din = din_issue(fin, 2026, 500 + number)
    coi = coi_issue(FIN, 2026, 700 + (number if coi_number is None else coi_number))
    return Isbt128Label(
        DinDataStructure(din, din_check_flags(din)), Isbt128ProductCode(product), coi, expires
    ).encode(separator)


@pytest.fixture
def nordcell(world: Any, frozen_now: Any) -> Organisation:
    org = organisation_create(
        actor=None, code="nordcell", name="Nordcell Therapeutics", kind=Organisation.Kind.MANUFACTURER
    )
    services.manufacturer_register(
        actor=world["pharmacist_liu"], name=org.name, fin=FIN, product_codes=CODES,
        label_format=Manufacturer.LabelFormat.ISBT128_DS040, organisation=org,
    )  # fmt: skip
    return org


@pytest.fixture
def foreign_profile(world: Any, nordcell: Organisation) -> Any:
    product = factories.product(
        world["pharmacist_liu"], nordcell, code=CODES[0], name="Nordcabtagene autoleucel (test)"
    )
    factories.site_ready(world["physician_wang"], world.sites["xiehe-main"], product, PERSONA_PASSWORD)
    return product


def foreign_course(world: Any, profile: Any, number: int = 1) -> Any:
    site = world.sites["xiehe-main"]
    today = NOW.date()
    return services.course_plan(
        actor=world["coordinator_zhou"],
        site=site,
        product=profile,
        journey_ref=f"J-NC-{number:04d}",
        coi=coi_issue(FIN, 2026, 700 + number).keyboard_form,
        patient_wristband_id=f"MRNNC{number:05d}",
        patient_label=f"Nordcell patient {number}",
        lymphodepletion_regimen="fludarabine + cyclophosphamide",
        lymphodepletion_start=today - dt.timedelta(days=5),
        lymphodepletion_end=today - dt.timedelta(days=3),
        infusion_window_start=today,
        infusion_window_end=today + dt.timedelta(days=2),
        physician=world["physician_wang"],
        weight_kg=70.0,
        protocol_ref="marketed use",
    )


@pytest.fixture
def fcourse(world: Any, foreign_profile: Any) -> Any:
    return foreign_course(world, foreign_profile)


def admit(world: Any, course: Any, text: str, **kw: Any) -> ClinicUnit:
    kw = {"batch_number": "NC-2026-0412", "release": ClinicUnit.Release.RELEASED, **kw}
    return services.unit_admit_scanned(actor=world["pharmacist_liu"], course=course, scanned_text=text, **kw)


@pytest.fixture
def funit(world: Any, fcourse: Any) -> ClinicUnit:
    unit = admit(world, fcourse, label())
    services.thaw_record(
        actor=world["nurse_wang"], unit=unit, started_at=NOW - dt.timedelta(minutes=12),
        ended_at=NOW - dt.timedelta(minutes=5), temperature_c=37.0, method="water_bath",
        area="Cell therapy prep room", device="Thermo bath TB-2", appearance_normal=True,
        no_shaking_confirmed=True, precautions_acknowledged=True,
    )  # fmt: skip
    unit.refresh_from_db()
    return unit


# --------------------------------------------------------------------------- register


def test_register_refuses_bad_entries_naming_the_field(world: Any, nordcell: Organisation) -> None:
    actor = world["pharmacist_liu"]
    cases = [
        ({"fin": "O1234"}, "fin"),
        ({"fin": FIN}, "fin"),  # already registered
        ({"product_codes": []}, "product_codes"),
        ({"product_codes": ["s2104100"]}, "product_codes"),
        ({"label_format": "zpl"}, "label_format"),
    ]
    for change, field in cases:
        given = {
            "name": "X",
            "fin": "C4444",
            "product_codes": CODES,
            "label_format": "isbt128-ds040",
            **change,
        }
        with pytest.raises(ValidationFailed) as caught:
            services.manufacturer_register(actor=actor, **given)
        assert caught.value.field == field
    with pytest.raises(NotAllowed):
        services.manufacturer_register(
            actor=world["qa_li"], name="X", fin="C4444", product_codes=CODES, label_format="cellchain"
        )


def test_register_lists_the_entries_and_this_installations_manufacturing_sites(
    nordcell: Organisation,
) -> None:
    entries = {entry.fin: entry for entry in services.register_entries()}
    assert entries[FIN].product_codes == frozenset(CODES)
    assert entries[FIN].label_format.value == "isbt128-ds040"
    assert entries["W1234"].label_format.value == "cellchain"  # Shenghe's production site in this database


def test_products_page_shows_the_register(client_for: Any, nordcell: Organisation) -> None:
    page = client_for("physician_wang").get(reverse("clinic:products")).content.decode()
    assert 'data-fin="B7312"' in page and "S2104100 S2105100" in page and 'data-fin="W1234"' in page


# --------------------------------------------------------------------------- receipt


def test_foreign_label_resolves_to_the_unit_and_its_coi_at_receipt(world: Any, fcourse: Any) -> None:
    """Issue 12 item 3: the DS 040 COI (issued by Nordcell, not CellChain) and the DS 001 DIN are read."""
    unit = admit(world, fcourse, label(separator=""))
    assert unit.unit_id == din_issue(FIN, 2026, 501).data
    assert unit.coi == fcourse.coi == coi_issue(FIN, 2026, 701).data
    assert (unit.product_code, unit.label_format) == (CODES[0], "isbt128-ds040")
    assert unit.manufacturer is not None and unit.manufacturer.fin == FIN
    assert unit.label_expires is not None


@pytest.mark.parametrize(
    ("text", "error", "names"),
    [
        (lambda: label(coi_number=2), IdentityMismatch, "another patient"),
        (lambda: label(product=CODES[1]), IdentityMismatch, f"the label says product {CODES[1]}"),
        (lambda: label(product="S9999100"), IdentityMismatch, "not a product of Nordcell"),
        (
            lambda: label(expires=NOW.replace(tzinfo=None) - dt.timedelta(days=1)),
            ValidationFailed,
            "has passed",
        ),
        (
            lambda: label(fin="C4444"),
            ValidationFailed,
            "facility C4444, which is not a manufacturer registered",
        ),
    ],
    ids=["coi-of-another-patient", "wrong-product-code", "product-not-of-maker", "expired", "unknown-fin"],
)
def test_receipt_blocks_every_mismatch_naming_it(
    world: Any, fcourse: Any, text: Any, error: Any, names: str
) -> None:
    with pytest.raises(error) as caught:
        admit(world, fcourse, text())
    assert names in str(caught.value)
    assert not ClinicUnit.objects.filter(course=fcourse).exists()


def test_receipt_of_a_foreign_unit_needs_batch_and_release_from_the_makers_certificate(
    world: Any, fcourse: Any
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        admit(world, fcourse, label(), batch_number="", release="")
    assert "release certificate" in str(caught.value)


def test_foreign_din_barcode_alone_is_not_enough_to_receive(world: Any, fcourse: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        admit(world, fcourse, din_issue(FIN, 2026, 501).barcode_data)
    assert "scan its product label" in str(caught.value)


def test_a_cellchain_label_for_a_foreign_maker_is_refused(world: Any, fcourse: Any) -> None:
    forged = LabelPayload(
        coi_issue(FIN, 2026, 701), din_issue(FIN, 2026, 501), ProductCode(CODES[0]), EXPIRES
    ).encode()
    with pytest.raises(ValidationFailed) as caught:
        admit(world, fcourse, forged)
    assert "isbt128-ds040 format" in str(caught.value)


# --------------------------------------------------------------------------- bedside


def scan(world: Any, course: Any, unit_scan: str, wristband: str | None = None) -> BedsideCheck:
    return services.bedside_scan(
        actor=world["nurse_wang"],
        course=course,
        wristband_scan=wristband or course.patient_wristband_id,
        unit_scan=unit_scan,
    )


def codes(check: BedsideCheck) -> set[str]:
    return {reason["code"] for reason in check.reasons}


def test_bedside_accepts_the_foreign_label_and_the_second_person_verifies(
    world: Any, fcourse: Any, funit: ClinicUnit
) -> None:
    """T-8.2.6-e, REGULATORY item 38: the two-person check works on the maker's own label."""
    check = scan(world, fcourse, label())
    assert check.verdict == BedsideCheck.Verdict.PROCEED, check.reasons
    verified = services.bedside_verify(
        check=check, performer_password=PERSONA_PASSWORD, verifier=world["nurse_zhou"],
        verifier_password=PERSONA_PASSWORD, wristband_scan=fcourse.patient_wristband_id, unit_scan=label(),
    )  # fmt: skip
    assert verified.verification is not None


def test_bedside_accepts_cellchain_labels_as_before(world: Any, course: Any, thawed_unit: Any) -> None:
    payload = LabelPayload(
        coi_issue("W2001", 2026, factories.SAMPLE_SEQUENCE + 1),
        din_issue("W1234", 2026, factories.SAMPLE_SEQUENCE + 1),
        ProductCode("S1395V00"),
    ).encode()
    assert scan(world, course, payload).verdict == BedsideCheck.Verdict.PROCEED


@pytest.mark.parametrize(
    ("text", "code", "incident"),
    [
        (lambda: label(coi_number=2), "label_wrong_patient", True),
        (lambda: label(product=CODES[1]), "label_wrong_product", True),
        (lambda: label(expires=NOW.replace(tzinfo=None) - dt.timedelta(minutes=1)), "label_expired", False),
        (lambda: label(expires=EXPIRES + dt.timedelta(days=1)), "label_expiry_mismatch", False),
        (lambda: label(product="S9999100"), "label_product_not_of_manufacturer", True),  # and wrong product
    ],
    ids=["coi-of-another-patient", "wrong-product", "expired", "expiry-differs", "product-not-of-maker"],
)
def test_bedside_blocks_every_label_mismatch(
    world: Any, fcourse: Any, funit: ClinicUnit, text: Any, code: str, incident: bool
) -> None:
    """Issue 12 item 3 with T-8.2.6-e / T-10.4: the label, not only the DIN, must agree; a possible mix-up is
    recorded as an identity incident (REGULATORY item 37)."""
    check = scan(world, fcourse, text())
    assert check.verdict == BedsideCheck.Verdict.BLOCKED
    assert code in codes(check)
    assert bool(check.deviation_number) is incident, check.reasons


def test_bedside_blocks_the_din_of_another_unit_and_an_unknown_maker(
    world: Any, fcourse: Any, funit: ClinicUnit, foreign_profile: Any
) -> None:
    other_course = foreign_course(world, foreign_profile, 2)
    admit(world, other_course, label(2))
    check = scan(world, fcourse, label(2, coi_number=1))  # another unit's DIN, relabelled with this COI
    assert check.verdict == BedsideCheck.Verdict.BLOCKED
    assert {"product_of_another_journey", "label_label_coi_mismatch"} <= codes(check)
    unknown = scan(world, fcourse, label(fin="C4444"))
    assert {"unknown_unit", "label_unknown_manufacturer"} <= codes(unknown)
    assert unknown.deviation_number


# --------------------------------------------------------------------------- one worklist, one timeline


def test_one_worklist_and_timeline_whatever_the_maker(
    world: Any, client_for: Any, course: Any, unit: Any, fcourse: Any, funit: ClinicUnit
) -> None:
    rows = dict(selectors.courses_with_stage(world["nurse_wang"], NOW.date()))
    assert {course, fcourse} <= set(rows)
    page = client_for("nurse_wang").get(reverse("clinic:home")).content.decode()
    assert "Nordcell Therapeutics" in page and world.organisations["shenghe"].name in page
    timeline = selectors.course_timeline(fcourse)
    assert {"receipt", "thaw"} <= {line.kind for line in timeline}
    assert [line.at for line in timeline] == sorted(line.at for line in timeline)
    assert {line.manufacturer for line in timeline} == {"Nordcell Therapeutics"}
    receipt = next(line for line in timeline if line.kind == "receipt")
    assert funit.unit_id in receipt.identifiers and fcourse.coi in receipt.identifiers
    own = selectors.course_timeline(course)
    assert own and {line.manufacturer for line in own} == {world.organisations["shenghe"].name}
    detail = client_for("nurse_wang").get(reverse("clinic:course", args=[fcourse.pk])).content.decode()
    assert 'data-timeline="receipt"' in detail and "Nordcell Therapeutics" in detail
