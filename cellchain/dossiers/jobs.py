"""Build the requested exports outside the web request, writing progress the page polls (issue 14 item 6).

A batch's or journey's dossier is one ZIP file:

- ``dossier.pdf``: the record summary (Chinese and English), naming the bundle's SHA-256 and signed head;
- ``ledger-subset.json``: the `cellchain-ledger-subset/1` bundle of exactly its records' entries, each with
  an inclusion proof to one signed tree head (`cellchain.ledger.subset`), checked by `cellchain-verify`;
- ``README.txt``: what the files are and how to check them;
- ``MANIFEST.sha256``: the SHA-256 of every other file, in the format `sha256sum -c` reads.

The whole audit trail is one ZIP too: ``ledger-bundle.json`` (the whole-ledger bundle, up to a head signed
first), ``audit-trail.csv`` (the trail as the requester's organisation reads it, the trail page's columns),
``README.txt`` and ``MANIFEST.sha256``. Entries are streamed, so a large ledger never sits in memory.

One file, not two downloads: the PDF and the bundle describe each other (the PDF names the bundle's hash and
head; the manifest hashes both), and one file cannot be handed over with the other half of another export.

Runner (setting CELLCHAIN_DOSSIER_RUNNER, like CELLCHAIN_LEDGER_VERIFY_RUNNER): "thread" (default) starts a
daemon thread after the request's commit, with its own database connection; "command" leaves the export
queued for `cellchain dossier run` (cron or a systemd timer).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import logging
import threading
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from cellchain.core import clock
from cellchain.dossiers import selectors, services
from cellchain.dossiers.models import DossierExport
from cellchain.dossiers.pdf import LedgerBinding, dossier_pdf
from cellchain.ledger.export import bundle_chunks
from cellchain.ledger.heads import head_issue
from cellchain.ledger.selectors import entries_visible_to
from cellchain.ledger.subset import subset_bundle
from cellchain.ledger.trail_csv import Echo, csv_rows

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5
"""Progress is written at most this often (and at each new phase): one UPDATE, not one per entry."""

PDF_NAME, SUBSET_NAME, BUNDLE_NAME, CSV_NAME = (
    "dossier.pdf",
    "ledger-subset.json",
    "ledger-bundle.json",
    "audit-trail.csv",
)
MANIFEST_NAME, README_NAME = "MANIFEST.sha256", "README.txt"


def export_dir() -> Path:
    """Where finished exports are kept (setting CELLCHAIN_EXPORT_DIR, by default var/exports)."""
    path = Path(getattr(settings, "CELLCHAIN_EXPORT_DIR", settings.VAR_DIR / "exports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_path(export: DossierExport) -> Path:
    return export_dir() / export.file_name


def start_thread(export_id: int) -> None:
    threading.Thread(target=_thread_main, args=(export_id,), name=f"dossier-{export_id}", daemon=True).start()


def _thread_main(export_id: int) -> None:
    try:
        dossier_export_execute(export_id)
    finally:
        connection.close()  # the thread's own connection, not the request's


class _Progress:
    """Writes (phase, done, total) on the export row at most every PROGRESS_EVERY_S, and at each new phase."""

    def __init__(self, export_id: int) -> None:
        self.export_id, self.phase, self.at = export_id, "", 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self.phase and now - self.at < PROGRESS_EVERY_S and done < total:
            return
        self.phase, self.at = phase, now
        DossierExport.objects.filter(pk=self.export_id).update(
            phase=phase, done=done, total=total, progressed_at=clock.now()
        )


@dataclass(frozen=True)
class Built:
    """What a finished export holds, as recorded on its row."""

    file_name: str
    sha256: str
    size: int
    head_size: int
    head_root: str
    records: int
    entries: int


class _HashingWriter:
    """A binary stream into a ZIP member that hashes what passes through it."""

    def __init__(self, target: Any) -> None:
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.target.write(data)
        self.digest.update(data)
        self.size += len(data)


def _member(archive: zipfile.ZipFile, name: str, chunks: Iterator[bytes]) -> str:
    """Write `name` into the ZIP from `chunks`; return its SHA-256."""
    with archive.open(name, "w", force_zip64=True) as target:
        writer = _HashingWriter(target)
        for chunk in chunks:
            writer.write(chunk)
    return writer.digest.hexdigest()


def _close(archive: zipfile.ZipFile, hashes: dict[str, str], readme: str) -> None:
    hashes[README_NAME] = _member(archive, README_NAME, iter([readme.encode("utf-8")]))
    manifest = "".join(f"{digest}  {name}\n" for name, digest in hashes.items())
    archive.writestr(MANIFEST_NAME, manifest)


def _sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _write_zip(export: DossierExport, build: Callable[[zipfile.ZipFile], tuple[int, str, int, int]]) -> Built:
    """Write the ZIP under a temporary name and move it into place once whole; return what it holds."""
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in (export.subject_label or export.kind))[:40]
    name = f"{export.pk}-{export.kind}-{slug}-{stamp}.zip"
    final = export_dir() / name
    partial = final.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        head_size, head_root, records, entries = build(archive)
    partial.replace(final)
    sha256, size = _sha256_file(final)
    return Built(name, sha256, size, head_size, head_root, records, entries)


README_DOSSIER = """CellChain inspection dossier / 检查档案
{title}
Generated {generated} UTC for {requester}.

