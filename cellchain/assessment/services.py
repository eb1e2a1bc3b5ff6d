"""Answer and review a self-assessment item, with its evidence, and sign the review (issue 14 item 2; CHECKLIST).

One command does it all: the reviewer gives the answer, the evidence (a file, a link to the CellChain record
that proves it, or a document reference), a note, the next review date and, when the item was answered before,
the reason for the change; re-enters the password; and the answer is written and signed "reviewed" in one
transaction (X-3, X-4). The first answer creates the row; each later review amends it, so the ledger keeps
every earlier answer and the earlier signature is marked superseded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cellchain.accounts.models import Site
from cellchain.assessment import evidence as records
from cellchain.assessment.models import AssessmentAnswer, EvidenceFile
from cellchain.assessment.selectors import site_kind
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, TooLarge, ValidationFailed
from cellchain.core.permissions import has_permission
from cellchain.domain import self_assessment as sa
from cellchain.ledger.records import record_create
from cellchain.signatures import services as signing
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials


@dataclass(frozen=True)
class AnswerInput:
    """What the reviewer enters for one item."""

    answer: str
    next_review: dt.date
    note: str = ""
    evidence_link: str = ""
    evidence_reference: str = ""
    reason: str = ""
    keep_file: bool = True  # a later review keeps the file attached before unless a new one replaces it


def checklist_item_for(site: Site, code: str) -> sa.ChecklistItem:
    """The catalogue item `code`, if a site of this kind answers it; otherwise a refusal naming the field."""
    try:
        item = sa.catalogue_item(code)
    except KeyError:
        raise ValidationFailed(
            _("%(code)s is not an item of the self-assessment checklist.") % {"code": code}, field="item_code"
        ) from None
    if not item.applies(site_kind(site)):
        raise ValidationFailed(
            _("%(code)s does not apply to %(site)s (a site of another kind).") % {"code": code, "site": site},
            field="item_code",
        )
    return item


def _authorise(actor: Any, site: Site, signer: SignerCredentials) -> None:
    if not has_permission(actor, "assessment.answer"):
        raise NotAllowed(
            _("Only quality assurance or the cell-therapy coordinator answers the self-assessment.")
        )
    if actor.organisation_id != site.organisation_id:
        raise NotAllowed(_("You can answer the self-assessment of your own organisation's sites only."))
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("The reviewer signs the review."), field="password")


def evidence_link_checked(link: str) -> str:
    """The path of a CellChain page (a pasted full address keeps its path), or a refusal saying what to do."""
    link = link.strip()
    if not link:
        return ""
    parts = urlsplit(link)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        if not parts.path.startswith("/") or parts.path.startswith("//"):
            raise Resolver404
        resolve(parts.path)
    except Resolver404:
        raise ValidationFailed(
            _(
                "%(link)s is not a CellChain page: give the address of the record's page (it starts with /), "
                "or put an outside document under “Document reference”."
            )
            % {"link": link[:120]},
            field="evidence_link",
        ) from None
    if len(path) > AssessmentAnswer._meta.get_field("evidence_link").max_length:
        raise ValidationFailed(_("The link is too long (at most 300 characters)."), field="evidence_link")
    return path


_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def content_type_of(content: bytes) -> str:
    """The type told by the file's first bytes (PDF, PNG, JPEG), never by its name; anything else is binary."""
    return next(
        (kind for magic, kind in _SIGNATURES if content.startswith(magic)), "application/octet-stream"
    )


def _file_read(upload: Any) -> bytes:
    """The bytes of an uploaded file, refused before reading when larger than the installation accepts."""
    limit = settings.CELLCHAIN_MAX_EVIDENCE_FILE_BYTES
    if upload.size > limit:
        raise TooLarge(
            _("%(name)s is %(size)s bytes; evidence files of at most %(limit)s bytes are accepted.")
            % {"name": upload.name, "size": upload.size, "limit": limit},
            field="evidence_file",
        )
    content = upload.read()
    if not content:
        raise ValidationFailed(_("%(name)s is empty.") % {"name": upload.name}, field="evidence_file")
    return bytes(content)


def evidence_file_store(*, actor: Any, site: Site, name: str, content: bytes) -> EvidenceFile:
    """Keep an evidence file as received, with its SHA-256 and the type its bytes show."""
    digest = hashlib.sha256(content).hexdigest()
    return record_create(
        actor=actor,
        record=EvidenceFile(
            site=site,
            name=name[:255],
            content_type=content_type_of(content),
            sha256=digest,
            size=len(content),
            content=content,
            uploaded_at=clock.now(),
            uploaded_by=actor,
        ),
        event="assessment:evidence",
        extra={"sha256": digest},
    )


