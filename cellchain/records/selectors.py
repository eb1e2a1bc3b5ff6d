"""Reads of the records context: retention of a journey and of any ledgered record, the archive checklist's
items as the system finds them (issue 13 item 9; T-10.3, T-10.16, T-6.4-g, X-6; decision 0027).

A record's retention follows the journey it belongs to. The journey of a record is found by following its
foreign keys to the nearest model that carries the chain-of-identity identifier (`coi`), which every
journey-bound record of both organisations has on itself or on a parent (Journey, TreatmentCourse,
ApheresisIntake, Shipment, ClinicUnit...). A record that belongs to no journey (an SOP, a piece of equipment, a
training record) may support any journey, so it is kept as long as the latest journey (`shared_retention`).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Max, QuerySet
from django.utils import timezone

from cellchain.accounts.models import Organisation, Site
from cellchain.clinic.models import AdverseEvent, ClinicUnit, FollowUpVisit, Infusion, Thaw, TreatmentCourse
from cellchain.domain import retention as rules
from cellchain.domain.retention import ArchiveItem, ItemState, Retention
from cellchain.journeys.models import Collection, Consent, EligibilityAssessment, Journey
from cellchain.ledger.models import LedgerEntry, RegulatedModel
from cellchain.logistics.models import ReceiptInspection, Shipment, StockEvent
from cellchain.manufacturing.models import ApheresisIntake, Batch, ProductUnit
from cellchain.qc.models import ReleaseDecision
from cellchain.records.models import ArchiveChecklist, ArchiveTick, RestoreTest, ScannedDocument

_NOT_JOURNEY = (Site, Organisation)  # parents every record has; they lead to no journey


COI_DATA_LENGTH = (
    15  # "CH" + facility (5) + year (2) + sequence (6); the keyboard form adds a check character
)


def coi_key(value: str) -> str:
    """The COI's data characters: records hold it with (clinic, logistics) or without (journeys, manufacturing)
    its check character, so both forms name the same journey."""
    return (value or "").strip().upper()[:COI_DATA_LENGTH]


def _day(value: dt.datetime | dt.date | None) -> dt.date | None:
    """A stored instant as its UTC date (retention is counted in whole days; decision 0027)."""
    if value is None or not isinstance(value, dt.datetime):
        return value
    return timezone.localtime(value, dt.UTC).date()


# --------------------------------------------------------------------------- retention of a journey


@dataclass(frozen=True)
class JourneyRetention:
    """A journey's retention with the facts it came from (the latest recorded expiry, use, last follow-up)."""

    coi: str
    expiry: dt.date | None
    used: dt.date | None
    treatment_end: dt.date | None
    retention: Retention


def _expiry_sources() -> list[tuple[QuerySet[Any], str, str]]:
    """(queryset, COI path, date field) of every record holding the product's expiry."""
    return [
        (Shipment.objects.filter(voided_at__isnull=True), "coi", "expires_at"),
        (StockEvent.objects.filter(voided_at__isnull=True), _coi_lookup(StockEvent) or "", "expires_at"),
        (ClinicUnit.objects.filter(voided_at__isnull=True), "coi", "label_expires"),
    ]


def _use_sources() -> list[tuple[QuerySet[Any], str, str]]:
    return [
        (Infusion.objects.filter(voided_at__isnull=True), "course__coi", "started_at"),
        (ProductUnit.objects.filter(voided_at__isnull=True), "batch__intake__coi", "infused_at"),
    ]


def _latest_by_coi(sources: list[tuple[QuerySet[Any], str, str]], coi: str | None) -> dict[str, dt.date]:
    """The latest date per COI over the sources (one grouped query each): the latest expiry or use is the one
    that keeps the records longest."""
    found: dict[str, dt.date] = {}
    for queryset, path, field in sources:
        if not path:
            continue
        rows = queryset.exclude(**{f"{field}__isnull": True}).exclude(**{path: ""})
        if coi is not None:
            rows = rows.filter(**{f"{path}__startswith": coi})
        for raw, value in rows.values_list(path).annotate(last=Max(field)).values_list(path, "last"):
            key, day = coi_key(raw), _day(value)
            if day is not None and (key not in found or day > found[key]):
                found[key] = day
    return found


def _follow_up_by_coi(coi: str | None) -> dict[str, dt.date]:
    rows = FollowUpVisit.objects.filter(voided_at__isnull=True)
    path = _coi_lookup(FollowUpVisit)
    if not path:
        return {}
    return _latest_by_coi([(rows, path, "done_on")], coi)


def journey_retention(coi: str) -> JourneyRetention:
    """The retention of one journey's records from what this installation holds (T-10.3, T-10.4, X-6)."""
    coi = coi_key(coi)
    expiry = _latest_by_coi(_expiry_sources(), coi).get(coi)
    used = _latest_by_coi(_use_sources(), coi).get(coi)
    end = _follow_up_by_coi(coi).get(coi)
    return JourneyRetention(
        coi, expiry, used, end, rules.retention_end(expiry=expiry, used=used, treatment_end=end)
    )