dossier.pdf          record summary (Chinese and English) / 记录摘要（中英文）
ledger-subset.json   the ledger entries of exactly these {records} records ({entries} entries), each with an
                     RFC 9162 inclusion proof to the signed tree head of size {head_size}
                     (root {head_root}); format cellchain-ledger-subset/1
MANIFEST.sha256      SHA-256 of every file

Check / 核对:
  sha256sum -c MANIFEST.sha256
  cellchain-verify ledger-subset.json --log-key <the installation's published public key, base64>
cellchain-verify exits 0 when every check holds, 1 when one fails, 2 when the file is malformed, 3 when a
pinned head (--trusted-head) of another size could not be compared.
"""


def _build_dossier(export: DossierExport, progress: _Progress) -> Built:
    requester = export.requested_by
    progress("records", 0, 1)
    if export.kind == DossierExport.Kind.BATCH:
        content = selectors.batch_content(selectors.batch_for_dossier(requester, export.subject_id))
    else:
        journey = selectors.journey_for_dossier(requester, export.subject_id)
        content = selectors.journey_content(
            journey, hospital=selectors.is_journey_hospital(requester, journey)
        )
    progress("records", 1, 1)
    subject = {"kind": content.kind, "id": content.subject_label, "title": content.title}
    bundle = subset_bundle(content.records, subject=subject, progress=progress)
    bundle_bytes = (json.dumps(bundle, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    head = bundle["head"]
    head_root = base64.b64decode(head["root"]).hex()
    binding = LedgerBinding(
        log_id=bundle["log_id"],
        head_size=head["size"],
        head_root=head_root,
        head_time=head["time"],
        key_id=head["key_id"],
        bundle_name=SUBSET_NAME,
        bundle_sha256=hashlib.sha256(bundle_bytes).hexdigest(),
        entries=len(bundle["entries"]),
        records=len(content.records),
    )
    progress("pdf", 0, 1)
    generated = clock.now()
    pdf = dossier_pdf(content, binding, generated_at=generated, requester=str(requester))
    progress("pdf", 1, 1)

    def build(archive: zipfile.ZipFile) -> tuple[int, str, int, int]:
        hashes = {
            PDF_NAME: _member(archive, PDF_NAME, iter([pdf])),
            SUBSET_NAME: _member(archive, SUBSET_NAME, iter([bundle_bytes])),
        }
        readme = README_DOSSIER.format(
            title=content.title,
            generated=f"{generated:%Y-%m-%d %H:%M}",
            requester=requester,
            records=len(content.records),
            entries=len(bundle["entries"]),
            head_size=head["size"],
            head_root=head_root,
        )
        _close(archive, hashes, readme)
        return head["size"], head_root, len(content.records), len(bundle["entries"])

    return _write_zip(export, build)


README_TRAIL = """CellChain audit trail / 审计追踪
Generated {generated} UTC for {requester}.

