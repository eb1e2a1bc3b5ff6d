"""The content of a quality review over its period, each part read with a fixed number of queries.

The content is plain JSON (numbers, strings, lists of source records with type, id and number), so the same
structure is shown on the draft page and frozen into the signed review (T-6.4-e, T-5.3.2.3, T-5.3.2.4).
OOS rate, excursion rate, first-pass release and CQA trends are the quality metrics' own selectors
(cellchain.metrics), read for the reviewer's organisation. There is no complaint register in CellChain yet:
the content says so instead of showing zero.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from cellchain.accounts.models import Qualification, Site, User
from cellchain.clinic.models import AdverseEvent, CorrectiveAction, ReportingDuty
from cellchain.core.errors import NotFound
from cellchain.manufacturing.models import Product
from cellchain.metrics import selectors as metrics
from cellchain.quality.models import Deviation
from cellchain.reviews.models import QualityReview

EXPIRING_DAYS = 30
"""A qualification ending within this many days of the period's end is shown as expiring."""


def reviews_visible_to(viewer: Any) -> QuerySet[QualityReview]:
    """The reviews of the viewer's organisation, newest period first."""
    org = getattr(viewer, "organisation_id", None)
    rows = QualityReview.objects.filter(organisation_id=org, voided_at__isnull=True)
    return rows.select_related("site", "product", "created_by", "signed_by")


def sites_for(viewer: Any) -> QuerySet[Site]:
    return Site.objects.filter(organisation_id=getattr(viewer, "organisation_id", None)).order_by("code")


def products_for(viewer: Any) -> QuerySet[Product]:
    return Product.objects.filter(site__organisation_id=getattr(viewer, "organisation_id", None)).order_by(
        "code"
    )


def source_ref(kind: str, pk: Any, label: str, link: str) -> dict[str, str]:
    """A source record: its type and id (as in the ledger), what it is, and the path of its page.

    Shared with the statistical reports (cellchain.studies), whose figures list their sources the same way."""
    return {"type": kind, "id": str(pk), "label": label, "link": link}


_ref = source_ref


