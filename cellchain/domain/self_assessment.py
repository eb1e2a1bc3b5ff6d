"""The site self-assessment: the CHECKLIST lines of the requirements as answerable items, and their rules.

Source: `REQUIREMENTS.md` §1.3 defines a CHECKLIST line as "Site or self-assessment item: yes/no/NA answer,
evidence attachment, reviewer, date, next review". The 25 CHECKLIST lines are T-5.1.1, T-5.1.2, T-5.1.4,
T-5.1.5, T-5.2.1, T-5.2.3 to T-5.2.10, T-5.2.12 to T-5.2.15, T-5.3.6.1, T-6.2, T-8.1.2-d, T-8.2.2-h, T-8.2.3,
T-10.17, G-1 and G-6 (issue 14 item 2). Where a line asks for "one item each" or "items" (T-5.1.4 a-f,
T-5.2.4 a-c, T-5.2.5, T-5.2.7 a-d, G-6's four topics) the line is split into one item per entry of the
clause's own list, lettered in the clause's order; so a site answers 15 (manufacturer) or 28 (hospital) items.

The Chinese texts are the T/CAQI draft's own words (征求意见稿 2026-02-10); G-1 and G-6 come from the CPBA
introduction, which exists only in English, so their Chinese is a translation. Strength follows the draft:
应 = shall, 宜 = should, 可 = may, 如适用 = if applicable.

Some items are answered by the system's own records (`AutoEvidence`): the suggestion functions below take
plain facts read from those records and return an answer with its reasons; the reviewer's answer stays the
one that counts, and the two are shown side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate
from cellchain.domain.product_information import Bilingual


class SiteKind(StrEnum):
    """Which kind of organisation an item applies to (T-5.1 manufacturer, T-5.2 clinical institution)."""

    MANUFACTURER = "manufacturer"
    HOSPITAL = "hospital"


class Strength(StrEnum):
    """The draft's normative word for the item (REQUIREMENTS.md §1.1)."""

    SHALL = "shall"  # 应
    SHOULD = "should"  # 宜
    MAY = "may"  # 可
    IF_APPLICABLE = "if_applicable"  # 如适用


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    NA = "na"


class AutoEvidence(StrEnum):
    """Which of the system's own registers answers an item (issue 14 item 2)."""

    AGREEMENT_RESPONSIBILITIES = "agreement_responsibilities"  # clinic agreements, item h (T-8.2.2-h)
    EMERGENCY_EQUIPMENT = "emergency_equipment"  # equipment register by kind (T-5.2.7, T-10.12)
    STAFF_TRAINING = "staff_training"  # training and health-check records (G-6, T-5.1.9-1)
    EQUIPMENT_CALIBRATION = "equipment_calibration"  # equipment register due dates (G-6, T-10.12)


