"""Demo data of the study records (issue 14 item 7): one statistical report draft awaiting its main operator,
and one journey's checklist with a paper document ticked and one recorded missing (T-10.9, T-10.10).

Runs after the clinic demo (its courses at Xiehe); idempotent: what exists is left as it is.
"""

from __future__ import annotations

import datetime as dt

from cellchain.accounts.world import World
from cellchain.clinic.models import TreatmentCourse
from cellchain.core import clock
from cellchain.studies import services
from cellchain.studies.models import SourceDocumentTick, StatisticalReport

SITE = "xiehe-main"
TITLE = "RELMA-CN-301 interim safety tables (CRS, ICANS, other AEs)"
PROTOCOL = "RELMA-CN-301 v3.0"
CHECKLIST_JOURNEY = "J-W2001-0009"


def load(world: World) -> None:
    site = world.sites[SITE]
    if not StatisticalReport.objects.filter(site=site, title=TITLE).exists():
        today = clock.now().date()
        services.report_draft(
            actor=world["coordinator_zhou"],
            title=TITLE,
            site=site,
            product=None,
            protocol_ref=PROTOCOL,
            since=today - dt.timedelta(days=365),
            until=today,
            main_operator=world["physician_wang"],
        )
    course = TreatmentCourse.objects.filter(journey_ref=CHECKLIST_JOURNEY).first()
    if course is None or SourceDocumentTick.objects.filter(course=course).exists():
        return
    services.source_document_tick(
        actor=world["nurse_wang"],
        course=course,
        document="diary_card",
        present=True,
        reason="Paper diary cards days 1-28 filed in the study binder, section 4",
    )
    services.source_document_tick(
        actor=world["nurse_wang"],
        course=course,
        document="sample_transport",
        present=False,
        reason="Transport form of the day-7 blood sample not returned by the courier; requested again",
    )