def _deviations(q: Q, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Deviations opened, closed and open at the period's end, by kind (two queries)."""
    still_open = Q(closed_at__isnull=True) | Q(closed_at__gte=end)
    in_period = Q(opened_at__gte=start) | Q(closed_at__gte=start) | Q(closed_at__isnull=True)
    rows = Deviation.objects.filter(q, in_period, voided_at__isnull=True, opened_at__lt=end)
    counts = (
        rows.values("kind")
        .annotate(
            opened=Count("pk", filter=Q(opened_at__gte=start)),
            closed=Count("pk", filter=Q(closed_at__gte=start, closed_at__lt=end)),
            open=Count("pk", filter=still_open),
        )
        .order_by("kind")
    )
    sources = rows.order_by("opened_at", "pk")
    return {
        "by_kind": [dict(r) for r in counts],
        "records": [
            _ref(
                "quality.deviation",
                d["pk"],
                f"{d['number']} {d['title']}",
                reverse("quality:deviation", args=[d["pk"]]),
            )
            | {"kind": d["kind"], "status": d["status"]}
            for d in sources.values("pk", "number", "title", "kind", "status")
        ],
    }


def _capa(q: Q, end: dt.datetime, day: dt.date) -> dict[str, Any]:
    """Corrective actions open at the period's end and those overdue on its last day (one query)."""
    rows = CorrectiveAction.objects.filter(
        q, voided_at__isnull=True, report__deviation__opened_at__lt=end
    ).filter(Q(closed_at__isnull=True) | Q(closed_at__gte=end))
    found = list(
        rows.order_by("due", "pk").values(
            "pk", "description", "due", "report_id", "report__deviation__number"
        )
    )
    return {
        "open": len(found),
        "overdue": sum(1 for c in found if c["due"] < day),
        "records": [
            _ref(
                "clinic.correctiveaction",
                c["pk"],
                f"{c['report__deviation__number']}: {c['description'][:60]}",
                reverse("clinic:deviation", args=[c["report_id"]]),
            )
            | {"due": c["due"].isoformat(), "overdue": c["due"] < day}
            for c in found
        ],
    }


def _adverse_events(q: Q, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Adverse events first known in the period by grade, serious ones counted (two queries)."""
    rows = AdverseEvent.objects.filter(
        q, voided_at__isnull=True, awareness_at__gte=start, awareness_at__lt=end
    )
    grades = rows.values("grade").annotate(events=Count("pk"), serious=Count("pk", filter=Q(serious=True)))
    records = rows.order_by("awareness_at", "pk").values("pk", "number", "term", "grade", "serious")
    return {
        "by_grade": [dict(g) for g in grades.order_by("grade")],
        "serious": sum(g["serious"] for g in grades),
        "records": [
            _ref(
                "clinic.adverseevent",
                a["pk"],
                f"{a['number']} {a['term']}",
                reverse("clinic:event", args=[a["pk"]]),
            )
            | {"grade": a["grade"], "serious": a["serious"]}
            for a in records
        ],
    }


def _rate(rate: metrics.Rate) -> dict[str, Any]:
    total = rate.total
    return {"events": total.events, "total": total.total, "percent": total.percent}


def _trend_violations(viewer: Any, product_code: str, period: metrics.Period) -> list[dict[str, Any]]:
    """Per CQA of the product, the points and the SPC rules they break (the metrics' selector)."""
    try:
        _product, trends = metrics.cqa_trends(viewer, product_code, period)
    except NotFound:
        return []
    return [
        {
            "attribute": t.attribute,
            "points": len(t.points),
            "violations": [
                {"rule": str(v.rule), "batch": t.points[v.last].batch} for v in t.chart.violations
            ],
        }
        for t in trends
    ]


def _metrics(viewer: Any, period: metrics.Period) -> dict[str, Any]:
    first = metrics.first_pass_release(viewer, period)
    return {
        "oos": _rate(metrics.oos_rate(viewer, period).rate),
        "excursions": _rate(metrics.excursion_rate(viewer, period)),
        "first_pass_release": _rate(first.rate),
        "first_pass_misses": [m.number for m in first.misses],
    }


def _qualification_state(q: Qualification, day: dt.date) -> str:
    if q.revoked_at is not None:
        return "revoked"
    if q.valid_until < day:
        return "expired"
    if q.valid_from > day:
        return "not_yet_valid"
    return "expiring" if (q.valid_until - day).days <= EXPIRING_DAYS else "current"


def _members(site: Site, day: dt.date) -> list[dict[str, Any]]:
    """Every active member of the team with each qualification's state and their training state (two queries)."""
    people = (
        User.objects.filter(site=site, is_active=True).prefetch_related("qualifications").order_by("username")
    )
    members = []
    for person in people:
        quals = [
            {
                "id": str(q.pk),
                "kind": q.kind,
                "code": q.code,
                "title": q.title,
                "valid_until": q.valid_until.isoformat(),
                "state": _qualification_state(q, day),
            }
            for q in person.qualifications.all()
            if q.voided_at is None
        ]
        trainings = [q["state"] for q in quals if q["kind"] == Qualification.Kind.TRAINING]
        members.append(
            {
                "id": str(person.pk),
                "name": person.printed_name or person.username,
                "qualifications": quals,
                "training": _training_state(trainings),
            }
        )
    return members


def _training_state(states: list[str]) -> str:
    """The worst state of a member's trainings; "none" when no training is recorded."""
    for state in ("expired", "revoked", "expiring", "not_yet_valid", "current"):
        if state in states:
            return state
    return "none"


def _overdue_duties(q: Q, end: dt.datetime) -> list[dict[str, str]]:
    """Adverse-event reports owed and not sent by the period's end (one query)."""
    rows = ReportingDuty.objects.filter(q, voided_at__isnull=True, due_at__lt=end).filter(
        Q(sent_at__isnull=True) | Q(sent_at__gt=end)
    )
    return [
        _ref(
            "clinic.reportingduty",
            d["pk"],
            f"{d['event__number']} {d['duty']}",
            reverse("clinic:event", args=[d["event_id"]]),
        )
        | {"due": d["due_at"].isoformat()}
        for d in rows.order_by("due_at", "pk").values("pk", "event_id", "event__number", "duty", "due_at")
    ]


def review_content(
    viewer: Any, kind: str, *, site: Site | None, product: Product | None, since: dt.date, until: dt.date
) -> dict[str, Any]:
    """The figures and source records of a review of `kind` over since..until (T-6.4-e, T-5.3.2.3/4).

    The periodic review counts the site's deviations, CAPA and AEs, plus the organisation's quality metrics;
    the annual product review counts them for the product and adds its CQA trends; the oversight report adds
    every team member's qualifications and training and the overdue reports.
    """
    period = metrics.Period(since, until)
    start, end = period.bounds()
    content: dict[str, Any] = {
        "kind": kind,
        "period": {"from": since.isoformat(), "to": until.isoformat()},
        "scope": {"site": site.code if site else None, "product": product.code if product else None},
        "complaints": None,  # no complaint register exists yet
    }
    if kind == QualityReview.Kind.ANNUAL_PRODUCT and product is not None:
        dev_q = Q(site=product.site)
        ae_q = Q(course__product__source_product=product.code)
        capa_q = Q(report__deviation__site=product.site)
    else:
        manufacturer = site is not None and site.organisation.is_manufacturer
        dev_q = Q(site=site)
        ae_q = (
            Q(course__product__manufacturer_id=site.organisation_id) if manufacturer else Q(course__site=site)
        )
        capa_q = Q(report__deviation__site=site)
    content["deviations"] = _deviations(dev_q, start, end)
    content["capa"] = _capa(capa_q, end, until)
    content["adverse_events"] = _adverse_events(ae_q, start, end)
    content["metrics"] = _metrics(viewer, period)
    if kind == QualityReview.Kind.ANNUAL_PRODUCT and product is not None:
        content["cqa_trends"] = _trend_violations(viewer, product.code, period)
    if kind == QualityReview.Kind.OVERSIGHT and site is not None:
        content["members"] = _members(site, until)
        content["overdue_reports"] = _overdue_duties(Q(event__course__site=site), end)
    return content


def review_get(viewer: Any, pk: int) -> QualityReview:
    found = reviews_visible_to(viewer).filter(pk=pk).first()
    if found is None:
        raise NotFound(f"No quality review {pk} of your organisation.")
    return found