BOTH = frozenset(SiteKind)
MANUFACTURER = frozenset({SiteKind.MANUFACTURER})
HOSPITAL = frozenset({SiteKind.HOSPITAL})


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One answerable item: its code, the requirement line it comes from, its text and where it applies."""

    code: str
    clause: str
    text: Bilingual
    applies_to: frozenset[SiteKind]
    strength: Strength = Strength.SHALL
    auto: AutoEvidence | None = None
    equipment_kind: str = ""  # the register's kind code that answers an EMERGENCY_EQUIPMENT item

    def applies(self, kind: SiteKind) -> bool:
        return kind in self.applies_to


def _item(
    code: str,
    zh: str,
    en: str,
    applies_to: frozenset[SiteKind],
    strength: Strength = Strength.SHALL,
    auto: AutoEvidence | None = None,
    equipment_kind: str = "",
    clause: str = "",
) -> ChecklistItem:
    # A lettered item of a clause whose line is not itself lettered (T-5.1.4-a) belongs to that line (T-5.1.4).
    line = clause or code
    return ChecklistItem(code, line, Bilingual(zh, en), applies_to, strength, auto, equipment_kind)


_AREAS = "设置的相应区域至少包括："
_RESCUE = "运行成熟的抢救和急救科室："
_MEDTECH = "医技科室（人员、制度、标准操作规程、软硬件设施设备、环境等建设满足要求）："
_DEVICES = "应急处理的设备条件："
_CPBA = "按中国医药生物技术协会《免疫细胞制剂质量管理自律规范》执行："

CATALOGUE: tuple[ChecklistItem, ...] = (
    # --- 5.1 manufacturer (制备厂商) ---------------------------------------------------------------------
    _item(
        "T-5.1.1",
        "应具有满足国家相关要求的能力和评估流程的制备资质、条件。",
        "Preparation qualification and conditions meeting national requirements, with a capability-assessment "
        "process (each licence with its evidence and expiry).",
        MANUFACTURER,
    ),
    _item(
        "T-5.1.2",
        "应具有满足细胞治疗产品制备生产的质量管理体系认证、环境管理体系认证、实验室(区)检测、产品质量和资质等文件。",
        "QMS certification, environmental-management certification, laboratory (area) testing, product quality "
        "and qualification documents (issuer, validity, attachment).",
        MANUFACTURER,
    ),
    _item(
        "T-5.1.4-a",
        _AREAS + "细胞制备区",
        "Area: cell preparation (layout evidence).",
        MANUFACTURER,
        clause="T-5.1.4",
    ),
    _item(
        "T-5.1.4-b",
        _AREAS + "质控区（支原体测定、内毒素测定、流式细胞仪检测和分子生物学等相关检测）",
        "Area: quality control (mycoplasma, endotoxin, flow cytometry, molecular biology).",
        MANUFACTURER,
        clause="T-5.1.4",
    ),
    _item(
        "T-5.1.4-c",
        _AREAS + "储存区（病毒储存区、细胞储存区）",
        "Area: storage (virus storage, cell storage).",
        MANUFACTURER,
        clause="T-5.1.4",
    ),
    _item(
        "T-5.1.4-d",
        _AREAS + "质粒制备区（如适用）",
        "Area: plasmid preparation (if applicable).",
        MANUFACTURER,
        Strength.IF_APPLICABLE,
        clause="T-5.1.4",
    ),
    _item(
        "T-5.1.4-e",
        _AREAS + "病毒制备区（如适用）",
        "Area: virus preparation (if applicable).",
        MANUFACTURER,
        Strength.IF_APPLICABLE,
        clause="T-5.1.4",
    ),
    _item(
        "T-5.1.4-f",
        "可根据实际情况合理分配和增加所需区域（留样室、办公室、资料档案室、物料储存室、气体储存室等）。",
        "Further areas as needed: retained-sample room, office, archive, material store, gas store.",
        MANUFACTURER,
        Strength.MAY,
        clause="T-5.1.4",
    ),
    _item(
        "T-5.1.5",
        "各个区域应相对独立，病毒制备区、病毒储存区应具有独立的空调系统。",
        "Areas relatively independent; the virus preparation and virus storage areas have their own HVAC "
        "system (evidence per area).",
        MANUFACTURER,
    ),
    _item(
        "G-1",
        "遵守药品生产质量管理规范（GMP）是 CAR-T 细胞制剂制备的基本原则，并具有 CAR-T 特有的制备和质控要求（译文）。",
        "GMP compliance is the principle requirement for preparing CAR-T cell preparations, with CAR-T-specific "
        "preparation and QC (site GMP evidence).",
        MANUFACTURER,
    ),
    _item(
        "G-6-a",
        _CPBA + "人员（译文）",
        "Personnel per the CPBA self-discipline specifications "
        "(training before taking up the post, health records; T-5.1.9).",
        MANUFACTURER,
        auto=AutoEvidence.STAFF_TRAINING,
        clause="G-6",
    ),
    _item(
        "G-6-b",
        _CPBA + "设备（译文）",
        "Equipment per the CPBA self-discipline specifications (calibration and maintenance; T-10.12).",
        MANUFACTURER,
        auto=AutoEvidence.EQUIPMENT_CALIBRATION,
        clause="G-6",
    ),
    _item(
        "G-6-c",
        _CPBA + "样本储存和运输（译文）",
        "Sample storage and transport per the CPBA self-discipline specifications.",
        MANUFACTURER,
        clause="G-6",
    ),
    _item(
        "G-6-d",
        _CPBA + "标识和追溯（译文）",
        "Identification and traceability per the CPBA self-discipline specifications (T-10.4, T-10.6).",
        MANUFACTURER,
        clause="G-6",
    ),
    # --- 5.2 clinical institution (临床机构) ---------------------------------------------------------------
    _item(
        "T-5.2.1",
        "实施细胞治疗产品临床应用的机构应具备三级甲等或与其相当的医院资质。",
        "Hospital grade 三级甲等 (tertiary, grade A) or equivalent.",
        HOSPITAL,
    ),
    _item(
        "T-5.2.3",
        "应具有专门的临床部门，统筹细胞临床应用的过程管理、质量控制和资料归档管理等。",
        "A dedicated clinical department coordinating process management, quality control and archiving "
        "(named department and responsible person).",
        HOSPITAL,
    ),
    _item(
        "T-5.2.4-a",
        _RESCUE + "ICU",
        "Mature rescue and emergency department: ICU.",
        HOSPITAL,
        clause="T-5.2.4",
    ),
    _item(
        "T-5.2.4-b",
        _RESCUE + "急诊",
        "Mature rescue and emergency department: emergency department.",
        HOSPITAL,
        clause="T-5.2.4",
    ),
    _item(
        "T-5.2.4-c",
        _RESCUE + "CCU",
        "Mature rescue and emergency department: CCU.",
        HOSPITAL,
        clause="T-5.2.4",
    ),
    _item(
        "T-5.2.5",
        "应具有与所开展业务相关的临床科室，且人员、制度、标准操作规程、软硬件设施设备、环境等建设满足要求。",
        "Clinical departments related to the services offered, with staff, rules, SOPs, facilities and "
        "environment meeting the requirements.",
        HOSPITAL,
    ),
    _item(
        "T-5.2.5-a",
        _MEDTECH + "检验科",
        "Medical-technical department: clinical laboratory.",
        HOSPITAL,
        clause="T-5.2.5",
    ),
    _item(
        "T-5.2.5-b", _MEDTECH + "影像科", "Medical-technical department: imaging.", HOSPITAL, clause="T-5.2.5"
    ),
    _item(
        "T-5.2.5-c",
        _MEDTECH + "病理科",
        "Medical-technical department: pathology.",
        HOSPITAL,
        clause="T-5.2.5",
    ),
    _item(
        "T-5.2.5-d",
        _MEDTECH + "心电图室",
        "Medical-technical department: ECG room.",
        HOSPITAL,
        clause="T-5.2.5",
    ),
    _item(
        "T-5.2.6",
        "机构应具备符合细胞治疗要求的场地与设施条件，包括病房及设施、医疗单元及设施、护理单元及设施等。",
        "Premises and facilities for cell therapy: wards, medical units and nursing units with their facilities.",
        HOSPITAL,
    ),
    _item(
        "T-5.2.7-a",
        _DEVICES + "吸氧设备",
        "Emergency equipment: oxygen (in the equipment register).",
        HOSPITAL,
        auto=AutoEvidence.EMERGENCY_EQUIPMENT,
        equipment_kind="oxygen",
        clause="T-5.2.7",
    ),
    _item(
        "T-5.2.7-b",
        _DEVICES + "吸痰设备",
        "Emergency equipment: suction (in the equipment register).",
        HOSPITAL,
        auto=AutoEvidence.EMERGENCY_EQUIPMENT,
        equipment_kind="suction",
        clause="T-5.2.7",
    ),
    _item(
        "T-5.2.7-c",
        _DEVICES + "心电监护设备",
        "Emergency equipment: ECG monitoring (in the equipment register).",
        HOSPITAL,
        auto=AutoEvidence.EMERGENCY_EQUIPMENT,
        equipment_kind="ecg_monitor",
        clause="T-5.2.7",
    ),
    _item(
        "T-5.2.7-d",
        _DEVICES + "辅助呼吸设备",
        "Emergency equipment: assisted ventilation (in the equipment register).",
        HOSPITAL,
        auto=AutoEvidence.EMERGENCY_EQUIPMENT,
        equipment_kind="ventilator",
        clause="T-5.2.7",
    ),
    _item(
        "T-5.2.8",
        "机构应具备危重症抢救所需的场地、设施与设备。",
        "Premises, facilities and equipment for critical-care rescue.",
        HOSPITAL,
    ),
    _item(
        "T-5.2.9",
        "应具有中心档案室，统一归档和管理临床应用的原始资料。",
        "A central archive room (中心档案室) filing and managing the original records of clinical use.",
        HOSPITAL,
    ),
    _item(
        "T-5.2.10",
        "应具有可靠的经过等保三级评审的电子病历系统，包括门诊和住院病历系统。",
        "Reliable outpatient and inpatient EMR systems assessed at MLPS level 3 (等保三级): certificate on file.",
        HOSPITAL,
    ),
    _item(
        "T-5.2.12",
        "机构应设有细胞治疗应急处理专家团队，团队成员应至少包括心血管内科、呼吸内科、血液内科、ICU 科的专家并具备专家资质"
        "（副高级及以上），并具有多学科应急处理的预警机制。",
        "An emergency expert team with at least cardiology, respiratory, haematology and ICU experts of "
        "associate-senior title (副高级) or above, and a multidisciplinary early-warning mechanism.",
        HOSPITAL,
    ),
    _item(
        "T-5.2.13",
        "机构应具有确保临床应用规范开展和高效运转的运行管理、质量保证和风险管理体系。",
        "Operation-management, quality-assurance and risk-management systems keeping clinical use compliant "
        "and efficient (the governing documents).",
        HOSPITAL,
    ),
    _item(
        "T-5.2.14",
        "医疗机构应具备全血计数检测能力，以及 CAR-T 细胞治疗不良反应相关的检验能力，如细胞因子的临床检测等。",
        "Full blood count testing and CAR-T adverse-reaction testing, e.g. clinical cytokine testing.",
        HOSPITAL,
    ),
    _item(
        "T-5.2.15",
        "医疗机构应具备细胞治疗不良反应的处理能力。",
        "Capability to manage cell-therapy adverse reactions (the AR-management SOP, T-6.5-f).",
        HOSPITAL,
    ),
    _item(
        "T-5.3.6.1",
        "治疗过程中应有可随时提供专业支持的学科专家，包括但不限于普外科、心胸内科、重症监护、消化内科、传染病学科、病理科、"
        "精神病学科、放射治疗科、检验科、神经科、皮肤科等专家。",
        "Specialists available at any time during treatment (general surgery, cardiothoracic, critical care, "
        "gastroenterology, infectious disease, pathology, psychiatry, radiotherapy, laboratory, neurology, "
        "dermatology ...): the on-call directory.",
        HOSPITAL,
    ),
    # --- clause 6, 8 and 10 ----------------------------------------------------------------------------
    _item(
        "T-6.2",
        "应建立与细胞治疗相关的书面质量管理文件，包括质量管理体系、标准操作程序等。",
        "Written quality-management documents for cell therapy (quality system, SOPs) approved and current.",
        BOTH,
    ),
    _item(
        "T-8.1.2-d",
        "临床机构在接收细胞制品前应确保接收区域符合无菌或清洁要求（如适用）。",
        "The receiving area meets aseptic or clean requirements (if applicable).",
        HOSPITAL,
        Strength.IF_APPLICABLE,
    ),
    _item(
        "T-8.2.2-h",
        "医疗机构与细胞治疗产品制备厂商宜在书面协议中明确双方在整个细胞治疗项目执行中的责任。",
        "The written agreement with the manufacturer states both parties' responsibilities (responsibility "
        "matrix attached).",
        HOSPITAL,
        Strength.SHOULD,
        AutoEvidence.AGREEMENT_RESPONSIBILITIES,
    ),
    _item(
        "T-8.2.3",
        "分离工艺和处理设施应符合生产企业的要求和药品生产质量管理规范。",
        "The separation process and facilities meet the manufacturer's requirements and GMP (the "
        "manufacturer's qualification of the collection site).",
        HOSPITAL,
    ),
    _item(
        "T-10.17",
        "中心档案室应具备长期保存归档资料的条件（如适用），包括但不限于专用房间、专人管理，应满足防火、防虫、防盗、防磁、防潮等要求。",
        "The central archive can keep records long term: dedicated room and custodian; protection against "
        "fire, insects, theft, magnetism and moisture.",
        HOSPITAL,
        Strength.IF_APPLICABLE,
    ),
)

_BY_CODE = {item.code: item for item in CATALOGUE}


def catalogue_item(code: str) -> ChecklistItem:
    """The item with `code`; KeyError for a code the catalogue does not hold."""
    return _BY_CODE[code]


def items_for(kind: SiteKind) -> tuple[ChecklistItem, ...]:
    """The items a site of `kind` answers, in catalogue order."""
    return tuple(item for item in CATALOGUE if item.applies(kind))


def checklist_lines() -> tuple[str, ...]:
    """The requirement lines the catalogue covers, each once, in catalogue order."""
    return tuple(dict.fromkeys(item.clause for item in CATALOGUE))


# --------------------------------------------------------------------------- answering and reviewing

# A next review further out than this is taken for a mistyped year: a review date decades ahead would keep an
# item from ever showing as overdue. The documents set no review interval; this bound is only a typing check.
MAX_REVIEW_INTERVAL_DAYS = 5 * 366


def answer_check(
    answer: Answer, *, note: str, has_evidence: bool, reviewed_on: date, next_review: date
) -> Gate:
    """Whether an answer may be recorded (CHECKLIST: answer, evidence, reviewer, date, next review).

    "Yes" needs evidence: a file, a link to the record that proves it, or a document reference. "No" needs a
    note saying what is missing; "not applicable" a note saying why. The next review falls after the review
    and within `MAX_REVIEW_INTERVAL_DAYS`.
    """
    findings = []
    if answer == Answer.YES and not has_evidence:
        findings.append(Finding("evidence_missing", "a yes needs evidence", "CHECKLIST", subject="evidence"))
    if answer in (Answer.NO, Answer.NA) and not note.strip():
        findings.append(Finding(f"note_missing_{answer}", f"a {answer} needs a note", "CHECKLIST", "note"))
    if next_review <= reviewed_on:
        findings.append(
            Finding(
                "next_review_not_after",
                "the next review must come after this one",
                "CHECKLIST",
                "next_review",
                next_review.isoformat(),
                f"> {reviewed_on.isoformat()}",
            )
        )
    elif (next_review - reviewed_on).days > MAX_REVIEW_INTERVAL_DAYS:
        findings.append(
            Finding(
                "next_review_too_far",
                "the next review is too far ahead",
                "CHECKLIST",
                "next_review",
                next_review.isoformat(),
                f"<= {MAX_REVIEW_INTERVAL_DAYS} days",
            )
        )
    return Gate(tuple(findings))


class ItemState(StrEnum):
    """What the checklist shows for an item."""

    UNANSWERED = "unanswered"
    YES = "yes"
    NO = "no"
    NA = "na"
    OVERDUE = "overdue"  # answered, but the next review date has passed


def item_state(answer: Answer | None, next_review: date | None, today: date) -> ItemState:
    """Unanswered, overdue for review (the answer no longer stands), or the answer itself."""
    if answer is None:
        return ItemState.UNANSWERED
    if next_review is not None and next_review < today:
        return ItemState.OVERDUE
    return ItemState(answer.value)


# --------------------------------------------------------------------------- answers from the system's records


@dataclass(frozen=True, slots=True)
class RecordRef:
    """A record the suggestion rests on: its ledger type and id, and a label to show."""

    record_type: str
    record_id: str
    label: str


@dataclass(frozen=True, slots=True)
class Reason:
    """Why the suggestion is what it is: a stable code, what it is about, and a value (a date, a count)."""

    code: str
    subject: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The answer the system's own records give (None: they cannot tell), with reasons and the records."""

    answer: Answer | None
    reasons: tuple[Reason, ...] = ()
    records: tuple[RecordRef, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class AgreementFact:
    """A clinic-manufacturer agreement of the site (T-8.2.2)."""

    ref: RecordRef
    effective_from: date
    effective_until: date | None
    responsibilities_agreed: bool  # item h
    attachment_ref: str

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_until is None or on <= self.effective_until)