def journey_cois() -> set[str]:
    """Every COI this installation's records name."""
    found: set[str] = set()
    for model, path in (
        (Journey, "coi"),
        (TreatmentCourse, "coi"),
        (ApheresisIntake, "coi"),
        (Shipment, "coi"),
    ):
        found.update(
            coi_key(c) for c in model.objects.exclude(**{path: ""}).values_list(path, flat=True).distinct()
        )
    return found


def journey_retentions() -> dict[str, JourneyRetention]:
    """Every journey's retention, in a fixed number of grouped queries."""
    expiries, uses, ends = (
        _latest_by_coi(_expiry_sources(), None),
        _latest_by_coi(_use_sources(), None),
        _follow_up_by_coi(None),
    )
    return {
        coi: JourneyRetention(
            coi,
            expiries.get(coi),
            uses.get(coi),
            ends.get(coi),
            rules.retention_end(expiry=expiries.get(coi), used=uses.get(coi), treatment_end=ends.get(coi)),
        )
        for coi in sorted(journey_cois())
    }


def shared_retention() -> Retention:
    """A record of no one journey is kept as long as the latest journey's records (decision 0027)."""
    return rules.latest([j.retention for j in journey_retentions().values()])


# --------------------------------------------------------------------------- the journey of a record


def _has_coi(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("coi")
    except FieldDoesNotExist:
        return False
    return isinstance(field, models.CharField)


@cache
def _coi_lookup(model: type[models.Model]) -> str | None:
    """The ORM path from `model` to the nearest `coi` field, by its foreign keys (breadth first), or None.

    Cached per model: the model graph does not change at run time.
    """
    queue: deque[tuple[type[models.Model], str, int]] = deque([(model, "", 0)])
    seen: set[type[models.Model]] = {model}
    while queue:
        current, prefix, depth = queue.popleft()
        if _has_coi(current):
            return f"{prefix}coi"
        if depth >= 4:
            continue
        for field in current._meta.concrete_fields:
            target = field.related_model if field.is_relation else None
            if not isinstance(target, type) or target in seen or issubclass(target, _NOT_JOURNEY):
                continue
            if not issubclass(target, RegulatedModel):  # users, sequences: not journey records
                continue
            seen.add(target)
            queue.append((target, f"{prefix}{field.name}__", depth + 1))
    return None


def _model_of(record_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(record_type)
    except (LookupError, ValueError):
        return None


def record_coi(record_type: str, record_id: str, _depth: int = 0) -> str | None:
    """The COI of the journey a ledgered record belongs to, or None (a record of no one journey).

    A record about another record by its ledger subject (a signature, a scan without a COI) belongs where
    that record belongs.
    """
    model = _model_of(record_type)
    if model is None:
        return None
    path = _coi_lookup(model)
    if path is None:
        return _subject_coi(model, record_id, _depth)
    try:
        found = model._base_manager.filter(pk=record_id).values_list(path, flat=True).first()
    except (ValueError, TypeError):  # an id that is not of the model's key type
        return None
    return coi_key(found) or None


def _subject_coi(model: type[models.Model], record_id: str, depth: int) -> str | None:
    names = {f.name for f in model._meta.concrete_fields}
    if depth >= 2 or not {"record_type", "record_id"} <= names:
        return None
    try:
        subject = model._base_manager.filter(pk=record_id).values_list("record_type", "record_id").first()
    except (ValueError, TypeError):
        return None
    return record_coi(subject[0], subject[1], depth + 1) if subject else None


@dataclass(frozen=True)
class RecordRetention:
    """The retention of one ledgered record: its journey (or none) and the date it follows."""

    record_type: str
    record_id: str
    coi: str | None
    retention: Retention


def record_retention(record_type: str, record_id: str) -> RecordRetention:
    """The retention date of any ledgered record, by the ledger entry's subject (X-6, T-10.3; decision 0027)."""
    coi = record_coi(record_type, record_id)
    found = journey_retention(coi).retention if coi else shared_retention()
    return RecordRetention(record_type, record_id, coi, found)


def entry_retention(entry: LedgerEntry) -> RecordRetention:
    return record_retention(entry.record_type, entry.record_id)


# --------------------------------------------------------------------------- archive checklist


def checklists_for(viewer: Any) -> QuerySet[ArchiveChecklist]:
    return (
        ArchiveChecklist.objects.filter(voided_at__isnull=True, site__organisation_id=viewer.organisation_id)
        .select_related("site", "opened_by", "closed_by")
        .order_by("-opened_at")
    )


def checklist_get_for(viewer: Any, checklist_id: int) -> ArchiveChecklist:
    return checklists_for(viewer).get(pk=checklist_id)


def _refs(queryset: QuerySet[Any]) -> tuple[str, ...]:
    label = queryset.model._meta.label_lower
    return tuple(
        f"{label}:{pk}" for pk in queryset.filter(voided_at__isnull=True).values_list("pk", flat=True)
    )


def found_items(coi: str) -> dict[ArchiveItem, tuple[str, ...]]:
    """What the system finds among its own records for each item (the record references), per journey."""
    coi = coi_key(coi)
    return {
        ArchiveItem.CONSENT: _refs(Consent.objects.filter(journey__coi=coi, withdrawn_at__isnull=True)),
        ArchiveItem.ELIGIBILITY: _refs(EligibilityAssessment.objects.filter(journey__coi=coi)),
        ArchiveItem.APHERESIS: _refs(Collection.objects.filter(journey__coi=coi)),
        ArchiveItem.BATCH_RECORD: _refs(Batch.objects.filter(intake__coi=coi, closed_at__isnull=False)),
        ArchiveItem.COA: _refs(
            ReleaseDecision.objects.filter(
                batch__intake__coi=coi,
                outcome__in=[ReleaseDecision.Outcome.RELEASED, ReleaseDecision.Outcome.CONDITIONAL],
            )
        ),
        ArchiveItem.SHIPMENT: _refs(Shipment.objects.filter(coi__startswith=coi, batch_number__gt="")),
        ArchiveItem.RECEIPT: _refs(ReceiptInspection.objects.filter(shipment__coi__startswith=coi)),
        ArchiveItem.THAW: _refs(Thaw.objects.filter(unit__course__coi__startswith=coi)),
        ArchiveItem.INFUSION: _refs(Infusion.objects.filter(course__coi__startswith=coi)),
        ArchiveItem.ADVERSE_EVENTS: (),  # "none occurred" or "all handled" is a person's statement: ticked
        ArchiveItem.FOLLOW_UP: (),  # follow-up runs for years; its completeness is ticked with evidence
        ArchiveItem.MEDICAL_RECORD: (),  # the hospital's EMR is outside the system
    }


def live_ticks(checklist: ArchiveChecklist) -> dict[str, ArchiveTick]:
    return {
        t.item: t
        for t in checklist.ticks.filter(voided_at__isnull=True).select_related(
            "ticked_by", "scanned_document"
        )
    }


@dataclass(frozen=True)
class ChecklistRow:
    item: ArchiveItem
    label: Any
    found: tuple[str, ...]
    tick: ArchiveTick | None

    @property
    def present(self) -> bool:
        return bool(self.found) or self.tick is not None


def checklist_rows(checklist: ArchiveChecklist) -> list[ChecklistRow]:
    from cellchain.records.models import ITEM_LABELS

    found, ticks = found_items(checklist.coi), live_ticks(checklist)
    return [
        ChecklistRow(item, ITEM_LABELS[item], found.get(item, ()), ticks.get(item.value))
        for item in rules.ARCHIVE_ITEMS
    ]


def checklist_states(checklist: ArchiveChecklist) -> list[ItemState]:
    return [ItemState(r.item, r.found, r.tick is not None) for r in checklist_rows(checklist)]


def adverse_events_of(coi: str) -> int:
    """How many adverse events the journey has (shown beside the item a person ticks)."""
    return AdverseEvent.objects.filter(course__coi__startswith=coi_key(coi), voided_at__isnull=True).count()


# --------------------------------------------------------------------------- scanned documents


def scans_for(viewer: Any) -> QuerySet[ScannedDocument]:
    return (
        ScannedDocument.objects.filter(voided_at__isnull=True, site__organisation_id=viewer.organisation_id)
        .select_related("site", "scanned_by")
        .defer("content")
    )


def scan_get_for(viewer: Any, scan_id: int) -> ScannedDocument:
    return ScannedDocument.objects.filter(
        voided_at__isnull=True, site__organisation_id=viewer.organisation_id
    ).get(pk=scan_id)


def record_exists(record_type: str, record_id: str) -> bool:
    """Does the ledger know this record (the subject a scan is linked to)?"""
    return LedgerEntry.objects.filter(record_type=record_type, record_id=record_id).exists()


# --------------------------------------------------------------------------- restore tests (T-10.2)


def restore_tests_for(viewer: Any) -> QuerySet[RestoreTest]:
    return RestoreTest.objects.filter(
        voided_at__isnull=True, site__organisation_id=viewer.organisation_id
    ).select_related("tested_by")


def last_passed_restore_test(viewer: Any) -> dt.date | None:
    return (
        restore_tests_for(viewer)
        .filter(outcome=RestoreTest.Outcome.PASSED)
        .order_by("-tested_on")
        .values_list("tested_on", flat=True)
        .first()
    )
