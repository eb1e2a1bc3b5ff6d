"""Demo self-assessment answers at the manufacturer and at Xiehe: each state once, one review due soon, one
answer that departs from the system's records (G-6 personnel: the demo staff have no health check on file)."""

from __future__ import annotations

import datetime as dt

from cellchain.accounts.world import DEMO_PASSWORD, World
from cellchain.assessment import services
from cellchain.assessment.models import AssessmentAnswer
from cellchain.core import clock
from cellchain.signatures.services import SignerCredentials

# site, reviewer, item, answer, days to the next review, evidence reference, note
ANSWERS = [
    ("shenghe-prod", "qa_li", "T-5.1.1", "yes", 330, "药品生产许可证 苏20260001（有效期至 2030-06-30）", ""),
    ("shenghe-prod", "qa_li", "T-5.1.4-a", "yes", 20, "LAYOUT-PRD-003 v4 细胞制备区平面图", ""),
    (
        "shenghe-prod",
        "qa_li",
        "T-5.1.4-d",
        "na",
        365,
        "",
        "No plasmid is prepared at this site; plasmid is bought in.",
    ),
    (
        "shenghe-prod",
        "qa_li",
        "G-6-a",
        "yes",
        365,
        "HR personnel files, health checks kept by occupational health",
        "",
    ),
    ("xiehe-main", "coordinator_zhou", "T-5.2.1", "yes", 365, "三级甲等医院评审证书 2024-118", ""),
    ("xiehe-main", "coordinator_zhou", "T-5.2.4-a", "yes", 365, "ICU 科室设置批复 XH-ICU-2019", ""),
    (
        "xiehe-main",
        "coordinator_zhou",
        "T-5.2.10",
        "no",
        60,
        "",
        "MLPS level 3 re-assessment due; certificate expired.",
    ),
    (
        "xiehe-main",
        "coordinator_zhou",
        "T-8.1.2-d",
        "na",
        365,
        "",
        "Products arrive closed in their shipper; no open handling.",
    ),
]


def load(world: World, password: str = DEMO_PASSWORD) -> None:
    """Idempotent: an item already answered at the site is left as it is."""
    for site_code, username, code, value, days, reference, note in ANSWERS:
        site, actor = world.sites[site_code], world[username]
        if AssessmentAnswer.objects.filter(site=site, item_code=code, voided_at__isnull=True).exists():
            continue
        services.assessment_answer_record(
            actor=actor,
            site=site,
            item_code=code,
            data=services.AnswerInput(
                answer=value,
                next_review=clock.today(site.time_zone) + dt.timedelta(days=days),
                note=note,
                evidence_reference=reference,
            ),
            signer=SignerCredentials(actor, password),
        )
