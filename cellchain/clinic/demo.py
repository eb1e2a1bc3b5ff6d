"""Demo data of the clinic: patients at every stage at Xiehe, written through the services.

Stages (journey -> what it shows): 0001 planned · 0002 unit ready · 0003 conditional release awaiting the
physician · 0004 thawed with the countdown running · 0005 bedside check verified · 0006 infusing · 0007 under
observation · 0008 days 1-7 with overdue days and a grade-3 CRS reported to the manufacturer · 0009 follow-up
with an overdue visit, an ICANS event and a protocol deviation · 0010 a blocked bedside check (wrong wristband)
· 0011 the unit of the manufacturing/QC demo's released batch, handed over by scan (when those demos ran) ·
0020 a unit of another manufacturer (Nordcell, FIN B7312) received by scanning its ISBT 128 label with a DS 040
chain of identity CellChain did not issue (issue 12 item 3).

The hospital's manufacturer register lists both makers: Shenghe (CellChain labels) and Nordcell (ISBT 128).

The product's use profile is adopted from the manufacturer's approved version of the manufacturing demo's
product (its information package, T-7.4); only the values the package does not carry are the clinic's.
Past events are written with the server clock set back to when they happened (`clock.frozen`), so each record
carries the time of its story; idempotent: a journey that exists is left as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from cellchain.accounts.services import qualification_grant
from cellchain.accounts.world import DEMO_PASSWORD, World
from cellchain.clinic import samples, services
from cellchain.clinic.models import ClinicUnit, TreatmentCourse
from cellchain.core import clock
from cellchain.domain.clinical_timing import FOLLOW_UP_ITEMS, INTENSIVE_MONITORING_ITEMS
from cellchain.manufacturing.demo import approved_version

SITE = "xiehe-main"


HISTORY = dt.timedelta(days=400)
"""How far back the demo story reaches; the clinical personas' training records must cover it."""

TRAINING = {
    "physician_wang": ("cell_therapy", "infusion"),
    "nurse_wang": ("infusion",),
    "nurse_zhou": ("infusion",),
    "coordinator_zhou": (),
    "pharmacist_liu": (),
}


def _training_history(world: World, now: dt.datetime) -> None:
    """The demo world's training starts 30 days ago; the 8-month-old story needs older records (T-5.3)."""
    start = (now - HISTORY).date()
    for username, codes in TRAINING.items():
        user = world[username]
        for code in codes:
            if not user.qualifications.filter(code=code, valid_from__lte=start).exists():
                qualification_grant(
                    actor=None,
                    user=user,
                    code=code,
                    title=f"{code} (demo history)",
                    valid_from=start,
                    valid_until=(now + dt.timedelta(days=730)).date(),
                    evidence="demo training record covering the demo story",
                )


def load(world: World, password: str = DEMO_PASSWORD, *, copies: int = 1) -> None:
    """Create the demo courses once (called by `cellchain demo` after the other contexts).

    `copies` > 1 tells every story again for more patients (numbers 101.., 201..), so tests can grow the
    clinic tenfold and check that a page's query count does not grow with it (issue 14, performance).
    """
    now = clock.now().replace(second=0, microsecond=0)
    doctor, site = world["physician_wang"], world.sites[SITE]
    _training_history(world, now)
    version = approved_version(world, password)  # the manufacturing demo's product (made if it did not run)
    with clock.frozen(now - dt.timedelta(days=260)):
        product = samples.adopted_product(world["pharmacist_liu"], version)
        samples.site_ready(doctor, site, product, password)
    stories: list[tuple[int, dt.timedelta, Callable[..., None]]] = [
        (9, dt.timedelta(days=245), _follow_up),
        (8, dt.timedelta(days=4), _monitoring),
        (7, dt.timedelta(minutes=75), _observation),
        (6, dt.timedelta(minutes=40), _infusing),
        (5, dt.timedelta(minutes=25), _verified),
        (4, dt.timedelta(minutes=20), _thawed),
        (10, dt.timedelta(minutes=15), _blocked),
        (3, dt.timedelta(hours=2), _conditional),
        (2, dt.timedelta(hours=3), _ready),
        (1, dt.timedelta(days=-3), _planned),
    ]
    told = [(copy * 100 + number, ago, story) for copy in range(copies) for number, ago, story in stories]
    for number, ago, story in told:
        journey_ref = f"J-{site.facility_id}-{number:04d}"
        if TreatmentCourse.objects.filter(journey_ref=journey_ref).exists():
            continue
        start = now - ago
        with clock.frozen(min(start, now) - dt.timedelta(days=6)):
            course = samples.course(
                world["coordinator_zhou"],
                site,
                product,
                number,
                physician=doctor,
                infusion_in_days=6,
                label=f"Demo patient {number:02d}",
            )
        story(world, course, number, start, now, password)
    _from_manufacturing(world, product, now)
    _foreign_maker(world, product, now, password)


