"""The hospital's manufacturer register and the label checks it feeds, at receipt and at the bedside (issue 12
item 3; T-8.1.3-a, T-8.2.6-e, T-10.4, G-4).

The register is the `Manufacturer` rows, plus - in an installation that is also a manufacturer (the
single-installation demo) - each manufacturing site of this database with a FIN, which labels in CellChain's
format and whose product codes CellChain's own manufacturing records already know.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from cellchain.accounts.models import Organisation, Site
from cellchain.clinic.models import ClinicUnit, Manufacturer, TreatmentCourse
from cellchain.clinic.services._common import create
from cellchain.core import clock
from cellchain.core.errors import IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.domain.identity import IdentifierError, LabelFormat, ScannedIdentifiers
from cellchain.domain.isbt128 import Isbt128ProductCode
from cellchain.domain.label_match import (
    LabelProblem,
    RegisteredManufacturer,
    UnitOnRecord,
    label_problems,
)

_FIN = re.compile(r"[A-NP-Z1-9][0-9]{4}")
"""A FIN in current usage (ST-001 §2.4.1): α {A-N; P-Z; 1-9} and four digits."""


@transaction.atomic
def manufacturer_register(
    *,
    actor: Any,
    name: str,
    fin: str,
    product_codes: Iterable[str],
    label_format: str,
    organisation: Organisation | None = None,
) -> Manufacturer:
    """Enter a manufacturer in the hospital's register: name, FIN, product codes and label format (issue 12
    item 3). Refused, naming the field, for a FIN or product code ISBT 128 does not allow or a FIN already
    registered."""
    if not actor.is_hospital_user:
        raise NotAllowed("Only hospital staff keep the hospital's manufacturer register.")
    name, fin = name.strip(), fin.strip().upper()
    if not name:
        raise ValidationFailed("Name the manufacturer.", field="name")
    if not _FIN.fullmatch(fin):
        raise ValidationFailed(
            f"FIN {fin!r} is not an ISBT 128 facility identification number (a letter other than O, or a digit "
            "1-9, then four digits; ST-001 §2.4.1).",
            field="fin",
        )
    if label_format not in Manufacturer.LabelFormat.values:
        raise ValidationFailed(
            f"Label format {label_format!r}: choose one of {', '.join(Manufacturer.LabelFormat.values)}.",
            field="label_format",
        )
    codes = [code.strip() for code in product_codes if code.strip()]
    if not codes:
        raise ValidationFailed(
            "List the product codes (ISBT 128 DS 003) the manufacturer makes.", field="product_codes"
        )
    for code in codes:
        try:
            Isbt128ProductCode(code)
        except IdentifierError as error:
            raise ValidationFailed(f"Product code {code!r}: {error}", field="product_codes") from None
    if Manufacturer.objects.filter(fin=fin).exists():
        raise ValidationFailed(f"FIN {fin} is already in the register.", field="fin")
    maker = Manufacturer(
        name=name,
        fin=fin,
        product_codes=sorted(set(codes)),
        label_format=label_format,
        organisation=organisation,
    )
    return create(actor, maker, "manufacturer:register")  # type: ignore[return-value]


def register_entries() -> tuple[RegisteredManufacturer, ...]:
    """The register as the label checks read it: the hospital's entries, then the manufacturing sites of this
    installation not entered (CellChain format, product codes known to its manufacturing records)."""
    entries = [
        RegisteredManufacturer(m.name, m.fin, frozenset(m.product_codes), LabelFormat(m.label_format))
        for m in Manufacturer.objects.filter(voided_at__isnull=True).order_by("fin")
    ]
    listed = {entry.fin for entry in entries}
    own = (
        Site.objects.filter(organisation__kind=Organisation.Kind.MANUFACTURER, facility_id__isnull=False)
        .exclude(facility_id__in=listed)
        .select_related("organisation")
        .order_by("facility_id")
    )
    entries += [
        RegisteredManufacturer(
            site.organisation.name, str(site.facility_id), frozenset(), LabelFormat.CELLCHAIN
        )
        for site in own
    ]
    return tuple(entries)


def manufacturer_row(scanned: ScannedIdentifiers) -> Manufacturer | None:
    """The register row whose FIN assigned the scanned DIN (None: not entered, or a manufacturing site here)."""
    return Manufacturer.objects.filter(fin=scanned.din.facility, voided_at__isnull=True).first()


def site_now(site: Site) -> dt.datetime:
    """The site's wall-clock time without time zone, as a label's expiry is printed (ST-001 §2.4.5)."""
    return clock.now().astimezone(ZoneInfo(site.time_zone)).replace(tzinfo=None, second=0, microsecond=0)


def label_local(site: Site, value: dt.datetime | None) -> dt.datetime | None:
    """A stored (aware) label expiry as the site's wall-clock time, for comparing with a label."""
    return None if value is None else value.astimezone(ZoneInfo(site.time_zone)).replace(tzinfo=None)


def label_aware(site: Site, value: dt.datetime | None) -> dt.datetime | None:
    """A label's wall-clock expiry at ``site`` as an aware time to store."""
    return None if value is None else value.replace(tzinfo=ZoneInfo(site.time_zone))


def _expected_product_code(course: TreatmentCourse) -> str:
    """The product code the course is planned with, when it is an ISBT 128 product code ("" otherwise)."""
    product = course.product
    for code in (product.source_product, product.code):
        try:
            Isbt128ProductCode(code)
            return code
        except IdentifierError:
            continue
    return ""


def unit_record(unit: ClinicUnit) -> UnitOnRecord:
    """What the hospital's record holds of ``unit`` for the label checks."""
    site = unit.course.site
    return UnitOnRecord(unit.unit_id, unit.coi, unit.product_code, label_local(site, unit.label_expires))


def receipt_label_problems(course: TreatmentCourse, scanned: ScannedIdentifiers) -> tuple[LabelProblem, ...]:
    """The label checks when a unit is received for ``course`` (issue 12 item 3, T-8.1.3-a, T-10.4)."""
    expected = UnitOnRecord(scanned.din.data, course.coi, _expected_product_code(course))
    return label_problems(
        scanned,
        journey_coi=course.coi,
        unit=expected,
        register=register_entries(),
        now_local=site_now(course.site),
    )


def bedside_label_problems(
    course: TreatmentCourse, scanned: ScannedIdentifiers, unit: ClinicUnit | None
) -> tuple[LabelProblem, ...]:
    """The label checks at the bedside (issue 12 item 3, T-8.2.6-e, T-10.4): against the register, the journey
    and the unit the scanned DIN names (another unit's DIN is the bedside rules' own finding)."""
    return label_problems(
        scanned,
        journey_coi=course.coi,
        unit=None if unit is None else unit_record(unit),
        register=register_entries(),
        now_local=site_now(course.site),
    )


def refuse_label(problems: tuple[LabelProblem, ...], field: str) -> None:
    """Raise for a label that fails its checks: IdentityMismatch for a possible mix-up, else ValidationFailed."""
    if not problems:
        return
    message = "Label refused: " + "; ".join(problem.message for problem in problems) + "."
    if any(problem.identity_incident for problem in problems):
        raise IdentityMismatch(message, field=field)
    raise ValidationFailed(message, field=field)
