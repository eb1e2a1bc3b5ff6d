"""Request an inspection dossier or the whole audit trail; the export itself is built in the background
(issue 14 item 6; T-7.1, T-6.3, REGULATORY items 1, 9).

`dossier_export_request` is one transaction: it checks who asks and for what, records the request (a
regulated record, ledgered `dossier:request`) and returns; the file is built by `jobs.dossier_export_execute`
outside the request, in a thread started after the commit or by `cellchain dossier run` (setting
CELLCHAIN_DOSSIER_RUNNER, as for the ledger's verification runs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.core import clock
from cellchain.core.errors import ValidationFailed
from cellchain.core.permissions import require_permission
from cellchain.dossiers import selectors
from cellchain.dossiers.models import DossierExport
from cellchain.ledger.records import record_amend, record_create

EXPORT_STALE_AFTER = dt.timedelta(minutes=10)
"""An export whose progress has not moved for this long is taken as dead (its worker was restarted)."""

Kind = DossierExport.Kind


def _subject(actor: Any, kind: str, subject: str) -> tuple[str, str]:
    """(subject id, label) of what is asked for, refused unless the actor's organisation may have it."""
    if kind == Kind.BATCH:
        batch = selectors.batch_by_number(actor, subject)
        return str(batch.pk), batch.number
    if kind == Kind.JOURNEY:
        journey = selectors.journey_for_dossier(actor, subject)
        return journey.coi, f"{journey.coi_keyboard} ({journey.pseudonym})"
    return "", _("whole audit trail")


def _unfinished(actor: Any, kind: str, subject_id: str) -> DossierExport | None:
    """The same export of the same organisation still queued or running, unless its worker died."""
    current = (
        DossierExport.objects.select_for_update(of=("self",))
        .filter(
            kind=kind,
            subject_id=subject_id,
            status__in=(DossierExport.Status.QUEUED, DossierExport.Status.RUNNING),
            requested_by__organisation_id=actor.organisation_id,
        )
        .order_by("-pk")
        .first()
    )
    if current is None:
        return None
    if clock.now() - (current.progressed_at or current.requested_at) < EXPORT_STALE_AFTER:
        return current
    dossier_export_fail(
        export=current, error=f"its worker stopped: no progress for more than {EXPORT_STALE_AFTER}"
    )
    return None


@transaction.atomic
def dossier_export_request(*, actor: Any, kind: str, subject: str = "") -> DossierExport:
    """Record a request for a dossier of a batch (by its number) or a journey (by its COI), or for the whole
    audit trail, to be built outside the request; returns it. The same export asked again while one is still
    being built returns that one, so exports do not pile up on the workers (T-7.1, REGULATORY item 1)."""
    require_permission(actor, "dossiers.request")
    if kind not in Kind.values:
        raise ValidationFailed(_("Choose a batch, a journey or the whole audit trail."), field="kind")
    if kind != Kind.AUDIT_TRAIL and not subject.strip():
        raise ValidationFailed(_("Give the batch number or the journey's COI."), field="subject")
    subject_id, label = _subject(actor, kind, subject)
    current = _unfinished(actor, kind, subject_id)
    if current is not None:
        return current
    export = record_create(
        actor=actor,
        record=DossierExport(
            kind=kind,
            subject_id=subject_id,
            subject_label=label,
            requested_at=clock.now(),
            requested_by=actor,
        ),
        event=f"dossier:request:{kind}",
    )
    if getattr(settings, "CELLCHAIN_DOSSIER_RUNNER", "thread") == "thread":
        from cellchain.dossiers import jobs

        transaction.on_commit(lambda: jobs.start_thread(export.pk))
    return export


@transaction.atomic
def dossier_export_claim(*, export_id: int) -> DossierExport | None:
    """Take a queued export to build it (ledgered `dossier:start`); None when another runner took it."""
    export = (
        DossierExport.objects.select_for_update(of=("self",))
        .filter(pk=export_id, status=DossierExport.Status.QUEUED)
        .first()
    )
    if export is None:
        return None
    now = clock.now()
    export.status, export.started_at, export.progressed_at = DossierExport.Status.RUNNING, now, now
    return record_amend(
        actor=None,
        record=export,
        event="dossier:start",
        reason="the background export started",
        fields=["status", "started_at", "progressed_at"],
    )


@transaction.atomic
def dossier_export_finish(
    *,
    export: DossierExport,
    file_name: str,
    file_sha256: str,
    file_size: int,
    head_size: int,
    head_root: str,
    records: int,
    entries: int,
) -> DossierExport:
    """Record the finished export with the SHA-256 of the file handed over (ledgered `dossier:complete`)."""
    export.status, export.finished_at = DossierExport.Status.DONE, clock.now()
    export.file_name, export.file_sha256, export.file_size = file_name, file_sha256, file_size
    export.head_size, export.head_root, export.records, export.entries = (
        head_size,
        head_root,
        records,
        entries,
    )
    fields = ["status", "finished_at", "file_name", "file_sha256", "file_size", "head_size", "head_root"]
    return record_amend(
        actor=None,
        record=export,
        event="dossier:complete",
        reason="the background export finished",
        fields=[*fields, "records", "entries"],
    )


@transaction.atomic
def dossier_export_fail(*, export: DossierExport, error: str) -> DossierExport:
    """Record that the export could not be built, and why (ledgered `dossier:fail`)."""
    export.status, export.finished_at, export.error = DossierExport.Status.FAILED, clock.now(), error[:4000]
    return record_amend(
        actor=None,
        record=export,
        event="dossier:fail",
        reason="the background export could not finish",
        fields=["status", "finished_at", "error"],
    )