FOREIGN_FIN = "B7312"
FOREIGN_JOURNEY = 20
FOREIGN_PRODUCTS = ("S2104100", "S2105100")
"""Nordcell's ISBT 128 product codes (DS 003: S = cellular therapy, t = 1 for autologous use only, ds = 00)."""


def foreign_label(now: dt.datetime, number: int = FOREIGN_JOURNEY) -> str:
    """The demo's Nordcell label as its DataMatrix reads: DS 001 (with check flags), DS 003, DS 005, DS 040."""
    from cellchain.domain.identity import coi_issue, din_issue
    from cellchain.domain.isbt128 import DinDataStructure, Isbt128Label, Isbt128ProductCode, din_check_flags

    din = din_issue(FOREIGN_FIN, 2026, 400 + number)
    expires = (now + dt.timedelta(days=30)).replace(hour=23, minute=59, tzinfo=None)
    return Isbt128Label(
        DinDataStructure(din, din_check_flags(din)),
        Isbt128ProductCode(FOREIGN_PRODUCTS[0]),
        coi_issue(FOREIGN_FIN, 2026, number),
        expires,
    ).encode()


def _register(world: World, product: Any) -> Any:
    """The hospital's manufacturer register: Shenghe (CellChain) and Nordcell (ISBT 128 DS 040; issue 12 item 3)."""
    from cellchain.accounts.models import Organisation
    from cellchain.accounts.services import organisation_create
    from cellchain.clinic.models import Manufacturer
    from cellchain.clinic.services.manufacturers import manufacturer_register
    from cellchain.domain.identity import IdentifierError
    from cellchain.domain.isbt128 import Isbt128ProductCode

    actor = world["pharmacist_liu"]
    shenghe = world.organisations["shenghe"]
    if not Manufacturer.objects.filter(fin="W1234").exists():
        codes = []
        for code in {"S1395V00", product.source_product or product.code}:
            try:
                codes.append(Isbt128ProductCode(code).code)
            except IdentifierError:
                continue
        manufacturer_register(
            actor=actor, name=shenghe.name, fin="W1234", product_codes=codes,
            label_format=Manufacturer.LabelFormat.CELLCHAIN, organisation=shenghe,
        )  # fmt: skip
    nordcell = Organisation.objects.filter(code="nordcell").first() or organisation_create(
        actor=None,
        code="nordcell",
        name="诺德细胞 Nordcell Therapeutics",
        name_en="Nordcell Therapeutics",
        kind=Organisation.Kind.MANUFACTURER,
    )
    if not Manufacturer.objects.filter(fin=FOREIGN_FIN).exists():
        manufacturer_register(
            actor=actor, name=nordcell.name, fin=FOREIGN_FIN, product_codes=FOREIGN_PRODUCTS,
            label_format=Manufacturer.LabelFormat.ISBT128_DS040, organisation=nordcell,
        )  # fmt: skip
    return nordcell


