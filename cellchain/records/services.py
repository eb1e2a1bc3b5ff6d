"""Commands of the records context, each one transaction, ledgered (issue 13 item 9; decision 0027).

Archive checklist: archive_open -> archive_tick / archive_untick (items the system does not find) ->
archive_close (QA e-signature; refused while an item is missing, T-10.16). Scanned paper records: scan_add binds a
scan by its SHA-256 to the record it scans, with the paper original's location (X-6, T-6.4-g, T-5.2.9).
Retention: retention_purge_check refuses a purge before the retention date (X-6, T-10.3).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.permissions import has_permission
from cellchain.domain import retention as rules
from cellchain.domain.findings import Gate
from cellchain.domain.retention import ArchiveItem
from cellchain.ledger.records import record_amend, record_create, record_void
from cellchain.records import selectors
from cellchain.records.models import ArchiveChecklist, ArchiveTick, RestoreTest, ScannedDocument
from cellchain.signatures import services as signing
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials

MAX_SCAN_BYTES = 20 * 1024 * 1024  # a scanned record of a few pages; larger belongs in a document system


def _require(actor: Any, permission: str, message: str) -> None:
    if not has_permission(actor, permission):
        raise NotAllowed(message)


def _text(value: str, field: str, label: str, clause: str) -> str:
    if not (value or "").strip():
        raise ValidationFailed(
            _("%(label)s is required (%(clause)s).") % {"label": label, "clause": clause}, field=field
        )
    return value.strip()


def _refuse(gate: Gate) -> None:
    if not gate.allowed:
        raise Conflict(" ".join(f.message for f in gate.findings))


def _own(actor: Any, checklist: ArchiveChecklist) -> ArchiveChecklist:
    """Lock the checklist of the actor's organisation; one of another organisation is refused."""
    current = ArchiveChecklist.objects.select_for_update().select_related("site").get(pk=checklist.pk)
    if current.site.organisation_id != actor.organisation_id:
        raise NotAllowed(_("This archive checklist belongs to another organisation."))
    return current


def _open(checklist: ArchiveChecklist) -> None:
    if checklist.status == ArchiveChecklist.Status.CLOSED or checklist.is_voided:
        raise Conflict(
            _("The archive of %(coi)s is closed: nothing more can be recorded on it (T-10.16).")
            % {"coi": checklist.coi}
        )


# --------------------------------------------------------------------------- archive checklist


@transaction.atomic
def archive_open(*, actor: Any, coi: str) -> ArchiveChecklist:
    """Open the archive checklist of a journey at the actor's site (T-10.16, T-6.4-g)."""
    _require(actor, "records.archive", _("Your role does not archive journey records (T-10.16)."))
    coi = selectors.coi_key(_text(coi, "coi", _("The chain-of-identity identifier"), "T-10.16"))
    if coi not in selectors.journey_cois():
        raise ValidationFailed(
            _("No record of this installation names the journey %(coi)s: check the identifier (T-10.16).")
            % {"coi": coi},
            field="coi",
        )
    if ArchiveChecklist.objects.filter(site=actor.site, coi=coi, voided_at__isnull=True).exists():
        raise Conflict(_("The archive checklist of %(coi)s is already open at this site.") % {"coi": coi})
    return record_create(
        actor=actor,
        record=ArchiveChecklist(coi=coi, site=actor.site, opened_at=clock.now(), opened_by=actor),
        event="archive:open",
    )


@transaction.atomic
def archive_tick(
    *,
    actor: Any,
    checklist: ArchiveChecklist,
    item: str,
    evidence: str,
    scanned_document: ScannedDocument | None = None,
) -> ArchiveTick:
    """A person ticks an item with its evidence (an item the system does not hold, T-10.16)."""
    _require(actor, "records.archive", _("Your role does not archive journey records (T-10.16)."))
    current = _own(actor, checklist)
    _open(current)
    if item not in {i.value for i in ArchiveItem}:
        raise ValidationFailed(_("Choose an item of the archive list (T-10.16)."), field="item")
    evidence = _text(evidence, "evidence", _("The evidence for the item"), "T-10.16")
    if scanned_document is not None and scanned_document.site.organisation_id != actor.organisation_id:
        raise ValidationFailed(
            _("The scanned document belongs to another organisation."), field="scanned_document"
        )
    if current.ticks.filter(item=item, voided_at__isnull=True).exists():
        raise Conflict(
            _("Item %(item)s of %(coi)s is already ticked: withdraw that tick first (X-3).")
            % {"item": item, "coi": current.coi}
        )
    return record_create(
        actor=actor,
        record=ArchiveTick(
            checklist=current,
            item=item,
            evidence=evidence,
            scanned_document=scanned_document,
            ticked_at=clock.now(),
            ticked_by=actor,
        ),
        event="archive:tick",
    )