def agreement_suggestion(agreements: Sequence[AgreementFact], today: date) -> Suggestion:
    """T-8.2.2-h: yes when an agreement in force states both parties' responsibilities and names its document."""
    good = [
        a for a in agreements if a.in_force(today) and a.responsibilities_agreed and a.attachment_ref.strip()
    ]
    if good:
        return Suggestion(
            Answer.YES, (Reason("agreement_in_force", value=str(len(good))),), tuple(a.ref for a in good)
        )
    if not agreements:
        return Suggestion(Answer.NO, (Reason("no_agreement"),))
    return Suggestion(Answer.NO, (Reason("no_agreement_in_force"),), tuple(a.ref for a in agreements))


@dataclass(frozen=True, slots=True)
class DeviceFact:
    """An item of the site's equipment register (T-10.12)."""

    ref: RecordRef
    kind: str
    in_service: bool
    calibration_due: date | None
    maintenance_due: date | None

    def overdue(self, today: date) -> list[Reason]:
        return [
            Reason(f"{what}_overdue", self.ref.label, due.isoformat())
            for what, due in (("calibration", self.calibration_due), ("maintenance", self.maintenance_due))
            if due is not None and due < today
        ]


def emergency_equipment_suggestion(kind: str, devices: Sequence[DeviceFact], today: date) -> Suggestion:
    """T-5.2.7: yes when the register holds a device of `kind` in service and not overdue for calibration or
    maintenance; no when every such device is out of service or overdue; nothing to say when there is none."""
    of_kind = [d for d in devices if d.kind == kind]
    if not of_kind:
        return Suggestion(None, (Reason("no_device_of_kind", kind),))
    usable = [d for d in of_kind if d.in_service and not d.overdue(today)]
    if usable:
        return Suggestion(
            Answer.YES, (Reason("device_usable", kind, str(len(usable))),), tuple(d.ref for d in usable)
        )
    reasons = [Reason("out_of_service", d.ref.label) for d in of_kind if not d.in_service]
    reasons += [r for d in of_kind if d.in_service for r in d.overdue(today)]
    return Suggestion(Answer.NO, tuple(reasons), tuple(d.ref for d in of_kind))