def _foreign_maker(world: World, own_product: Any, now: dt.datetime, password: str) -> None:
    """Journey 0020 (away from the numbers tests add): Nordcell's product, its unit received by scanning the maker's ISBT 128 label; it shows in the
    same worklist and timeline as Shenghe's (issue 12 item 3)."""
    from cellchain.domain.identity import coi_issue

    nordcell = _register(world, own_product)
    journey_ref = f"J-{world.sites[SITE].facility_id}-{FOREIGN_JOURNEY:04d}"
    if TreatmentCourse.objects.filter(journey_ref=journey_ref).exists():
        return
    doctor, site = world["physician_wang"], world.sites[SITE]
    with clock.frozen(now - dt.timedelta(days=200)):
        product = samples.product(
            world["pharmacist_liu"],
            nordcell,
            code=FOREIGN_PRODUCTS[0],
            name="Nordcabtagene autoleucel (demo, another manufacturer's IFU values)",
            version="NC-IFU-3.1",
            evidence="Nordcell stability report NC-SR-2025-07; IFU NC-IFU-3.1",
        )
        samples.site_ready(doctor, site, product, password)
    today = now.date()
    with clock.frozen(now - dt.timedelta(days=5)):
        course = services.course_plan(
            actor=world["coordinator_zhou"],
            site=site,
            product=product,
            journey_ref=journey_ref,
            coi=coi_issue(FOREIGN_FIN, 2026, FOREIGN_JOURNEY).keyboard_form,
            patient_wristband_id=f"MRN{site.facility_id}{FOREIGN_JOURNEY:05d}",
            patient_label=f"Demo patient {FOREIGN_JOURNEY}",
            lymphodepletion_regimen="fludarabine 25 mg/m2 + cyclophosphamide 250 mg/m2, days -5 to -3",
            lymphodepletion_start=today - dt.timedelta(days=4),
            lymphodepletion_end=today - dt.timedelta(days=2),
            infusion_window_start=today,
            infusion_window_end=today + dt.timedelta(days=2),
            physician=doctor,
            weight_kg=64.0,
            protocol_ref="marketed use",
        )
    with clock.frozen(now - dt.timedelta(hours=4)):
        services.unit_admit_scanned(
            actor=world["pharmacist_liu"],
            course=course,
            scanned_text=foreign_label(now, FOREIGN_JOURNEY),
            batch_number="NC-2026-0412",
            release=ClinicUnit.Release.RELEASED,
        )


def _from_manufacturing(world: World, product: Any, now: dt.datetime) -> None:
    """Journey 0011: the unit of the QC demo's fully released batch, handed over by scanning its DIN, so the
    clinic's record carries the batch, COI and release status of the upstream contexts."""
    from cellchain.clinic import upstream
    from cellchain.domain.identity import mod37_2_check_character
    from cellchain.manufacturing.models import ProductUnit
    from cellchain.qc.models import ReleaseDecision

    decision = ReleaseDecision.objects.filter(
        outcome=ReleaseDecision.Outcome.RELEASED, voided_at__isnull=True
    ).first()
    unit = (
        None if decision is None else decision.batch.units.filter(purpose=ProductUnit.Purpose.PATIENT).first()
    )
    if unit is None or ClinicUnit.objects.filter(unit_id=unit.din).exists():
        return
    coi = decision.batch.intake.coi  # type: ignore[union-attr]
    _journey, wristband = upstream.patient_wristband(world["physician_wang"], coi)
    today = now.date()
    course = services.course_plan(
        actor=world["coordinator_zhou"],
        site=world.sites[SITE],
        product=product,
        journey_ref="J-W2001-0011",
        coi=coi + mod37_2_check_character(coi),
        patient_wristband_id=wristband,
        patient_label="Demo patient 11",
        lymphodepletion_regimen="fludarabine 30 mg/m2 + cyclophosphamide 500 mg/m2, days -5 to -3",
        lymphodepletion_start=today - dt.timedelta(days=4),
        lymphodepletion_end=today - dt.timedelta(days=2),
        infusion_window_start=today,
        infusion_window_end=today + dt.timedelta(days=2),
        physician=world["physician_wang"],
        weight_kg=68.0,
        protocol_ref="marketed use",
    )
    services.unit_admit_scanned(
        actor=world["pharmacist_liu"],
        course=course,
        scanned_text=unit.din + mod37_2_check_character(unit.din),
    )


