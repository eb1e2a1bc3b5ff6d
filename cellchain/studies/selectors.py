"""Reads of the clinical study records, each with a fixed number of queries (T-10.9, T-10.10; X-7).

* `report_content`: the figures of a statistical report and every source record they rest on, as plain JSON
  (the same structure is shown on the draft, frozen at issue and hashed to tell whether the sources changed);
* `checklists`: the source-document checklist of many courses at once (five queries whatever their number);
* `directory_rows`: the subject code directory of a study, for the study's own hospital only (X-7).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from cellchain.accounts.models import Site, User
from cellchain.clinic.models import AdverseEvent, Infusion, ProductUseProfile, TreatmentCourse
from cellchain.core.errors import NotAllowed, NotFound
from cellchain.domain.custody import CustodyStep
from cellchain.domain.study_records import (
    DocumentState,
    Evidence,
    GradeTable,
    ManualTick,
    SourceDocument,
    document_states,
    grade_table,
    share,
)
from cellchain.journeys.models import Collection, CustodyEvent, EthicsApproval, Journey
from cellchain.metrics.selectors import Period
from cellchain.reviews.selectors import source_ref
from cellchain.studies.models import SourceDocumentTick, StatisticalReport, SubjectCodeDirectory
from cellchain.studies.permissions import MAIN_OPERATOR_ROLE

# --------------------------------------------------------------------------- visibility


def _hospital_org(viewer: Any) -> int | None:
    """The viewer's organisation when it is a hospital; None for a manufacturer user or nobody (X-7)."""
    if not getattr(viewer, "is_hospital_user", False):
        return None
    return viewer.organisation_id  # type: ignore[no-any-return]


def sites_for(viewer: Any) -> QuerySet[Site]:
    return Site.objects.filter(organisation_id=_hospital_org(viewer)).order_by("code")


def products_for(viewer: Any) -> QuerySet[ProductUseProfile]:
    return ProductUseProfile.objects.filter(voided_at__isnull=True).order_by("code")


def main_operators_for(viewer: Any) -> QuerySet[User]:
    """The physicians of the viewer's hospital who may be named main operator (T-10.10)."""
    return (
        User.objects.filter(
            organisation_id=_hospital_org(viewer),
            is_active=True,
            role_assignments__role=MAIN_OPERATOR_ROLE,
            role_assignments__revoked_at__isnull=True,
        )
        .distinct()
        .order_by("username")
    )


def reports_visible_to(viewer: Any) -> QuerySet[StatisticalReport]:
    """The statistical reports of the viewer's hospital, newest period first (one query)."""
    return StatisticalReport.objects.filter(
        site__organisation_id=_hospital_org(viewer), voided_at__isnull=True
    ).select_related("site", "product", "main_operator", "created_by", "issued_by")


def report_get(viewer: Any, pk: int) -> StatisticalReport:
    found = reports_visible_to(viewer).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No statistical report {pk} of your hospital.")
    return found


# --------------------------------------------------------------------------- statistical report content


def _grades(table: GradeTable) -> dict[str, Any]:
    return {
        "subjects": table.subjects,
        "any_grade": table.any_grade,
        "any_grade_percent": table.any_grade_percent,
        "severe": table.severe,
        "severe_percent": table.severe_percent,
        "by_worst_grade": [{"grade": g, "subjects": n} for g, n in sorted(table.by_worst_grade.items())],
    }