def evidence_file_content(stored: EvidenceFile) -> bytes:
    """The stored bytes, after recomputing their hash against the ledgered one."""
    content = bytes(stored.content)
    if hashlib.sha256(content).hexdigest() != stored.sha256:
        raise Conflict(
            _("%(name)s no longer matches its recorded SHA-256: it was altered.") % {"name": stored.name}
        )
    return content


_FINDING_TEXT = {
    "evidence_missing": (
        "evidence_file",
        gettext_lazy(
            "A “yes” needs evidence: attach a file, link the record or give the document reference."
        ),
    ),
    "note_missing_no": (
        "note",
        gettext_lazy("A “no” needs a note: say what is missing and what is being done."),
    ),
    "note_missing_na": (
        "note",
        gettext_lazy("“Not applicable” needs a note saying why the item does not apply to this site."),
    ),
    "next_review_not_after": ("next_review", gettext_lazy("The next review must fall after today.")),
    "next_review_too_far": (
        "next_review",
        gettext_lazy("The next review is more than five years ahead: check the year."),
    ),
}


def _answer_rules(data: AnswerInput, has_evidence: bool, today: dt.date) -> sa.Answer:
    """The domain's answer check, its first finding as a refusal on the field it names."""
    try:
        answer = sa.Answer(data.answer)
    except ValueError:
        raise ValidationFailed(_("Answer yes, no or not applicable."), field="answer") from None
    gate = sa.answer_check(
        answer, note=data.note, has_evidence=has_evidence, reviewed_on=today, next_review=data.next_review
    )
    if not gate.allowed:
        field, text = _FINDING_TEXT[gate.findings[0].check]
        raise ValidationFailed(str(text), field=field)
    return answer


def _current(site: Site, code: str, *, lock: bool = False) -> AssessmentAnswer | None:
    rows = AssessmentAnswer.objects.filter(site=site, item_code=code, voided_at__isnull=True)
    return (rows.select_for_update() if lock else rows).first()


def assessment_answer_record(
    *,
    actor: Any,
    site: Site,
    item_code: str,
    data: AnswerInput,
    signer: SignerCredentials,
    upload: Any | None = None,
) -> AssessmentAnswer:
    """Answer or review a checklist item of `site` and sign the review "reviewed" (CHECKLIST; X-3, X-4).

    Refused, with nothing written: a role or organisation that does not answer for the site; an item the
    site's kind does not answer; a "yes" without evidence, a "no" or "not applicable" without a note; a next
    review not after today (or mistyped decades ahead); a change without a reason; a link that is no CellChain
    page; a file too large or empty; a wrong password. Runs outside any transaction of the caller, so a wrong
    password counts towards the lockout.
    """
    _authorise(actor, site, signer)
    item = checklist_item_for(site, item_code)
    today = clock.today(site.time_zone)
    before = _current(site, item.code)
    if before is not None and not data.reason.strip():
        raise ValidationFailed(
            _("The item was answered before: give the reason for the change."), field="reason"
        )
    link = evidence_link_checked(data.evidence_link)
    content = _file_read(upload) if upload is not None else None
    kept_file = before is not None and before.evidence_file_id is not None and data.keep_file
    has_evidence = bool(content or kept_file or link or data.evidence_reference.strip())
    answer = _answer_rules(data, has_evidence, today)
    suggestion = records.suggestions_for(site, [item], today).get(item.code)
    written: list[AssessmentAnswer] = []

    def write() -> AssessmentAnswer:
        Site.objects.select_for_update().filter(pk=site.pk).first()  # one writer per site at a time
        current = _current(site, item.code, lock=True)
        if (current is None) != (before is None):
            raise Conflict(_("Someone answered this item meanwhile: reload the page and review it again."))
        stored = (
            evidence_file_store(actor=actor, site=site, name=upload.name, content=content)
            if content
            else None
        )
        values = {
            "answer": answer.value,
            "note": data.note.strip(),
            "evidence_file": stored or (current.evidence_file if current and data.keep_file else None),
            "evidence_link": link,
            "evidence_reference": data.evidence_reference.strip(),
            "suggested": suggestion.answer.value if suggestion and suggestion.answer else "",
            "reviewed_by": actor,
            "reviewed_at": clock.now(),
            "next_review": data.next_review,
        }
        if current is None:
            row = AssessmentAnswer(site=site, item_code=item.code, clause=item.clause, **values)
            row = record_create(actor=actor, record=row, event="assessment:answer")
        else:
            signing.record_amend(
                actor=actor,
                record=current,
                changes=values,
                reason=data.reason.strip(),
                event="assessment:review",
            )
            row = current
        written.append(row)
        return row

    signing.record_sign(record=write, signer=signer, meaning=Meaning.REVIEWED)
    return written[0]
