"""Worklist lines of the self-assessment: items due or overdue for review, items never answered (issue 14 item 2).

Both are counts over the user's own site from one query each, so they cost the same with ten answers or ten
thousand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from cellchain.assessment.models import AssessmentAnswer
from cellchain.assessment.selectors import REVIEW_NOTICE
from cellchain.core.worklist import WorkDay, WorkItem, date_due_line
from cellchain.domain import self_assessment as sa


def _url(user: Any) -> str:
    return reverse("assessment:index")


def reviews_due(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Answers of the user's site whose next review falls within 30 days, or has passed (CHECKLIST)."""
    yield date_due_line(
        "assessment.reviews_due",
        _("Self-assessment items due for review"),
        AssessmentAnswer.objects.filter(site_id=user.site_id, voided_at__isnull=True),
        "next_review",
        REVIEW_NOTICE,
        day,
        _url(user),
        "CHECKLIST",
    )


def unanswered(user: Any, day: WorkDay) -> Iterator[WorkItem]:
    """Items of the checklist the user's site has never answered (CHECKLIST)."""
    if user.site_id is None or user.organisation_id is None:
        return
    kind = sa.SiteKind.MANUFACTURER if user.is_manufacturer_user else sa.SiteKind.HOSPITAL
    codes = [item.code for item in sa.items_for(kind)]
    answered = AssessmentAnswer.objects.filter(
        site_id=user.site_id, voided_at__isnull=True, item_code__in=codes
    ).count()
    yield WorkItem(
        "assessment.unanswered",
        _("Self-assessment items not answered yet"),
        len(codes) - answered,
        _url(user) + "?state=unanswered",
        clause="CHECKLIST",
    )