def equipment_calibration_suggestion(devices: Sequence[DeviceFact], today: date) -> Suggestion:
    """G-6 equipment (T-10.12): yes when no in-service item of the register is overdue for calibration or
    maintenance; no naming each overdue item; nothing to say when the register is empty."""
    in_service = [d for d in devices if d.in_service]
    if not in_service:
        return Suggestion(None, (Reason("no_equipment"),))
    overdue = [(d, d.overdue(today)) for d in in_service]
    late = [(d, reasons) for d, reasons in overdue if reasons]
    if late:
        return Suggestion(
            Answer.NO, tuple(r for _d, reasons in late for r in reasons), tuple(d.ref for d, _r in late)
        )
    return Suggestion(
        Answer.YES,
        (Reason("equipment_current", value=str(len(in_service))),),
        tuple(d.ref for d in in_service),
    )


class QualificationKind(StrEnum):
    """The kinds of the qualification register (accounts.Qualification.Kind)."""

    LICENCE = "licence"
    TRAINING = "training"
    COMPETENCE = "competence"
    HEALTH = "health"


@dataclass(frozen=True, slots=True)
class QualificationFact:
    kind: QualificationKind
    valid_from: date
    valid_until: date

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


@dataclass(frozen=True, slots=True)
class PersonFact:
    """A person of the site who prepares or tests product, with the qualifications not revoked (T-5.1.9)."""

    ref: RecordRef
    qualifications: tuple[QualificationFact, ...]

    def current(self, kinds: frozenset[QualificationKind], today: date) -> bool:
        return any(q.kind in kinds and q.valid_on(today) for q in self.qualifications)


_TRAINED = frozenset({QualificationKind.TRAINING, QualificationKind.COMPETENCE})
_HEALTHY = frozenset({QualificationKind.HEALTH})


def staff_training_suggestion(people: Sequence[PersonFact], today: date) -> Suggestion:
    """G-6 personnel (T-5.1.9-1): yes when every preparation and QC person holds a current training record
    and a current health check; no naming each person without one; nothing to say without such staff."""
    if not people:
        return Suggestion(None, (Reason("no_staff"),))
    reasons = [
        Reason(code, person.ref.label)
        for person in people
        for code, kinds in (("training_missing", _TRAINED), ("health_missing", _HEALTHY))
        if not person.current(kinds, today)
    ]
    if reasons:
        lacking = {r.subject for r in reasons}
        return Suggestion(Answer.NO, tuple(reasons), tuple(p.ref for p in people if p.ref.label in lacking))
    return Suggestion(
        Answer.YES, (Reason("staff_current", value=str(len(people))),), tuple(p.ref for p in people)
    )