def report_content(
    *,
    site: Site,
    product: ProductUseProfile | None,
    protocol_ref: str,
    since: dt.date,
    until: dt.date,
    title: str = "",
) -> dict[str, Any]:
    """The figures of a statistical report and the source records of each (T-10.10; two queries).

    The subjects are the site's courses (of the product and protocol when given) with an infusion started in
    since..until; their adverse events known before the period's end are tabled by category (CRS and ICANS by
    ASTCT 2019, others by CTCAE v5) as subjects by worst grade, any grade and grade 3 or higher, in percent of
    the subjects. CellChain holds no tumour-response assessment: the content says so instead of a zero.
    """
    start, end = Period(since, until).bounds()
    course_q = Q(course__site=site, course__voided_at__isnull=True)
    if product is not None:
        course_q &= Q(course__product=product)
    if protocol_ref:
        course_q &= Q(course__protocol_ref=protocol_ref)
    infusions = list(
        Infusion.objects.filter(course_q, voided_at__isnull=True, started_at__gte=start, started_at__lt=end)
        .order_by("started_at", "pk")
        .values("pk", "course_id", "course__journey_ref", "started_at", "car_positive_viable_cells")
    )
    subjects = sorted({str(i["course_id"]) for i in infusions}, key=int)
    events = list(
        AdverseEvent.objects.filter(
            course_id__in=[int(s) for s in subjects], voided_at__isnull=True, awareness_at__lt=end
        )
        .order_by("awareness_at", "pk")
        .values("pk", "number", "term", "course_id", "course__journey_ref", "category", "grade", "serious")
    )
    doses = [float(i["car_positive_viable_cells"]) for i in infusions]
    tables = {
        category: _grades(
            grade_table(
                subjects, [(str(e["course_id"]), e["grade"]) for e in events if e["category"] == category]
            )
        )
        for category in (AdverseEvent.Category.CRS, AdverseEvent.Category.ICANS, AdverseEvent.Category.OTHER)
    }
    serious_subjects = {str(e["course_id"]) for e in events if e["serious"]}
    return {
        "title": title,
        "scope": {
            "site": site.code,
            "product": product.code if product is not None else None,
            "protocol": protocol_ref or None,
        },
        "period": {"from": since.isoformat(), "to": until.isoformat()},
        "subjects": {
            "count": len(subjects),
            "journeys": sorted({i["course__journey_ref"] for i in infusions}),
        },
        "infusions": {
            "count": len(infusions),
            "dose_median": statistics.median(doses) if doses else None,
            "dose_min": min(doses) if doses else None,
            "dose_max": max(doses) if doses else None,
            "records": [
                source_ref(
                    "clinic.infusion",
                    i["pk"],
                    f"{i['course__journey_ref']} {i['started_at']:%Y-%m-%d %H:%M}",
                    reverse("clinic:infusion", args=[i["pk"]]),
                )
                | {"dose": float(i["car_positive_viable_cells"])}
                for i in infusions
            ],
        },
        "adverse_events": {
            "by_category": tables,
            "serious_events": sum(1 for e in events if e["serious"]),
            "serious_subjects": len(serious_subjects),
            "serious_subjects_percent": share(len(serious_subjects), len(subjects)),
            "records": [
                source_ref(
                    "clinic.adverseevent",
                    e["pk"],
                    f"{e['number']} {e['course__journey_ref']} {e['term']}",
                    reverse("clinic:event", args=[e["pk"]]),
                )
                | {"category": e["category"], "grade": e["grade"], "serious": e["serious"]}
                for e in events
            ],
        },
        "response": None,  # no tumour-response assessment register exists in CellChain yet
    }


def report_content_live(report: StatisticalReport) -> dict[str, Any]:
    """The content the report would freeze if issued now (and against which an issued one is compared)."""
    return report_content(
        site=report.site,
        product=report.product,
        protocol_ref=report.protocol_ref,
        since=report.period_from,
        until=report.period_to,
        title=report.title,
    )


# --------------------------------------------------------------------------- source-document checklist


def courses_for(viewer: Any) -> QuerySet[TreatmentCourse]:
    """The treatment courses of the viewer's hospital (pseudonymous columns), newest first."""
    return TreatmentCourse.objects.filter(
        site__organisation_id=_hospital_org(viewer), voided_at__isnull=True
    ).select_related("site")


def course_get(viewer: Any, pk: int) -> TreatmentCourse:
    found = courses_for(viewer).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No treatment course {pk} at your hospital.")
    return found


def _journey_coi(course: TreatmentCourse) -> str:
    """The journey's COI (15 characters) of the course's COI as typed (with its check character)."""
    return course.coi[:15]


def checklists(courses: Sequence[TreatmentCourse]) -> dict[int, tuple[DocumentState, ...]]:
    """Each course's source-document checklist (T-10.9), read in five queries for any number of courses.

    Derived where CellChain holds the record: the EMR reference on the course stands for the medical record,
    an infusion for the administration record, the journey's apheresis collection for the sample collection
    form, its scanned hand-over to the courier for the sample transport form. Diary cards are paper only.
    """
    ids = [c.pk for c in courses]
    derived: dict[int, dict[SourceDocument, list[Evidence]]] = {pk: defaultdict(list) for pk in ids}
    for course in courses:
        if course.emr_ref.strip():
            derived[course.pk][SourceDocument.MEDICAL_RECORD].append(
                Evidence("clinic.treatmentcourse", str(course.pk), f"EMR {course.emr_ref}")
            )
    for row in Infusion.objects.filter(course_id__in=ids, voided_at__isnull=True).values(
        "pk", "course_id", "started_at"
    ):
        derived[row["course_id"]][SourceDocument.ADMINISTRATION_RECORD].append(
            Evidence("clinic.infusion", str(row["pk"]), f"{row['started_at']:%Y-%m-%d %H:%M}")
        )
    by_coi = {_journey_coi(c): c.pk for c in courses}
    journeys = dict(Journey.objects.filter(coi__in=list(by_coi)).values_list("pk", "coi"))
    for row in Collection.objects.filter(journey_id__in=list(journeys), voided_at__isnull=True).values(
        "pk", "journey_id", "collected_at"
    ):
        derived[by_coi[journeys[row["journey_id"]]]][SourceDocument.SAMPLE_COLLECTION].append(
            Evidence("journeys.collection", str(row["pk"]), f"{row['collected_at']:%Y-%m-%d %H:%M}")
        )
    handed = CustodyEvent.objects.filter(
        journey_id__in=list(journeys),
        step=CustodyStep.HAND_TO_COURIER.value,
        verdict=CustodyEvent.Verdict.MATCH,
        voided_at__isnull=True,
    ).values("pk", "journey_id", "at")
    for row in handed:
        derived[by_coi[journeys[row["journey_id"]]]][SourceDocument.SAMPLE_TRANSPORT].append(
            Evidence("journeys.custodyevent", str(row["pk"]), f"{row['at']:%Y-%m-%d %H:%M}")
        )
    ticks: dict[int, dict[SourceDocument, ManualTick]] = defaultdict(dict)
    for tick in SourceDocumentTick.objects.filter(course_id__in=ids, voided_at__isnull=True):
        ticks[tick.course_id][SourceDocument(tick.document)] = ManualTick(tick.present, tick.reason)
    return {pk: document_states(derived[pk], ticks.get(pk, {})) for pk in ids}