def _unit(
    world: World,
    course: TreatmentCourse,
    number: int,
    at: dt.datetime,
    release: str = ClinicUnit.Release.RELEASED,
) -> ClinicUnit:
    with clock.frozen(at - dt.timedelta(days=1)):
        return samples.unit(world["pharmacist_liu"], course, number, release)


def _thaw(world: World, unit: ClinicUnit, at: dt.datetime) -> None:
    with clock.frozen(at):
        services.thaw_record(
            actor=world["nurse_wang"],
            unit=unit,
            started_at=at - dt.timedelta(minutes=8),
            ended_at=at - dt.timedelta(minutes=1),
            temperature_c=37.0,
            method="water_bath",
            area="Cell therapy preparation room",
            device="Water bath WB-02",
            appearance_normal=True,
            no_shaking_confirmed=True,
            precautions_acknowledged=True,
        )


def _verify(world: World, course: TreatmentCourse, number: int, at: dt.datetime, password: str) -> Any:
    with clock.frozen(at):
        check = services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan=course.patient_wristband_id,
            unit_scan=samples.din_barcode(number),
        )
        return services.bedside_verify(
            check=check,
            performer_password=password,
            verifier=world["nurse_zhou"],
            verifier_password=password,
            wristband_scan=course.patient_wristband_id,
            unit_scan=samples.din_barcode(number),
        )


def _infuse(
    world: World, course: TreatmentCourse, number: int, at: dt.datetime, password: str, minutes: int | None
) -> Any:
    """Thaw, two-person check and infusion starting at `at`; ended after `minutes` when given."""
    unit = _unit(world, course, number, at)
    _thaw(world, unit, at - dt.timedelta(minutes=20))
    check = _verify(world, course, number, at - dt.timedelta(minutes=5), password)
    with clock.frozen(at):
        infusion = services.infusion_start(
            actor=world["nurse_wang"],
            course=course,
            check=check,
            route="intravenous",
            rate_ml_h=300.0,
            infusion_set="IV-STD-200",
            set_has_leukocyte_filter=False,
            volume_ml=68.0,
            car_positive_viable_cells=2.1e8,
            emergency_contact="ICU on call, ext. 6120",
            rescue_staff_present=True,
            checklist=samples.checklist_for(course.product),
        )
    if minutes is not None:
        with clock.frozen(at + dt.timedelta(minutes=minutes)):
            services.infusion_end(
                actor=world["nurse_wang"], infusion=infusion, reaction="no immediate reaction"
            )
            _vitals(world, course, 37.0)
    return infusion


def _vitals(world: World, course: TreatmentCourse, temperature: float) -> None:
    services.vitals_record(
        actor=world["nurse_wang"],
        course=course,
        temperature_c=temperature,
        heart_rate=86,
        systolic=118,
        diastolic=74,
        respiratory_rate=16,
        spo2=98,
    )


def _close_observation(world: World, infusion: Any, at: dt.datetime) -> None:
    with clock.frozen(at):
        services.observation_close(
            actor=world["nurse_wang"], observation=infusion.observation, notes="stable, no reaction"
        )