@transaction.atomic
def archive_untick(*, actor: Any, tick: ArchiveTick, reason: str) -> ArchiveTick:
    """Withdraw a tick with a reason (the tick is voided, never removed; X-3)."""
    _require(actor, "records.archive", _("Your role does not archive journey records (T-10.16)."))
    _open(_own(actor, tick.checklist))
    current = ArchiveTick.objects.select_for_update().get(pk=tick.pk)
    if current.is_voided:
        raise Conflict(_("This tick is already withdrawn."))
    reason = _text(reason, "reason", _("The reason for withdrawing the tick"), "X-3")
    return record_void(actor=actor, record=current, event="archive:untick", reason=reason, at=clock.now())


def archive_close(
    *, actor: Any, checklist: ArchiveChecklist, signer: SignerCredentials, archive_location: str
) -> ArchiveChecklist:
    """QA (or the hospital's physician) closes the journey's archive with an e-signature, refused while an item is missing (T-10.16; X-4).

    The gate runs before the password is asked and again inside the signature's transaction with the checklist
    locked, so a refusal writes nothing. The record set's archive location is stated at closing (T-5.2.9).
    """
    _require(
        actor,
        "records.close",
        _("Only quality assurance or a physician closes a journey's archive (T-10.16)."),
    )
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("The person closing the archive signs it."), field="password")
    location = _text(archive_location, "archive_location", _("The archive location"), "T-5.2.9")
    with transaction.atomic():
        stored = _own(actor, checklist)
        _open(stored)
        _refuse(rules.archive_close_gate(selectors.checklist_states(stored), coi=stored.coi))

    def write() -> ArchiveChecklist:
        current = _own(actor, checklist)
        _open(current)
        _refuse(rules.archive_close_gate(selectors.checklist_states(current), coi=current.coi))
        current.status = ArchiveChecklist.Status.CLOSED
        current.archive_location = location
        current.closed_at, current.closed_by = clock.now(), actor
        return record_amend(
            actor=actor,
            record=current,
            event="archive:close",
            reason="every archive item present (T-10.16)",
            fields=["status", "archive_location", "closed_at", "closed_by"],
        )

    signing.record_sign(record=write, signer=signer, meaning=Meaning.APPROVED)
    return ArchiveChecklist.objects.get(pk=checklist.pk)


# --------------------------------------------------------------------------- scanned paper records