def evidence_link(evidence: Evidence, course: TreatmentCourse) -> str:
    """The page of the record that stands for a document."""
    if evidence.record_type == "clinic.infusion":
        return reverse("clinic:infusion", args=[int(evidence.record_id)])
    if evidence.record_type.startswith("journeys."):
        return reverse("journeys:detail", args=[_journey_coi(course)])
    return reverse("clinic:course", args=[course.pk])


# --------------------------------------------------------------------------- subject code directory


@dataclass(frozen=True)
class Study:
    """A study at the hospital: an ethics approval of a protocol, its subjects and its directory's archiving."""

    approval: EthicsApproval
    subjects: int
    directory: SubjectCodeDirectory | None


def studies_for(viewer: Any) -> list[Study]:
    """The studies (ethics approvals) of the viewer's hospital with their subject counts (two queries)."""
    approvals = list(
        EthicsApproval.objects.filter(site__organisation_id=_hospital_org(viewer), voided_at__isnull=True)
        .select_related("site")
        .annotate(subject_count=Count("journeys"))
        .order_by("site__code", "number")
    )
    archived = {
        d.ethics_approval_id: d
        for d in SubjectCodeDirectory.objects.filter(
            ethics_approval__in=approvals, voided_at__isnull=True
        ).select_related("archived_by")
    }
    return [Study(a, a.subject_count, archived.get(a.pk)) for a in approvals]


def study_get(viewer: Any, pk: int) -> Study:
    """One study of the viewer's hospital; a manufacturer user never finds one (X-7)."""
    for study in studies_for(viewer):
        if study.approval.pk == pk:
            return study
    raise NotFound(f"No study {pk} at your hospital.")


@dataclass(frozen=True)
class DirectoryRow:
    """One subject: the codes the other side knows and the person they stand for (hospital only)."""

    coi: str
    pseudonym: str
    status: str
    enrolled_on: dt.date
    name: str | None
    birth_date: dt.date | None
    hospital_record_number: str | None


def directory_rows(viewer: Any, approval: EthicsApproval) -> list[DirectoryRow]:
    """The code-to-person list of a study (受试者编码目录, T-10.9), for the study's own hospital only (X-7).

    One query: the journeys of the approval with their identity. A journey without an identity record is
    listed with the person left empty, so the gap shows."""
    if _hospital_org(viewer) is None or viewer.organisation_id != approval.site.organisation_id:
        raise NotAllowed("The subject code directory is kept and read only at the study's hospital (X-7).")
    rows = []
    for journey in (
        Journey.objects.filter(ethics_approval=approval, voided_at__isnull=True)
        .select_related("patient_identity")
        .order_by("coi")
    ):
        identity = getattr(journey, "patient_identity", None)
        rows.append(
            DirectoryRow(
                coi=journey.coi_keyboard,
                pseudonym=journey.pseudonym,
                status=journey.get_status_display(),
                enrolled_on=journey.enrolled_at.date(),
                name=identity.name if identity else None,
                birth_date=identity.birth_date if identity else None,
                hospital_record_number=identity.hospital_record_number if identity else None,
            )
        )
    return rows


def missing_by_course(states: dict[int, tuple[DocumentState, ...]]) -> dict[int, list[str]]:
    """Per course, the documents still missing (for the list page)."""
    return {pk: [s.document.value for s in lines if not s.present] for pk, lines in states.items()}
