"""The hospital's adverse-event report to the manufacturer as an ICH E2B(R3) ICSR: an HL7 v3
MCCI_IN200100UV01 batch wrapping one PORR_IN049016UV message (issue 12 item 2; T-7.10-d; T-10.8).

Pseudonymised per E2B(R3) D.1: the patient's name is masked (``<name nullFlavor="MSK"/>``), no birth date
(D.2.1) and no hospital record number (D.1.1.3) is sent; the patient is identified only by the journey's COI
as the investigation record number (D.1.1.4), and by the age group (D.2.3) when the grading recorded the
age. The reaction (E.i) carries the term as reported with its grade (E2B(R3) has no grade element), onset,
the seriousness criteria (E.i.3.2) and outcome (E.i.7); the suspect product (G.k) its batch (G.k.4.r.7) and
unit DIN; the primary source (C.2.r) by qualification and country, the sender (C.3) as the hospital.
Verbatim terms are not MedDRA-coded here: the manufacturer's pharmacovigilance codes them.

Element layout and code-list OIDs follow the ICH E2B(R3) Implementation Guide; the official XSDs could not
be obtained on this machine (see cellchain/clinic/schemas/SOURCES.md), so the structure is checked by the
tests and the manufacturer's parser, not by the ICH schema.
"""

from __future__ import annotations

import datetime as dt
import uuid

from lxml import etree

from cellchain.clinic.models import AdverseEvent
from cellchain.clinic.reporting._facts import EventFacts, event_facts
from cellchain.domain import adverse_event_messages as m

NS = m.HL7
_XSI_TYPE = f"{{{m.XSI}}}type"
UUID_NAMESPACE = uuid.UUID("6f1c2a52-3d0e-4e0c-9a55-5c3b1e4f7a10")
"""Namespace of the UUIDs of a report's reaction and drug (stable for one AE number)."""


def _e(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{NS}}}{tag}", {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        child.text = text
    return child


def _ts(value: dt.datetime) -> str:
    """An HL7 TS with seconds and zone offset, e.g. 20261207093000+0000."""
    return value.strftime("%Y%m%d%H%M%S%z")