def _planned(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    with clock.frozen(now):
        services.lymphodepletion_record(
            actor=world["physician_wang"],
            course=course,
            drug="fludarabine",
            dose="30 mg/m2",
            given_on=now.date(),
            as_planned=True,
        )


def _ready(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    _unit(world, course, number, start)


def _conditional(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    _unit(world, course, number, start, ClinicUnit.Release.CONDITIONAL)


def _thawed(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    _thaw(world, _unit(world, course, number, start), start)


def _blocked(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    _thaw(world, _unit(world, course, number, start), start)
    with clock.frozen(start + dt.timedelta(minutes=5)):
        services.bedside_scan(
            actor=world["nurse_wang"],
            course=course,
            wristband_scan="MRNW200100004",
            unit_scan=samples.din_barcode(number),
        )


def _verified(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    _thaw(world, _unit(world, course, number, start), start)
    _verify(world, course, number, now - dt.timedelta(minutes=2), password)


def _infusing(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    _infuse(world, course, number, now - dt.timedelta(minutes=10), password, None)


def _observation(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    _infuse(world, course, number, now - dt.timedelta(minutes=30), password, 20)


def _monitoring(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    infusion = _infuse(world, course, number, start, password, 25)
    _close_observation(world, infusion, start + dt.timedelta(minutes=70))
    day1 = start + dt.timedelta(days=1)
    with clock.frozen(day1):
        items = dict.fromkeys((*INTENSIVE_MONITORING_ITEMS, *course.product.monitoring_indicators), True)
        services.monitoring_day_complete(
            actor=world["nurse_wang"],
            course=course,
            day=1,
            items=items,
            notes="Tmax 37.8 °C, haemodynamically stable",
        )
    with clock.frozen(start + dt.timedelta(days=1, hours=6)):
        _vitals(world, course, 39.3)
        services.adverse_event_record(
            actor=world["physician_wang"],
            course=course,
            category="crs",
            term="Cytokine release syndrome",
            description="Fever 39.3 °C, hypotension responding only to norepinephrine; oxygen 3 L/min.",
            onset_at=start + dt.timedelta(days=1, hours=5),
            serious=True,
            relation="related",
            treatment="tocilizumab 8 mg/kg; norepinephrine; transferred to ICU",
            findings={
                "temperature_c": 39.3,
                "hypotension": True,
                "vasopressors": ["norepinephrine"],
                "oxygen_device": "nasal_cannula",
                "oxygen_flow_l_min": 3,
            },
        )


def _follow_up(
    world: World, course: TreatmentCourse, number: int, start: dt.datetime, now: dt.datetime, password: str
) -> None:
    infusion = _infuse(world, course, number, start, password, 30)
    _close_observation(world, infusion, start + dt.timedelta(minutes=75))
    with clock.frozen(start + dt.timedelta(days=6)):
        services.adverse_event_record(
            actor=world["physician_wang"],
            course=course,
            category="icans",
            term="ICANS",
            description="Word-finding difficulty, ICE 5/10, awakens to voice.",
            onset_at=start + dt.timedelta(days=5, hours=20),
            serious=True,
            relation="related",
            treatment="dexamethasone 10 mg q6h",
            findings={"ice_score": 5, "consciousness": "awakens_to_voice"},
        )
    findings = dict.fromkeys(FOLLOW_UP_ITEMS, "nothing found")
    for key, days in (("M1", 30), ("M3", 92)):
        with clock.frozen(start + dt.timedelta(days=days)):
            services.follow_up_visit_record(
                actor=world["physician_wang"],
                course=course,
                key=key,
                done_on=(start + dt.timedelta(days=days)).date(),
                findings=findings,
            )
    with clock.frozen(start + dt.timedelta(days=100)):
        report = services.protocol_deviation_record(
            actor=world["physician_wang"],
            site=course.site,
            course=course,
            title="Day 3 ECG monitoring interrupted",
            description="Continuous ECG monitoring on day 3 was interrupted for 2 hours (monitor fault).",
            occurred_on=(start + dt.timedelta(days=3)).date(),
        )
        services.protocol_deviation_report_ec(
            actor=world["physician_wang"],
            report=report,
            ec_reported_on=(start + dt.timedelta(days=100)).date(),
            ec_reference="EC-2026-031",
        )
        services.corrective_action_add(
            actor=world["physician_wang"],
            report=report,
            description="Reminder 14 days before each visit window opens",
            owner=world["coordinator_zhou"],
            due=(start + dt.timedelta(days=130)).date(),
        )
