"""Reads of the controlled documents: the register with each document's version in force and review date,
the overdue list, a version's sign-offs, and the SOP version in force for a step (issue 13 item 1)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from cellchain.accounts.models import Organisation, Site
from cellchain.accounts.roles import Role
from cellchain.documents.models import (
    ControlledDocument,
    DocumentVersion,
    SopUse,
    TrainingRecord,
    VersionSignoff,
)
from cellchain.domain import documents as rules


def to_facts(version: DocumentVersion) -> rules.VersionFacts:
    return rules.VersionFacts(
        pk=version.pk,
        label=version.label,
        stored=rules.Stored(version.status),
        effective_from=version.effective_from,
        review_interval_months=version.review_interval_months,
        last_reviewed_on=version.last_reviewed_on,
    )


def version_facts(document: ControlledDocument) -> list[rules.VersionFacts]:
    return [to_facts(v) for v in DocumentVersion.objects.filter(document=document, voided_at__isnull=True)]


def shown_status(version: DocumentVersion, day: dt.date) -> rules.Shown:
    """The status of `version` on `day` (effective and superseded follow from the dates, T-6.1)."""
    return rules.shown_status(to_facts(version), version_facts(version.document), day)


def signoffs_of(version: DocumentVersion) -> rules.Signoffs:
    """Who authored, reviewed and approved the version, and which of them are pharmacists (T-5.3.5.2)."""
    rows = VersionSignoff.objects.filter(version=version, voided_at__isnull=True).prefetch_related(
        "person__role_assignments"
    )
    by_role = {row.role: row.person for row in rows}
    pharmacists = frozenset(
        person.pk for person in by_role.values() if Role.PHARMACIST in person.current_roles()
    )
    ids = {role: person.pk for role, person in by_role.items()}
    return rules.Signoffs(
        author=ids.get(VersionSignoff.Role.AUTHOR),
        reviewer=ids.get(VersionSignoff.Role.REVIEWER),
        approver=ids.get(VersionSignoff.Role.APPROVER),
        pharmacists=pharmacists,
    )


def governing_document_exists(organisation: Organisation, site: Site | None, step: str) -> bool:
    return ControlledDocument.objects.filter(
        organisation=organisation, site=site, step=step, voided_at__isnull=True
    ).exists()


def sop_in_force_for(step: str, site: Site, on: dt.date) -> DocumentVersion | None:
    """The version in force on `on` of the document governing `step` at `site`: the site's own document when
    it has a version in force, else the organisation-wide one (T-6.1, T-6.5-a..f)."""
    if not step:
        return None
    documents = ControlledDocument.objects.filter(
        Q(site=site) | Q(site__isnull=True),
        organisation_id=site.organisation_id,
        step=step,
        voided_at__isnull=True,
    )
    versions = list(
        DocumentVersion.objects.filter(document__in=documents, voided_at__isnull=True).select_related(
            "document"
        )
    )
    for own_site in (True, False):
        mine = [v for v in versions if (v.document.site_id is not None) is own_site]
        current = rules.in_force_on([to_facts(v) for v in mine], on)
        if current is not None:
            return next(v for v in mine if v.pk == current.pk)
    return None


@dataclass(frozen=True)
class RegisterRow:
    """One document of the register: its version in force on the day and when that version's review is due."""

    document: ControlledDocument
    in_force: DocumentVersion | None
    review_due: dt.date | None
    overdue: bool
    pending: int  # versions in draft or review


def register(user: Any, day: dt.date, *, overdue_only: bool = False) -> list[RegisterRow]:
    """The organisation's documents with their version in force and review date, in two queries (T-6.1, T-6.4)."""
    documents = list(
        ControlledDocument.objects.filter(organisation_id=user.organisation_id, voided_at__isnull=True)
        .select_related("site")
        .order_by("code")
    )
    versions: dict[int, list[DocumentVersion]] = defaultdict(list)
    for version in DocumentVersion.objects.filter(document__in=documents, voided_at__isnull=True):
        versions[version.document_id].append(version)
    rows = [_row(document, versions[document.pk], day) for document in documents]
    return [row for row in rows if row.overdue] if overdue_only else rows


def _row(document: ControlledDocument, versions: list[DocumentVersion], day: dt.date) -> RegisterRow:
    current = rules.in_force_on([to_facts(v) for v in versions], day)
    in_force = next((v for v in versions if current is not None and v.pk == current.pk), None)
    due = rules.review_due(current) if current is not None else None
    pending = sum(
        1 for v in versions if v.status in (DocumentVersion.Status.DRAFT, DocumentVersion.Status.IN_REVIEW)
    )
    return RegisterRow(document, in_force, due, due is not None and due < day, pending)


def document_get(user: Any, document_id: int) -> ControlledDocument:
    return ControlledDocument.objects.select_related("site").get(
        pk=document_id, organisation_id=user.organisation_id
    )


def version_get(user: Any, version_id: int) -> DocumentVersion:
    return DocumentVersion.objects.select_related("document__site", "author", "reviewer", "approver").get(
        pk=version_id, document__organisation_id=user.organisation_id
    )


def versions_shown(document: ControlledDocument, day: dt.date) -> list[tuple[DocumentVersion, rules.Shown]]:
    versions = list(document.versions.filter(voided_at__isnull=True).select_related("author"))
    facts = [to_facts(v) for v in versions]
    return [(v, rules.shown_status(to_facts(v), facts, day)) for v in versions]


def signoff_rows(version: DocumentVersion) -> QuerySet[VersionSignoff]:
    return version.signoffs.filter(voided_at__isnull=True).select_related("person")


def trainings_of(version: DocumentVersion) -> QuerySet[TrainingRecord]:
    return version.trainings.filter(voided_at__isnull=True).select_related("person")


def has_trained(user: Any, version: DocumentVersion) -> bool:
    return TrainingRecord.objects.filter(version=version, person=user, voided_at__isnull=True).exists()


def sop_uses_for(record: Any) -> list[SopUse]:
    """The SOP versions a step's record was made under (T-6.1 "records link the effective SOP version")."""
    return list(
        SopUse.objects.filter(
            record_type=record.ledger_record_type(), record_id=str(record.pk), voided_at__isnull=True
        ).select_related("version__document")
    )


def training_due(user: Any, day: dt.date, horizon: dt.date) -> list[DocumentVersion]:
    """Approved versions of documents governing a step at the user's site, in force on `day` or taking effect
    by `horizon`, that the user has not trained on (what the worklist asks them to read), in two queries."""
    site_id = getattr(user, "site_id", None)
    versions = list(
        DocumentVersion.objects.filter(
            Q(document__site_id=site_id) | Q(document__site__isnull=True),
            document__organisation_id=user.organisation_id,
            document__voided_at__isnull=True,
            voided_at__isnull=True,
            effective_from__lte=horizon,
        )
        .exclude(document__step="")
        .select_related("document")
    )
    trained = set(
        TrainingRecord.objects.filter(person=user, version__in=versions, voided_at__isnull=True).values_list(
            "version_id", flat=True
        )
    )
    by_document: dict[int, list[DocumentVersion]] = defaultdict(list)
    for version in versions:
        by_document[version.document_id].append(version)
    due = []
    for group in by_document.values():
        facts = [to_facts(v) for v in group]
        for version, fact in zip(group, facts, strict=True):
            shown = rules.shown_status(fact, facts, day)
            if shown in (rules.Shown.EFFECTIVE, rules.Shown.APPROVED) and version.pk not in trained:
                due.append(version)
    return due