def _observation(parent: etree._Element, code: str) -> etree._Element:
    obs = _e(_e(parent, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS", moodCode="EVN")
    _e(obs, "code", code=code, codeSystem=m.E2B_OBSERVATION_CODES)
    return obs


def _related(reaction: etree._Element, code: str) -> etree._Element:
    rel = _e(reaction, "outboundRelationship2", typeCode="PERT")
    obs = _e(rel, "observation", classCode="OBS", moodCode="EVN")
    _e(obs, "code", code=code, codeSystem=m.E2B_OBSERVATION_CODES)
    return obs


def _age_group(years: int) -> str:
    """D.2.3 patient age group: 2 infant, 3 child, 4 adolescent, 5 adult, 6 elderly."""
    if years < 2:
        return "2"
    if years < 12:
        return "3"
    if years < 18:
        return "4"
    return "5" if years < 65 else "6"


def _device(parent: etree._Element, role: str, type_code: str, root: str, extension: str) -> None:
    device = _e(_e(parent, role, typeCode=type_code), "device", classCode="DEV", determinerCode="INSTANCE")
    _e(device, "id", root=root, extension=extension)


def _narrative(facts: EventFacts) -> str:
    lines = [f"{facts.term}, {m.GRADE_SCALES[facts.category]} grade {facts.grade}. {facts.description}"]
    if facts.grade_reasons:
        lines.append("Grading: " + " | ".join(facts.grade_reasons))
    if facts.treatment:
        lines.append(f"Treatment given: {facts.treatment}")
    if facts.infused_at is not None:
        lines.append(f"Product infused {facts.infused_at.isoformat(timespec='minutes')}.")
    return "\n".join(lines)


def _patient(role: etree._Element, facts: EventFacts) -> None:
    player = _e(role, "player1", classCode="PSN", determinerCode="INSTANCE")
    _e(player, "name", nullFlavor="MSK")  # D.1: masked, never the name or initials
    identified = _e(player, "asIdentifiedEntity", classCode="IDENT")
    _e(identified, "id", root=m.E2B_COI_ROOT, extension=facts.coi)  # D.1.1.4: the COI pseudonym
    _e(identified, "code", code="4", codeSystem=m.E2B_RECORD_SOURCE_CODES)
    if facts.age_years is not None:
        obs = _observation(role, m.E2B_AGE_GROUP)
        value = _e(obs, "value", code=_age_group(facts.age_years), codeSystem=m.E2B_AGE_GROUP_CODES)
        value.set(_XSI_TYPE, "CE")


def _reaction(role: etree._Element, facts: EventFacts, reaction_id: str) -> None:
    reaction = _observation(role, m.E2B_REACTION)
    reaction.insert(0, etree.Element(f"{{{NS}}}id", root=reaction_id))
    time = _e(reaction, "effectiveTime")
    time.set(_XSI_TYPE, "IVL_TS")
    _e(time, "low", value=_ts(facts.onset_at))
    value = _e(reaction, "value", nullFlavor="NI")
    value.set(_XSI_TYPE, "CE")
    reported = f"{facts.term}, grade {facts.grade} ({m.GRADE_SCALES[facts.category]})"
    _e(value, "originalText", reported, language="en")
    criteria = {
        "34": facts.fatal,
        "21": facts.life_threatening,
        "26": facts.serious and not (facts.fatal or facts.life_threatening),
    }
    for code, flag in criteria.items():
        _e(_related(reaction, code), "value", value="true" if flag else "false").set(_XSI_TYPE, "BL")
    outcome = _e(_related(reaction, m.E2B_OUTCOME), "value", code=m.E2B_OUTCOME_VALUES[facts.outcome])
    outcome.set("codeSystem", m.E2B_OUTCOME_CODES)
    outcome.set(_XSI_TYPE, "CE")


def _drug(role: etree._Element, facts: EventFacts, drug_id: str) -> None:
    organizer = _e(_e(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN")
    _e(organizer, "code", code="4", codeSystem="2.16.840.1.113883.3.989.2.1.1.20")  # drug information
    administration = _e(
        _e(organizer, "component", typeCode="COMP"),
        "substanceAdministration",
        classCode="SBADM",
        moodCode="EVN",
    )
    _e(administration, "id", root=drug_id)
    if facts.infused_at is not None:
        time = _e(administration, "effectiveTime")
        time.set(_XSI_TYPE, "IVL_TS")
        _e(time, "low", value=_ts(facts.infused_at))
    kind = _e(_e(administration, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST")
    if facts.din is not None:
        instance = _e(kind, "productInstanceInstance", classCode="MMAT", determinerCode="INSTANCE")
        _e(instance, "id", root=m.E2B_DIN_ROOT, extension=facts.din)
        if facts.batch:
            _e(instance, "lotNumberText", facts.batch)  # G.k.4.r.7
    product = _e(kind, "kindOfProduct", classCode="MMAT", determinerCode="KIND")
    _e(product, "code", code=facts.product_code, codeSystem=m.E2B_PRODUCT_CODE_SYSTEM)
    _e(product, "name", facts.product_name)  # G.k.2.2 medicinal product as reported


def _causality(assessment: etree._Element, facts: EventFacts, reaction_id: str, drug_id: str) -> None:
    role = _e(
        _e(assessment, "component", typeCode="COMP"), "causalityAssessment", classCode="OBS", moodCode="EVN"
    )
    _e(role, "code", code="20", codeSystem=m.E2B_OBSERVATION_CODES)  # G.k.1 characterisation of drug role
    _e(role, "value", code="1", codeSystem="2.16.840.1.113883.3.989.2.1.1.13").set(_XSI_TYPE, "CE")  # suspect
    _e(_e(_e(role, "subject2", typeCode="SUBJ"), "productUseReference", classCode="SBADM", moodCode="EVN"), "id",
       root=drug_id)  # fmt: skip
    relatedness = _e(
        _e(assessment, "component", typeCode="COMP"), "causalityAssessment", classCode="OBS", moodCode="EVN"
    )
    _e(relatedness, "code", code="39", codeSystem=m.E2B_OBSERVATION_CODES)  # G.k.9.i.2 assessment
    _e(relatedness, "value", facts.relation).set(_XSI_TYPE, "ST")
    _e(_e(relatedness, "methodCode"), "originalText", "Treating physician's assessment")
    reference = _e(_e(relatedness, "subject1", typeCode="SUBJ"), "adverseEffectReference", classCode="OBS",
                   moodCode="EVN")  # fmt: skip
    _e(reference, "id", root=reaction_id)
    _e(_e(_e(relatedness, "subject2", typeCode="SUBJ"), "productUseReference", classCode="SBADM",
          moodCode="EVN"), "id", root=drug_id)  # fmt: skip


def _primary_source(case: etree._Element, facts: EventFacts) -> None:
    """C.2.r: the treating physician as primary source, by qualification and country only (no name)."""
    link = _e(case, "outboundRelationship", typeCode="SPRT")
    _e(link, "priorityNumber", value="1")  # C.2.r.5 primary source for regulatory purposes
    related = _e(link, "relatedInvestigation", classCode="INVSTG", moodCode="EVN")
    _e(related, "code", code="2", codeSystem="2.16.840.1.113883.3.989.2.1.1.22")
    act = _e(_e(related, "subjectOf2", typeCode="SUBJ"), "controlActEvent", classCode="CACT", moodCode="EVN")
    entity = _e(_e(act, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    _e(entity, "code", code="1", codeSystem="2.16.840.1.113883.3.989.2.1.1.6")  # C.2.r.4 physician
    if facts.country:
        located = _e(entity, "asLocatedEntity", classCode="LOCE")
        place = _e(located, "location", classCode="COUNTRY", determinerCode="INSTANCE")
        _e(place, "code", code=facts.country, codeSystem="1.0.3166.1.2.2")  # C.2.r.3


def _sender(case: etree._Element, facts: EventFacts) -> None:
    """C.3: the hospital as sender (C.3.1 type 3, health professional; C.3.2 its organisation)."""
    act = _e(_e(case, "subjectOf1", typeCode="SUBJ"), "controlActEvent", classCode="CACT", moodCode="EVN")
    entity = _e(_e(act, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
    _e(entity, "code", code="3", codeSystem="2.16.840.1.113883.3.989.2.1.1.7")
    organisation = _e(entity, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
    _e(organisation, "name", facts.sender_name)


def adverse_event_e2b(
    event: AdverseEvent, *, created_at: dt.datetime | None = None, sequence: int = 1
) -> bytes:
    """The E2B(R3) ICSR batch for `event` as UTF-8 XML bytes (issue 12 item 2, T-7.10-d). `created_at`
    (default: the AE's awareness time, so the same event gives the same bytes) stamps N.1.5/N.2.r.4/C.1.2;
    `sequence` > 1 marks a follow-up transmission of the same case: the batch and message ids (N.1.2,
    N.2.r.1) get ``-<sequence>`` so each transmission has its own, the case id (C.1.1) stays."""
    facts = event_facts(event)
    created = _ts(created_at or facts.awareness_at)
    transmission = "" if sequence == 1 else f"-{sequence}"
    reaction_id = str(uuid.uuid5(UUID_NAMESPACE, f"{facts.number}/reaction")).upper()  # HL7 v3: upper case
    drug_id = str(uuid.uuid5(UUID_NAMESPACE, f"{facts.number}/drug")).upper()
    sender, receiver = f"CC-{facts.facility_id}", f"CC-{facts.manufacturer_code}"
    root = etree.Element(f"{{{NS}}}MCCI_IN200100UV01", ITSVersion="XML_1.0", nsmap={None: NS, "xsi": m.XSI})
    root.set(f"{{{m.XSI}}}schemaLocation", f"{NS} multicacheschemas/MCCI_IN200100UV01.xsd")
    _e(
        root, "id", root="2.16.840.1.113883.3.989.2.1.3.22", extension=f"{facts.number}-B{transmission}"
    )  # N.1.2
    _e(root, "creationTime", value=created)  # N.1.5
    _e(root, "responseModeCode", code="D")
    _e(root, "interactionId", root="2.16.840.1.113883.1.6", extension="MCCI_IN200100UV01")
    _e(root, "name", code="1", codeSystem="2.16.840.1.113883.3.989.2.1.1.1")  # N.1.1 ichicsr
    message = _e(root, "PORR_IN049016UV")
    _e(
        message, "id", root="2.16.840.1.113883.3.989.2.1.3.1", extension=f"{facts.number}-M{transmission}"
    )  # N.2.r.1
    _e(message, "creationTime", value=created)  # N.2.r.4
    _e(message, "interactionId", root="2.16.840.1.113883.1.6", extension="PORR_IN049016UV")
    _e(message, "processingCode", code="P")
    _e(message, "processingModeCode", code="T")
    _e(message, "acceptAckCode", code="AL")
    _device(message, "receiver", "RCV", "2.16.840.1.113883.3.989.2.1.3.12", receiver)  # N.2.r.3
    _device(message, "sender", "SND", "2.16.840.1.113883.3.989.2.1.3.11", sender)  # N.2.r.2
    control = _e(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    _e(control, "code", code="PORR_TE049016UV", codeSystem="2.16.840.1.113883.1.18")
    _e(control, "effectiveTime", value=created)  # C.1.2
    case = _e(
        _e(control, "subject", typeCode="SUBJ"), "investigationEvent", classCode="INVSTG", moodCode="EVN"
    )
    _e(case, "id", root=m.E2B_CASE_ID_ROOT, extension=facts.number)  # C.1.1
    _e(
        case, "id", root=m.E2B_WORLDWIDE_ID_ROOT, extension=f"CN-{facts.facility_id}-{facts.number}"
    )  # C.1.8.1
    _e(case, "code", code="PAT_ADV_EVNT", codeSystem="2.16.840.1.113883.5.4")
    _e(case, "text", _narrative(facts))  # H.1
    _e(case, "statusCode", code="active")
    _e(_e(case, "effectiveTime"), "low", value=_ts(facts.awareness_at))  # C.1.4 first received
    _e(case, "availabilityTime", value=created)  # C.1.5 most recent information
    assessment = _e(_e(case, "component", typeCode="COMP"), "adverseEventAssessment", classCode="INVSTG",
                    moodCode="EVN")  # fmt: skip
    role = _e(_e(assessment, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    _patient(role, facts)
    _reaction(role, facts, reaction_id)
    _drug(role, facts, drug_id)
    _causality(assessment, facts, reaction_id, drug_id)
    _primary_source(case, facts)
    _sender(case, facts)
    report_type = _e(_e(case, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic", classCode="OBS",
                     moodCode="EVN")  # fmt: skip
    _e(report_type, "code", code="1", codeSystem="2.16.840.1.113883.3.989.2.1.1.23")  # C.1.3 type of report
    _e(report_type, "value", code="1", codeSystem="2.16.840.1.113883.3.989.2.1.1.2").set(_XSI_TYPE, "CE")
    _device(root, "receiver", "RCV", "2.16.840.1.113883.3.989.2.1.3.14", receiver)  # N.1.4
    _device(root, "sender", "SND", "2.16.840.1.113883.3.989.2.1.3.13", sender)  # N.1.3
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