ledger-bundle.json   every ledger entry up to the signed tree head of size {head_size} (root {head_root}),
                     the signed heads, key history and witness countersignatures; format cellchain-ledger-bundle/2
audit-trail.csv      the entries up to that head that {organisation} may read, one row each (UTF-8 with BOM)
MANIFEST.sha256      SHA-256 of every file

Check / 核对:
  sha256sum -c MANIFEST.sha256
  cellchain-verify ledger-bundle.json --log-key <the installation's published public key, base64>
"""


def _encoded(chunks: Iterator[str]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8")


def _counted_bundle(size: int, progress: _Progress) -> Iterator[bytes]:
    # bundle_chunks yields the opening, one text per entry, and the closing (heads, witnesses).
    for number, chunk in enumerate(bundle_chunks(size)):
        if number and number % 1000 == 0:
            progress("bundle", min(number, size), size)
        yield chunk.encode("utf-8")
    progress("bundle", size, size)


def _trail_rows(requester: Any, size: int, progress: _Progress) -> Iterator[bytes]:
    entries = entries_visible_to(requester).filter(seq__lt=size).order_by("seq")
    writer = csv.writer(Echo())
    yield "\ufeff".encode()
    for number, row in enumerate(csv_rows(entries)):
        if number and number % 1000 == 0:
            progress("trail", min(number, size), size)
        yield writer.writerow(row).encode("utf-8")
    progress("trail", size, size)


def _build_audit_trail(export: DossierExport, progress: _Progress) -> Built:
    requester = export.requested_by
    head = head_issue()
    head_root = bytes(head.root).hex()
    generated = clock.now()

    def build(archive: zipfile.ZipFile) -> tuple[int, str, int, int]:
        hashes = {
            BUNDLE_NAME: _member(archive, BUNDLE_NAME, _counted_bundle(head.size, progress)),
            CSV_NAME: _member(archive, CSV_NAME, _trail_rows(requester, head.size, progress)),
        }
        organisation = getattr(requester.organisation, "name", "") or str(requester)
        readme = README_TRAIL.format(
            generated=f"{generated:%Y-%m-%d %H:%M}",
            requester=requester,
            head_size=head.size,
            head_root=head_root,
            organisation=organisation,
        )
        _close(archive, hashes, readme)
        return head.size, head_root, 0, head.size

    return _write_zip(export, build)


def dossier_export_execute(export_id: int) -> DossierExport | None:
    """Build the queued export `export_id`, writing progress, then record the file; None if another runner
    took it. A failure is recorded on the export (never half a file: the ZIP is moved in place when whole)."""
    export = services.dossier_export_claim(export_id=export_id)
    if export is None:
        return None
    progress = _Progress(export.pk)
    try:
        build = _build_audit_trail if export.kind == DossierExport.Kind.AUDIT_TRAIL else _build_dossier
        built = build(export, progress)
    except Exception as error:
        log.exception("dossier export %s could not finish", export_id)
        message = getattr(error, "message", "") or traceback.format_exc(limit=5)
        export.refresh_from_db()
        return services.dossier_export_fail(export=export, error=str(message))
    export.refresh_from_db()
    return services.dossier_export_finish(
        export=export,
        file_name=built.file_name,
        file_sha256=built.sha256,
        file_size=built.size,
        head_size=built.head_size,
        head_root=built.head_root,
        records=built.records,
        entries=built.entries,
    )


def dossier_exports_execute_queued() -> list[DossierExport]:
    """Build every queued export, oldest first (`cellchain dossier run`)."""
    done = []
    queued = DossierExport.objects.filter(status=DossierExport.Status.QUEUED).order_by("pk")
    for export_id in queued.values_list("pk", flat=True):
        export = dossier_export_execute(export_id)
        if export is not None:
            done.append(export)
    return done


def read_member(export: DossierExport, name: str) -> bytes:
    """One file of a finished export's ZIP (tests, and the page that shows the manifest)."""
    with zipfile.ZipFile(export_path(export)) as archive:
        return archive.read(name)