@transaction.atomic
def scan_add(
    *,
    actor: Any,
    record_type: str,
    record_id: str,
    title: str,
    name: str,
    media_type: str,
    content: bytes,
    paper_archive: str,
    paper_shelf: str,
    paper_box: str,
) -> ScannedDocument:
    """Keep the scan of a paper record, bound by its SHA-256, linked to the record it scans, with the paper
    original's location (X-6, T-6.4-g, T-5.2.9)."""
    _require(actor, "records.scan", _("Your role does not file scanned records (T-6.4-g)."))
    record_type = _text(record_type, "record_type", _("The record scanned"), "T-6.4-g").lower()
    record_id = _text(record_id, "record_id", _("The record scanned"), "T-6.4-g")
    if not selectors.record_exists(record_type, record_id):
        raise ValidationFailed(
            _("No ledgered record %(type)s:%(id)s: a scan is linked to the record it scans (T-6.4-g).")
            % {"type": record_type, "id": record_id},
            field="record_id",
        )
    if not content:
        raise ValidationFailed(_("The scanned file is empty (T-6.4-g)."), field="file")
    if len(content) > MAX_SCAN_BYTES:
        raise ValidationFailed(
            _("The scanned file is larger than %(mb)s MB.") % {"mb": MAX_SCAN_BYTES // (1024 * 1024)},
            field="file",
        )
    return record_create(
        actor=actor,
        record=ScannedDocument(
            site=actor.site,
            record_type=record_type,
            record_id=record_id,
            coi=selectors.record_coi(record_type, record_id) or "",
            title=_text(title, "title", _("The title"), "T-6.4-g"),
            name=_text(name, "file", _("The file name"), "T-6.4-g")[:255],
            media_type=(media_type or "application/octet-stream")[:100],
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            content=content,
            paper_archive=_text(paper_archive, "paper_archive", _("The paper archive"), "X-6"),
            paper_shelf=_text(paper_shelf, "paper_shelf", _("The shelf"), "X-6"),
            paper_box=_text(paper_box, "paper_box", _("The box or folder"), "X-6"),
            scanned_at=clock.now(),
            scanned_by=actor,
        ),
        event="scan:add",
    )


def scan_content(scan: ScannedDocument) -> bytes:
    """The scan's bytes, refused if they no longer match the ledgered SHA-256 (X-6, REGULATORY item 14)."""
    content = bytes(ScannedDocument.objects.filter(pk=scan.pk).values_list("content", flat=True).get())
    if hashlib.sha256(content).hexdigest() != scan.sha256:
        raise Conflict(
            _("The scan %(title)s no longer matches its recorded SHA-256: it was altered.")
            % {"title": scan.title}
        )
    return content


# --------------------------------------------------------------------------- retention guard


def retention_purge_check(*, record_type: str, record_id: str, today: dt.date) -> selectors.RecordRetention:
    """Refuse purging, archival deletion or clean-up of a record before its retention date (X-6, T-10.3).

    The application has no purge path (records are voided, never deleted: X-3); any future clean-up, export-and-
    delete or archival job must call this first for every record it would remove.
    """
    found = selectors.record_retention(record_type, record_id)
    subject = found.coi or f"{record_type}:{record_id}"
    gate = rules.purge_gate(found.retention, today, subject=subject)
    if not gate.allowed:
        raise NotAllowed(" ".join(f.message for f in gate.findings))
    return found


# --------------------------------------------------------------------------- restore-test log

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _hex64(value: str, field: str, label: str) -> str:
    value = (value or "").strip().lower()
    if not _HEX64.match(value):
        raise ValidationFailed(
            _("%(label)s must be 64 hexadecimal characters (a SHA-256) (T-10.2).") % {"label": label},
            field=field,
        )
    return value


@transaction.atomic
def restore_test_record(
    *,
    actor: Any,
    backup_name: str,
    backup_sha256: str,
    tree_size: int,
    root_hash: str,
    outcome: str,
    tested_on: dt.date,
    note: str = "",
) -> RestoreTest:
    """Log a test restore of a backup and its ledger verification (T-10.2); a failed one needs a note."""
    _require(
        actor,
        "records.restore_test",
        _("Only quality assurance or a site administrator logs restore tests (T-10.2)."),
    )
    if outcome not in RestoreTest.Outcome.values:
        raise ValidationFailed(_("Choose the outcome of the restore test (T-10.2)."), field="outcome")
    if outcome == RestoreTest.Outcome.FAILED and not note.strip():
        raise ValidationFailed(_("Say what failed in the restore test (T-10.2)."), field="note")
    if tested_on > clock.today(actor.site.time_zone):
        raise ValidationFailed(_("A restore test cannot be dated in the future (T-10.2)."), field="tested_on")
    if tree_size < 0:
        raise ValidationFailed(_("The ledger size cannot be negative."), field="tree_size")
    return record_create(
        actor=actor,
        record=RestoreTest(
            site=actor.site,
            backup_name=_text(backup_name, "backup_name", _("The backup file"), "T-10.2"),
            backup_sha256=_hex64(backup_sha256, "backup_sha256", _("The backup's SHA-256")),
            tree_size=tree_size,
            root_hash=_hex64(root_hash, "root_hash", _("The ledger root")),
            outcome=outcome,
            note=note.strip(),
            tested_on=tested_on,
            tested_by=actor,
        ),
        event="restoretest:record",
    )
