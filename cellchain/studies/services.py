"""Commands on the clinical study records, each in one transaction with its ledger entry (T-10.9, T-10.10).

* `report_draft` opens a statistical report naming its main operator; `report_issue` freezes its figures and
  source records with their SHA-256 and signs "reviewed" as that main operator with the password typed again
  (X-4), in the signature's transaction: without that signature the report is never issued (T-10.10).
* `source_document_tick` records that a paper source document is (or is not) on file, with where or why.
* `directory_archive` marks a study's subject code directory completed and archived (T-10.9); only the count
  of subjects and where the copy is kept are written, never an identity (X-7).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cellchain.accounts.models import Site
from cellchain.clinic.models import ProductUseProfile, TreatmentCourse
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.numbering import number_next
from cellchain.core.permissions import has_permission, user_roles
from cellchain.domain.study_records import SourceDocument
from cellchain.ledger.records import record_amend, record_create
from cellchain.metrics.selectors import period_of
from cellchain.reviews.services import content_hash
from cellchain.signatures import services as signing
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials
from cellchain.studies import selectors
from cellchain.studies.models import SourceDocumentTick, StatisticalReport, SubjectCodeDirectory
from cellchain.studies.permissions import MAIN_OPERATOR_ROLE


def _hospital_actor(actor: Any, permission: str, refusal: str) -> None:
    if not has_permission(actor, permission) or not getattr(actor, "is_hospital_user", False):
        raise NotAllowed(refusal)


@transaction.atomic
def report_draft(
    *,
    actor: Any,
    title: str,
    site: Site | None,
    product: ProductUseProfile | None,
    protocol_ref: str,
    since: dt.date,
    until: dt.date,
    main_operator: Any,
) -> StatisticalReport:
    """Open a draft statistical report of a site's courses infused in since..until (T-10.10).

    The main operator named here is the one person who may issue it: a physician of the same hospital."""
    _hospital_actor(actor, "studies.draft", _("Your role does not draft statistical reports."))
    if not title.strip():
        raise ValidationFailed(_("Give the report a title."), field="title")
    if site is None or site.organisation_id != actor.organisation_id:
        raise ValidationFailed(_("The report needs a site of your hospital."), field="site")
    if (
        main_operator is None
        or main_operator.organisation_id != actor.organisation_id
        or MAIN_OPERATOR_ROLE not in user_roles(main_operator)
    ):
        raise ValidationFailed(
            _("The main operator must be a physician of your hospital (T-10.10)."), field="main_operator"
        )
    period = period_of(since, until)
    prefix = f"SR-{actor.organisation_id}-{period.until:%Y}-"
    issued = number_next(
        prefix, issued_before=StatisticalReport.objects.filter(number__startswith=prefix).count
    )
    return record_create(
        actor=actor,
        record=StatisticalReport(
            number=f"{prefix}{issued:04d}",
            title=title.strip(),
            site=site,
            product=product,
            protocol_ref=protocol_ref.strip(),
            period_from=period.since,
            period_to=period.until,
            main_operator=main_operator,
            created_by=actor,
            created_at=clock.now(),
        ),
        event="statreport:draft",
    )


def report_issue(*, actor: Any, report: StatisticalReport, signer: SignerCredentials) -> StatisticalReport:
    """Freeze the figures and their sources, hash them, and sign "reviewed" as the main operator (T-10.10, X-4).

    Refused with nothing written: anyone but the report's main operator, a main operator who no longer holds
    the physician role, another hospital's report, a report already issued, a wrong password. The content
    frozen is exactly the one the signature covers (the signature binds the row with its content hash).
    """
    if report.site.organisation_id != getattr(actor, "organisation_id", None):
        raise NotAllowed(_("This statistical report is not one of your hospital's."))
    if actor.pk != report.main_operator_id or MAIN_OPERATOR_ROLE not in user_roles(actor):
        raise NotAllowed(
            _(
                "Only the report's main operator, %(name)s, reviews and signs it (T-10.10): "
                "source data in statistical reports are reviewed and signed by the main operator."
            )
            % {"name": report.main_operator.printed_name},
            field="password",
        )
    if signer.user.pk != actor.pk:
        raise ValidationFailed(_("The main operator signs with their own password."), field="password")
    if report.is_issued:
        raise Conflict(_("The report is already issued: it is final."))

    def write() -> StatisticalReport:
        current = StatisticalReport.objects.select_for_update().get(pk=report.pk)
        if current.is_issued:
            raise Conflict(_("Someone issued this report meanwhile."))
        content = selectors.report_content_live(current)
        current.content, current.content_sha256 = content, content_hash(content)
        current.state, current.issued_at, current.issued_by = (
            StatisticalReport.State.ISSUED,
            clock.now(),
            actor,
        )
        return record_amend(
            actor=actor,
            record=current,
            event="statreport:issue",
            reason="figures and source records frozen at issue, reviewed by the main operator",
            fields=["content", "content_sha256", "state", "issued_at", "issued_by"],
            extra={"content_sha256": current.content_sha256},
        )

    signing.record_sign(record=write, signer=signer, meaning=Meaning.REVIEWED)
    return StatisticalReport.objects.select_related("site", "main_operator", "issued_by").get(pk=report.pk)


def report_sources_changed(report: StatisticalReport) -> bool | None:
    """Whether the figures recomputed now differ from those frozen at issue (None for a draft)."""
    if not report.is_issued:
        return None
    return content_hash(selectors.report_content_live(report)) != report.content_sha256


@transaction.atomic
def source_document_tick(
    *, actor: Any, course: TreatmentCourse, document: str, present: bool, reason: str
) -> SourceDocumentTick:
    """Tick a paper source document of a course on file, or back to missing, with where or why (T-10.9).

    A second tick of the same document amends the first (the old answer stays in the ledger)."""
    _hospital_actor(actor, "studies.tick", _("Your role does not keep the source-document checklist."))
    if course.site.organisation_id != actor.organisation_id:
        raise NotAllowed(_("This course is not one of your hospital's."))
    if document not in {d.value for d in SourceDocument}:
        raise ValidationFailed(_("Choose one of the source documents of the checklist."), field="document")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Say where the document is filed, or why it is missing."), field="reason")
    existing = SourceDocumentTick.objects.select_for_update().filter(course=course, document=document).first()
    if existing is None:
        return record_create(
            actor=actor,
            record=SourceDocumentTick(
                course=course,
                document=document,
                present=present,
                reason=reason,
                ticked_by=actor,
                ticked_at=clock.now(),
            ),
            event="sourcedocument:tick",
        )
    existing.present, existing.reason = present, reason
    existing.ticked_by, existing.ticked_at = actor, clock.now()
    return record_amend(
        actor=actor,
        record=existing,
        event="sourcedocument:tick",
        reason=reason,
        fields=["present", "reason", "ticked_by", "ticked_at"],
    )


@transaction.atomic
def directory_archive(*, actor: Any, study: selectors.Study, archive_ref: str) -> SubjectCodeDirectory:
    """Mark the study's subject code directory completed and archived, by whom and when (T-10.9; X-7)."""
    _hospital_actor(actor, "studies.archive", _("Your role does not archive the subject code directory."))
    if study.approval.site.organisation_id != actor.organisation_id:
        raise NotAllowed(_("The subject code directory is kept only at the study's hospital (X-7)."))
    if study.directory is not None:
        raise Conflict(_("This subject code directory is already archived."))
    archive_ref = archive_ref.strip()
    if not archive_ref:
        raise ValidationFailed(_("Say where the archived copy is kept."), field="archive_ref")
    rows = selectors.directory_rows(actor, study.approval)
    if not rows:
        raise ValidationFailed(_("The study has no subject yet: nothing to archive."), field="archive_ref")
    return record_create(
        actor=actor,
        record=SubjectCodeDirectory(
            ethics_approval=study.approval,
            subjects=len(rows),
            archive_ref=archive_ref,
            archived_at=clock.now(),
            archived_by=actor,
        ),
        event="subjectdirectory:archive",
    )
