"""The demo world: one manufacturer, two hospitals, a person for every role (issue 2 item 10).

Used by `cellchain demo` and by the test personas, so what a new user clicks through is what the tests exercise.
Idempotent: running it again changes nothing (existing codes and usernames are kept as they are).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from cellchain.accounts import services
from cellchain.accounts.models import Organisation, Qualification, Site, User
from cellchain.accounts.roles import Role
from cellchain.core import clock

DEMO_PASSWORD = "cellchain-demo-2026"  # noqa: S105 — printed by `make demo`; never used outside the demo database

ORGANISATIONS = [
    # code, name, English name, kind
    ("shenghe", "申和细胞治疗有限公司", "Shenghe Cell Therapeutics", Organisation.Kind.MANUFACTURER),
    ("xiehe", "协和医院", "Union Hospital", Organisation.Kind.HOSPITAL),
    ("renji", "仁济医院", "Renji Hospital", Organisation.Kind.HOSPITAL),
]

SITES = [
    # code, organisation, name, ISBT 128 facility id
    ("shenghe-prod", "shenghe", "申和 苏州生产基地 / Suzhou production site", "W1234"),
    ("shenghe-qc", "shenghe", "申和 质量控制实验室 / QC laboratory", "W1235"),
    ("xiehe-main", "xiehe", "协和医院 细胞治疗中心 / Cell therapy centre", "W2001"),
    ("renji-east", "renji", "仁济医院 东院 / East campus", "W3001"),
]

# username, printed name, site, roles, qualification codes
PEOPLE = [
    (
        "qa_li",
        "李娜 Li Na",
        "shenghe-prod",
        (Role.QA,),
        ("release", "deviation_disposition", "line_clearance"),
    ),
    (
        "qa_guo",
        "郭伟 Guo Wei",
        "shenghe-prod",
        (Role.QA,),
        ("release", "deviation_disposition", "line_clearance"),
    ),
    (
        "qc_zhang",
        "张敏 Zhang Min",
        "shenghe-qc",
        (Role.QC_ANALYST,),
        ("qc_testing", "flow_cytometry", "ddpcr"),
    ),
    ("qc_he", "何静 He Jing", "shenghe-qc", (Role.QC_ANALYST,), ("qc_testing", "flow_cytometry", "ddpcr")),
    (
        "operator_chen",
        "陈强 Chen Qiang",
        "shenghe-prod",
        (Role.PRODUCTION_OPERATOR,),
        ("manufacturing", "line_clearance", "labelling", "custody"),
    ),
    (
        "operator_wu",
        "吴磊 Wu Lei",
        "shenghe-prod",
        (Role.PRODUCTION_OPERATOR,),
        ("manufacturing", "line_clearance", "labelling", "custody"),
    ),
    ("logistics_zhao", "赵刚 Zhao Gang", "shenghe-prod", (Role.LOGISTICS,), ("packing", "custody")),
    ("logistics_qian", "钱芳 Qian Fang", "shenghe-prod", (Role.LOGISTICS,), ("packing", "custody")),
    ("admin_shenghe", "孙洁 Sun Jie", "shenghe-prod", (Role.SITE_ADMIN,), ()),
    ("auditor_shenghe", "周明 Zhou Ming", "shenghe-prod", (Role.AUDITOR,), ()),
    (
        "physician_wang",
        "王医生 Dr Wang Jun",
        "xiehe-main",
        (Role.PHYSICIAN,),
        ("consent", "ar_assessment", "outcome_evaluation", "infusion", "cell_therapy"),
    ),
    (
        "physician_lin",
        "林医生 Dr Lin Hua",
        "xiehe-main",
        (Role.PHYSICIAN,),
        ("consent", "ar_assessment", "outcome_evaluation", "infusion", "cell_therapy"),
    ),
    (
        "nurse_wang",
        "王护士 Nurse Wang Fang",
        "xiehe-main",
        (Role.NURSE,),
        ("infusion", "labelling", "custody"),
    ),
    ("nurse_zhou", "周护士 Nurse Zhou Li", "xiehe-main", (Role.NURSE,), ("infusion", "labelling", "custody")),
    (
        "pharmacist_liu",
        "刘药师 Pharmacist Liu Yang",
        "xiehe-main",
        (Role.PHARMACIST,),
        ("stock", "receipt", "custody"),
    ),
    (
        "pharmacist_ma",
        "马药师 Pharmacist Ma Lan",
        "xiehe-main",
        (Role.PHARMACIST,),
        ("stock", "receipt", "custody"),
    ),
    (
        "apheresis_sun",
        "孙技师 Sun Tao",
        "xiehe-main",
        (Role.APHERESIS_OPERATOR,),
        ("apheresis", "labelling", "custody"),
    ),
    (
        "apheresis_gao",
        "高技师 Gao Yan",
        "xiehe-main",
        (Role.APHERESIS_OPERATOR,),
        ("apheresis", "labelling", "custody"),
    ),
    (
        "coordinator_zhou",
        "周协调员 Zhou Ping",
        "xiehe-main",
        (Role.COORDINATOR,),
        ("coordination", "receipt"),
    ),
    ("admin_xiehe", "何晓 He Xiao", "xiehe-main", (Role.SITE_ADMIN,), ()),
    ("auditor_xiehe", "陆敏 Lu Min", "xiehe-main", (Role.AUDITOR,), ()),
    (
        "physician_chen",
        "陈医生 Dr Chen Yu",
        "renji-east",
        (Role.PHYSICIAN,),
        ("consent", "ar_assessment", "outcome_evaluation", "infusion", "cell_therapy"),
    ),
    ("nurse_li", "李护士 Nurse Li Qing", "renji-east", (Role.NURSE,), ("infusion", "custody")),
    ("coordinator_xu", "徐协调员 Xu Lei", "renji-east", (Role.COORDINATOR,), ("coordination", "receipt")),
]


@dataclass
class World:
    organisations: dict[str, Organisation] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    people: dict[str, User] = field(default_factory=dict)

    def __getitem__(self, username: str) -> User:
        return self.people[username]


@transaction.atomic
def build_world(*, password: str = DEMO_PASSWORD, qualification_years: int = 2) -> World:
    """Create (or fetch) the demo organisations, sites and people with valid qualifications."""
    world = World()
    for code, name, name_en, kind in ORGANISATIONS:
        org = Organisation.objects.filter(code=code).first()
        world.organisations[code] = org or services.organisation_create(
            actor=None, code=code, name=name, name_en=name_en, kind=kind
        )
    for code, org_code, name, facility_id in SITES:
        site = Site.objects.filter(code=code).first()
        world.sites[code] = site or services.site_create(
            actor=None,
            organisation=world.organisations[org_code],
            code=code,
            name=name,
            facility_id=facility_id,
        )
    today = clock.now().date()
    for username, printed_name, site_code, roles, qualifications in PEOPLE:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_create(
                actor=None,
                username=username,
                printed_name=printed_name,
                site=world.sites[site_code],
                password=password,
                email=f"{username}@example.org",
                roles=tuple(roles),
            )
            for code in qualifications:
                services.qualification_grant(
                    actor=None,
                    user=user,
                    code=code,
                    title=code.replace("_", " ").capitalize(),
                    valid_from=today - dt.timedelta(days=30),
                    valid_until=today + dt.timedelta(days=365 * qualification_years),
                    kind=Qualification.Kind.TRAINING,
                    evidence="demo training record",
                )
        world.people[username] = user
    return world
