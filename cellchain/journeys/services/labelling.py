"""Unit labels: print, reprint with a reason, the two-person labelling check and each label's fate for the
label reconciliation (T-10.6, X-5; items 39, 40; FACT-JACIE CM7.2.2.1)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.permissions import require_permission
from cellchain.domain.identity import LabelPayload, ProductCode, parse_coi, parse_din
from cellchain.domain.label_reconciliation import CLAUSE
from cellchain.journeys.models import LabelDisposition, LabelPrint, Unit
from cellchain.labels import LABEL_TEMPLATE_VERSION, UnitLabel, unit_label_pdf, unit_label_zpl
from cellchain.ledger.records import record_create

STORAGE_TEXT = {
    "fresh": ("2-8 C", "2-8 摄氏度"),
    "cryopreserved": ("<= -130 C vapour-phase LN2", "≤ -130 摄氏度 液氮气相"),
}
"""Storage statements per starting material (P-1.3.1-e fresh 2-8 °C; P-1.3.1-f cryopreserved below -130 °C)."""


def unit_label_content(unit: Unit) -> UnitLabel:
    """The label of ``unit`` as the renderers need it: pseudonymous fields only (X-7, T-7.6)."""
    journey = unit.journey
    collection = unit.collection
    payload = LabelPayload(
        parse_coi(journey.coi_keyboard), parse_din(unit.din_keyboard), ProductCode(journey.product_code)
    )
    storage_en, storage_zh = STORAGE_TEXT[collection.starting_material]
    return UnitLabel(
        payload=payload,
        product_name_en=f"{journey.product_name} apheresis",
        product_name_zh="单采外周血单个核细胞",
        journey_pseudonym=journey.pseudonym,
        collection_site=collection.site.name.split(" / ")[-1],
        collected_at=collection.collected_at.astimezone(ZoneInfo(collection.site.time_zone)),
        volume_ml=unit.volume_ml,
        storage_en=storage_en,
        storage_zh=storage_zh,
        infectious=collection.infectious,
    )


@dataclass(frozen=True)
class RenderedLabel:
    record: LabelPrint
    pdf: bytes
    zpl: str


@transaction.atomic
def label_print(*, actor: Any, unit: Unit, reprint_reason: str = "") -> RenderedLabel:
    """Print a unit label; a reprint needs a reason and is counted (REGULATORY item 39)."""
    Unit.objects.select_for_update().filter(pk=unit.pk).first()
    printed = unit.label_prints.count()
    if printed and not reprint_reason.strip():
        raise ValidationFailed(
            f"Unit {unit.din} already has {printed} printed label(s): a reprint needs a reason.",
            field="reprint_reason",
            detail={"prints": printed},
        )
    content = unit_label_content(unit)
    pdf, zpl = unit_label_pdf(content), unit_label_zpl(content)
    event = "label:reprint" if printed else "label:print"
    record = LabelPrint(
        unit=unit,
        print_number=printed + 1,
        template_version=LABEL_TEMPLATE_VERSION,
        payload=content.payload.encode(),
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        zpl_sha256=hashlib.sha256(zpl.encode()).hexdigest(),
        printed_at=clock.now(),
        printed_by=actor,
        reprint_reason=reprint_reason.strip() if printed else "",
    )
    record_create(actor=actor, record=record, event=event)
    return RenderedLabel(record, pdf, zpl)


def label_render(unit: Unit) -> RenderedLabel:
    """Render the latest printed label again for download (no new print is counted)."""
    record = unit.label_prints.order_by("-print_number").first()
    if record is None:
        raise Conflict(f"Unit {unit.din} has no printed label yet.")
    content = unit_label_content(unit)
    return RenderedLabel(record, unit_label_pdf(content), unit_label_zpl(content))


def label_id(label: LabelPrint) -> str:
    """How a printed label is named in the reconciliation: the unit's DIN and the print number."""
    return f"{label.unit.din}#{label.print_number}"


FATE_EVENT = {
    LabelDisposition.Fate.USED: "label:use",
    LabelDisposition.Fate.VOIDED: "label:void",
    LabelDisposition.Fate.DESTROYED: "label:destroy",
}


def _check_disposition(
    actor: Any, unit: Unit, label: LabelPrint, fate: LabelDisposition.Fate, reason: str, witness: Any | None
) -> None:
    name = label_id(label)
    if label.unit_id != unit.pk:
        raise Conflict(
            f"Label {name} was printed for unit {label.unit.din}, not {unit.din}: a fate is recorded only "
            f"against the unit (and batch) the label belongs to ({CLAUSE}).",
            field="label",
        )
    if actor.organisation_id != unit.collection.site.organisation_id:
        raise NotAllowed(
            f"Label fates of unit {unit.din} are recorded by the collecting site's staff ({CLAUSE})."
        )
    if LabelDisposition.objects.filter(label=label).exists():
        raise Conflict(
            f"Label {name} already has its fate ({label.disposition.get_fate_display()}); a label has one "
            f"final fate ({CLAUSE}).",
            field="label",
        )
    if fate is LabelDisposition.Fate.USED:
        latest = unit.label_prints.order_by("-print_number").first()
        if latest is not None and latest.pk != label.pk:
            raise Conflict(
                f"Label {name} was superseded by print #{latest.print_number}: only the latest print is "
                f"applied to the unit; void or destroy this one ({CLAUSE}).",
                field="fate",
            )
    elif not reason.strip():
        raise ValidationFailed(
            f"Give the reason why label {name} is {fate.label} ({CLAUSE}).", field="reason"
        )
    if fate is LabelDisposition.Fate.DESTROYED:
        if witness is None:
            raise ValidationFailed(f"Destroying label {name} needs a witness ({CLAUSE}).", field="witness")
        if witness.pk == actor.pk or witness.organisation_id != actor.organisation_id:
            raise NotAllowed(
                f"The witness of the destruction of label {name} must be another person of this site "
                f"({CLAUSE}).",
                field="witness",
            )


@transaction.atomic
def label_disposition_record(
    *,
    actor: Any,
    unit: Unit,
    label: LabelPrint,
    fate: str,
    reason: str = "",
    witness: Any | None = None,
) -> LabelDisposition:
    """Record the one final fate of a printed label of ``unit``: used on the bag, voided (misprint, with a
    reason) or destroyed (with a reason and a witness) (FACT-JACIE CM7.2.2.1; issue 13 item 8)."""
    require_permission(actor, "journeys.label")
    try:
        chosen = LabelDisposition.Fate(fate)
    except ValueError:
        raise ValidationFailed(
            f"Unknown label fate {fate!r}: choose used, voided or destroyed ({CLAUSE}).", field="fate"
        ) from None
    # Lock the unit so two people cannot give the same label two fates at once.
    Unit.objects.select_for_update().filter(pk=unit.pk).first()
    _check_disposition(actor, unit, label, chosen, reason, witness)
    record = LabelDisposition(
        label=label,
        fate=chosen.value,
        reason=reason.strip(),
        recorded_at=clock.now(),
        recorded_by=actor,
        witness=witness if chosen is LabelDisposition.Fate.DESTROYED else None,
    )
    return record_create(actor=actor, record=record, event=FATE_EVENT[chosen])
