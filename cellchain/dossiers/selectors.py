"""What a dossier holds: the records of one batch or one journey, and their summary for the PDF (issue 14
item 6; T-7.1, T-10.4, X-7).

The records are named by their ledger identity, (record type, record id), so the ledger can put exactly their
entries in the subset bundle. They are found with one `values_list("pk")` query per record type, listed in
`BATCH_PARTS` and `JOURNEY_PARTS` (the models are looked up by label, as the ledger's replay does, so this
reporting context imports no other context's models); the query count is the same for a batch of ten
entries or ten thousand.

Separation of the two organisations (T-6.4-a, X-7, T-7.11):

- a batch's dossier is for its manufacturer only (the batch's process parameters are not for the clinic);
- a journey's dossier is for both organisations of the journey; the hospital-only records (consent,
  eligibility, screening, scheduling, the patient-identity record and every clinic record) go in only for the
  journey's own hospital. The identity record's ledger entries carry only a keyed digest (its name, birth date,
  record number and wristband are `ledger_exclude`), and the PDF shows the pseudonym and COI only, for
  everyone: a dossier leaves the building.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db.models import Q

from cellchain.core.errors import NotAllowed, NotFound
from cellchain.dossiers.models import DossierExport

RecordRef = tuple[str, str]
Part = tuple[str, Callable[[Any], Q]]

BATCH_PARTS: tuple[Part, ...] = (
    ("manufacturing.batch", lambda b: Q(pk=b.pk)),
    ("manufacturing.productversion", lambda b: Q(pk=b.product_version_id)),
    ("manufacturing.apheresisintake", lambda b: Q(pk=b.intake_id)),
    ("manufacturing.batchstep", lambda b: Q(batch_id=b.pk)),
    ("manufacturing.parameterentry", lambda b: Q(step__batch_id=b.pk)),
    ("manufacturing.equipmentuse", lambda b: Q(step__batch_id=b.pk)),
    ("manufacturing.materialuse", lambda b: Q(step__batch_id=b.pk)),
    ("manufacturing.fillrecord", lambda b: Q(batch_id=b.pk)),
    ("manufacturing.productunit", lambda b: Q(batch_id=b.pk)),
    ("qc.qcsample", lambda b: Q(batch_id=b.pk)),
    ("qc.qcresult", lambda b: Q(batch_id=b.pk)),
    ("qc.audittrailreview", lambda b: Q(batch_id=b.pk)),
    ("qc.retainedsample", lambda b: Q(batch_id=b.pk)),
    ("qc.releasedecision", lambda b: Q(batch_id=b.pk)),
    ("qc.recallhold", lambda b: Q(batch_id=b.pk)),
    ("qc.packageissue", lambda b: Q(batch_id=b.pk)),
    ("logistics.shipment", lambda b: Q(batch_number=b.number)),
    ("logistics.packedunit", lambda b: Q(shipment__batch_number=b.number)),
    ("logistics.packingcheck", lambda b: Q(shipment__batch_number=b.number)),
    ("logistics.loggerlink", lambda b: Q(shipment__batch_number=b.number)),
    ("logistics.loggerfileimport", lambda b: Q(logger__shipment__batch_number=b.number)),
    ("logistics.receiptinspection", lambda b: Q(shipment__batch_number=b.number)),
)
"""The records of a batch: its record, product version and intake, steps and what was entered in them, the
fill and units, QC and release, the shipments of its units with packing, loggers and receipt (T-7.1)."""


def _cois(journey: Any) -> list[str]:
    return [journey.coi, journey.coi + journey.coi_check]


JOURNEY_PARTS: tuple[Part, ...] = (
    ("journeys.journey", lambda j: Q(pk=j.pk)),
    ("journeys.collection", lambda j: Q(journey_id=j.pk)),
    ("journeys.unit", lambda j: Q(journey_id=j.pk)),
    ("journeys.labelprint", lambda j: Q(unit__journey_id=j.pk)),
    ("journeys.labeldisposition", lambda j: Q(label__unit__journey_id=j.pk)),
    ("journeys.custodyevent", lambda j: Q(journey_id=j.pk)),
    ("manufacturing.apheresisintake", lambda j: Q(coi=j.coi)),
    ("logistics.shipment", lambda j: Q(coi__in=_cois(j))),
    ("logistics.packedunit", lambda j: Q(shipment__coi__in=_cois(j))),
    ("logistics.packingcheck", lambda j: Q(shipment__coi__in=_cois(j))),
    ("logistics.loggerlink", lambda j: Q(shipment__coi__in=_cois(j))),
    ("logistics.receiptinspection", lambda j: Q(shipment__coi__in=_cois(j))),
)
"""The records of a journey both organisations hold: enrolment (COI and pseudonym), collection, units and
labels with their fates (CM7.2.2.1), every custody scan, the manufacturer's intake, the shipments under its COI (T-10.4)."""

HOSPITAL_JOURNEY_PARTS: tuple[Part, ...] = (
    ("journeys.patientidentity", lambda j: Q(journey_id=j.pk)),
    ("journeys.consent", lambda j: Q(journey_id=j.pk)),
    ("journeys.eligibilityassessment", lambda j: Q(journey_id=j.pk)),
    ("journeys.booking", lambda j: Q(journey_id=j.pk)),
    ("journeys.screeningresult", lambda j: Q(journey_id=j.pk)),
    ("journeys.screeningdecision", lambda j: Q(journey_id=j.pk)),
    ("clinic.treatmentcourse", lambda j: Q(coi__in=_cois(j))),
    ("clinic.lymphodepletiondose", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.clinicunit", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.thaw", lambda j: Q(unit__course__coi__in=_cois(j))),
    ("clinic.dilution", lambda j: Q(unit__course__coi__in=_cois(j))),
    ("clinic.bedsidecheck", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.infusion", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.observation", lambda j: Q(infusion__course__coi__in=_cois(j))),
    ("clinic.vitalsigns", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.monitoringday", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.adverseevent", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.reportingduty", lambda j: Q(event__course__coi__in=_cois(j))),
    ("clinic.followupvisit", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.protocoldeviationreport", lambda j: Q(course__coi__in=_cois(j))),
    ("clinic.correctiveaction", lambda j: Q(report__course__coi__in=_cois(j))),
)
"""The journey's records only its hospital holds (T-6.4-a, T-10.1): consent to follow-up."""


def _model(label: str) -> Any:
    return apps.get_model(label)


def _collect(parts: Sequence[Part], subject: Any) -> list[RecordRef]:
    refs: list[RecordRef] = []
    for label, where in parts:
        ids = _model(label)._base_manager.filter(where(subject)).order_by("pk").values_list("pk", flat=True)
        refs += [(label, str(pk)) for pk in ids]
    return refs


def _by_type(refs: Iterable[RecordRef]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for kind, pk in refs:
        grouped.setdefault(kind, []).append(pk)
    return grouped


def _about(refs: Sequence[RecordRef], type_field: str, id_field: str) -> Q:
    where = Q(pk__in=[])
    for kind, ids in _by_type(refs).items():
        where |= Q(**{type_field: kind, f"{id_field}__in": ids})
    return where


def _attached(refs: Sequence[RecordRef]) -> list[RecordRef]:
    """The signatures over the records and the deviations opened about them (X-4, T-6.4-f): two queries."""
    signatures = _model("signatures.signature")._base_manager.filter(_about(refs, "record_type", "record_id"))
    deviations = _model("quality.deviation")._base_manager.filter(_about(refs, "subject_type", "subject_id"))
    return [
        ("signatures.signature", str(pk)) for pk in signatures.order_by("pk").values_list("pk", flat=True)
    ] + [("quality.deviation", str(pk)) for pk in deviations.order_by("pk").values_list("pk", flat=True)]


def _unique(refs: Iterable[RecordRef]) -> list[RecordRef]:
    return list(dict.fromkeys(refs))


def batch_records(batch: Any) -> list[RecordRef]:
    """Every record of `batch` with their signatures and deviations (one query per record type)."""
    refs = _collect(BATCH_PARTS, batch)
    return _unique(refs + _attached(refs))


def journey_records(journey: Any, *, hospital: bool) -> list[RecordRef]:
    """Every record of `journey` the requester's side holds, with their signatures and deviations."""
    refs = _collect(JOURNEY_PARTS + (HOSPITAL_JOURNEY_PARTS if hospital else ()), journey)
    return _unique(refs + _attached(refs))


# --------------------------------------------------------------------------- subjects and who may have them


def batch_for_dossier(viewer: Any, batch_id: str | int) -> Any:
    """The batch, for a requester of its manufacturer only (T-7.11: process values stay with the manufacturer)."""
    if not str(batch_id).isdigit():
        raise NotFound(f"No batch {batch_id!r}.")
    batch = (
        _model("manufacturing.batch")
        .objects.select_related("product_version__product", "intake__collection_site", "site")
        .filter(pk=int(batch_id))
        .first()
    )
    if (
        batch is None
        or viewer.organisation_id is None
        or batch.site.organisation_id != viewer.organisation_id
    ):
        raise NotFound(f"No batch {batch_id} of your organisation.")
    return batch


def batch_by_number(viewer: Any, number: str) -> Any:
    """The batch with `number` (as printed on its labels), for its manufacturer only."""
    found = (
        _model("manufacturing.batch")
        .objects.filter(number=number.strip())
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise NotFound(f"No batch {number.strip()!r}.")
    return batch_for_dossier(viewer, found)


def journey_for_dossier(viewer: Any, coi: str) -> Any:
    """The journey, for a requester of one of its two organisations (journeys' own visibility rule)."""
    from cellchain.journeys.selectors import journey_get_for

    return journey_get_for(viewer, coi)


def is_journey_hospital(viewer: Any, journey: Any) -> bool:
    """True for a requester of the journey's own hospital: the only side that gets its hospital records."""
    return bool(viewer.is_hospital_user and viewer.organisation_id == journey.hospital_site.organisation_id)


def exports_visible_to(viewer: Any) -> Any:
    """Exports requested by people of the viewer's organisation, newest first (no one else's)."""
    if viewer.organisation_id is None:
        return DossierExport.objects.none()
    return DossierExport.objects.filter(requested_by__organisation_id=viewer.organisation_id).select_related(
        "requested_by"
    )


def export_get_for(viewer: Any, export_id: int) -> DossierExport:
    """One export of the viewer's organisation."""
    export = exports_visible_to(viewer).filter(pk=export_id).first()
    if export is None:
        raise NotFound(f"No export {export_id} of your organisation.")
    return export


def require_same_organisation(viewer: Any, export: DossierExport) -> None:
    if viewer.organisation_id is None or export.requested_by.organisation_id != viewer.organisation_id:
        raise NotAllowed("This export belongs to another organisation.")


# --------------------------------------------------------------------------- the summary printed in the PDF


@dataclass(frozen=True)
class Section:
    """One table of the PDF: a bilingual title, column headings and rows of text."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class DossierContent:
    """What one dossier holds: the records (ledger identities) and how the PDF summarises them."""

    kind: str
    subject_id: str
    subject_label: str
    title: str
    facts: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    records: tuple[RecordRef, ...]
    time_zone: str
    hospital_side: bool = False
    omitted: tuple[str, ...] = field(default=())


def _local(moment: dt.datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _name(user: Any) -> str:
    return getattr(user, "printed_name", "") or getattr(user, "username", "") or "—"


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


def _objects(label: str, where: Q, *related: str) -> list[Any]:
    rows = _model(label)._base_manager.filter(where).order_by("pk")
    return list(rows.select_related(*related) if related else rows)


def _steps_section(batch: Any, zone: str) -> list[Section]:
    steps = _objects("manufacturing.batchstep", Q(batch_id=batch.pk), "started_by", "completed_by")
    entries = _objects("manufacturing.parameterentry", Q(step__batch_id=batch.pk), "step", "entered_by")
    return [
        Section(
            "工序 / Process steps",
            ("#", "工序 / Step", "状态 / Status", "开始 / Started", "完成 / Completed", "操作人 / By"),
            tuple(
                (
                    str(s.position),
                    s.code,
                    s.status,
                    _local(s.started_at, zone),
                    _local(s.completed_at, zone),
                    _name(s.completed_by or s.started_by),
                )
                for s in steps
            ),
        ),
        Section(
            "工艺参数 / Process parameters",
            (
                "工序 / Step",
                "参数 / Parameter",
                "数值 / Value",
                "范围 / Range",
                "结论 / Outcome",
                "录入 / Entered",
            ),
            tuple(
                (
                    e.step.code,
                    e.code,
                    e.value,
                    _text(e.limit),
                    e.outcome,
                    f"{_name(e.entered_by)} {_local(e.entered_at, zone)}",
                )
                for e in entries
            ),
        ),
    ]


def _qc_sections(batch: Any, zone: str) -> list[Section]:
    results = _objects("qc.qcresult", Q(batch_id=batch.pk), "performed_by", "method")
    decisions = _objects("qc.releasedecision", Q(batch_id=batch.pk), "decided_by")
    return [
        Section(
            "质量检验 / QC results",
            (
                "检验项目 / Test",
                "结果 / Result",
                "结论 / Verdict",
                "状态 / Status",
                "检验 / Performed",
                "当前 / Current",
            ),
            tuple(
                (
                    r.item_code,
                    _text(r.value if r.value is not None else r.outcome) + (f" {r.unit}" if r.unit else ""),
                    r.verdict,
                    r.status + (" *" if r.amended else ""),
                    f"{_name(r.performed_by)} {_local(r.performed_at, zone)}",
                    "✓" if r.is_current and r.voided_at is None else "—",
                )
                for r in results
            ),
            note="* 首次录入后经修改，原因见审计追踪 / changed after first entry; the reason is in the ledger entries",
        ),
        Section(
            "放行 / Release decisions",
            ("时间 / Time", "结论 / Outcome", "待检 / Pending", "质量受权人 / Released by"),
            tuple(
                (_local(d.decided_at, zone), d.outcome, _text(d.pending), _name(d.decided_by))
                for d in decisions
            ),
        ),
    ]


def _shipment_sections(where: Q, zone: str) -> list[Section]:
    shipments = _objects("logistics.shipment", where, "to_site", "from_site")
    receipts = {
        r.shipment_id: r
        for r in _objects(
            "logistics.receiptinspection", Q(shipment__in=[s.pk for s in shipments]), "receiver"
        )
    }
    rows = []
    for s in shipments:
        receipt = receipts.get(s.pk)
        rows.append(
            (
                s.number,
                s.kind,
                f"{s.from_site.name} → {s.to_site.name}",
                s.status,
                _local(s.dispatched_at, zone),
                _local(s.arrived_at, zone),
                f"{receipt.outcome} ({_name(receipt.receiver)})" if receipt else "—",
            )
        )
    return [
        Section(
            "运输 / Shipments",
            (
                "编号 / Number",
                "类型 / Kind",
                "路线 / Route",
                "状态 / Status",
                "交付 / Dispatched",
                "到达 / Arrived",
                "接收检查 / Receipt",
            ),
            tuple(rows),
        )
    ]


def _signature_section(refs: Sequence[RecordRef], zone: str) -> Section:
    ids = [pk for kind, pk in refs if kind == "signatures.signature"]
    signatures = _objects("signatures.signature", Q(pk__in=ids))
    return Section(
        "电子签名 / Electronic signatures",
        ("记录 / Record", "签名人 / Printed name", "含义 / Meaning", "时间 / Time", "内容 SHA-256 / Content"),
        tuple(
            (
                f"{s.record_type} {s.record_id}",
                s.printed_name,
                s.meaning,
                _local(s.signed_at, zone),
                s.content_hash[:16],
            )
            for s in signatures
        ),
    )


def _deviation_section(refs: Sequence[RecordRef], zone: str) -> Section:
    ids = [pk for kind, pk in refs if kind == "quality.deviation"]
    deviations = _objects("quality.deviation", Q(pk__in=ids))
    return Section(
        "偏差 / Deviations",
        ("编号 / Number", "类型 / Kind", "标题 / Title", "开启 / Opened", "状态 / Status"),
        tuple((d.number, d.kind, d.title, _local(d.opened_at, zone), d.status) for d in deviations),
    )


def batch_content(batch: Any) -> DossierContent:
    """The batch's records and its summary: identifiers, steps and parameters, QC, release, units, shipments,
    signatures and deviations (T-7.1)."""
    zone = batch.site.time_zone
    refs = batch_records(batch)
    version = batch.product_version
    intake = batch.intake
    units = _objects("manufacturing.productunit", Q(batch_id=batch.pk))
    facts = (
        ("批号 / Batch", batch.number),
        ("产品 / Product", f"{version.product.code} v{version.version}"),
        ("状态 / Status", batch.status),
        ("生产场地 / Site", batch.site.name),
        ("开始 / Started", _local(batch.started_at, zone)),
        ("灌装 / Filled", _local(batch.manufactured_at, zone)),
        ("单采单元 / Apheresis unit (DIN)", intake.din),
        ("身份链 / COI (pseudonymous)", intake.coi or "—"),
        ("采集机构 / Collection site", intake.collection_site.name),
    )
    sections = [
        *_steps_section(batch, zone),
        Section(
            "成品单元 / Product units",
            ("DIN", "用途 / Purpose", "状态 / Status"),
            tuple((u.din, u.purpose, u.status) for u in units),
        ),
        *_qc_sections(batch, zone),
        *_shipment_sections(Q(batch_number=batch.number), zone),
        _signature_section(refs, zone),
        _deviation_section(refs, zone),
    ]
    return DossierContent(
        kind=DossierExport.Kind.BATCH,
        subject_id=str(batch.pk),
        subject_label=batch.number,
        title=f"批记录档案 / Batch dossier {batch.number}",
        facts=facts,
        sections=tuple(sections),
        records=tuple(refs),
        time_zone=zone,
    )


def _clinic_sections(journey: Any, zone: str) -> list[Section]:
    where = Q(course__coi__in=_cois(journey))
    units = _objects("clinic.clinicunit", where)
    infusions = _objects("clinic.infusion", where, "performed_by", "unit")
    events = _objects("clinic.adverseevent", where)
    visits = _objects("clinic.followupvisit", where, "recorded_by")
    return [
        Section(
            "临床单元 / Units at the clinic",
            ("DIN", "批号 / Batch", "放行 / Release", "状态 / State", "使用期限 / Use by"),
            tuple((u.unit_id, u.batch_number, u.release, u.state, _local(u.use_by, zone)) for u in units),
        ),
        Section(
            "回输 / Infusions",
            ("单元 / Unit", "开始 / Start", "结束 / End", "体积 / Volume (mL)", "剂量 / Dose", "执行 / By"),
            tuple(
                (
                    i.unit.unit_id,
                    _local(i.started_at, zone),
                    _local(i.ended_at, zone),
                    _text(i.volume_ml),
                    f"{i.car_positive_viable_cells:.3g}",
                    _name(i.performed_by),
                )
                for i in infusions
            ),
        ),
        Section(
            "不良事件 / Adverse events",
            ("编号 / Number", "类别 / Category", "术语 / Term", "发生 / Onset"),
            tuple((e.number, e.category, e.term, _local(e.onset_at, zone)) for e in events),
        ),
        Section(
            "随访 / Follow-up visits",
            ("访视 / Visit", "应访 / Due", "完成 / Done", "记录 / By"),
            tuple((v.key, str(v.due), str(v.done_on), _name(v.recorded_by)) for v in visits),
        ),
    ]


def _trace_section(journey: Any, zone: str) -> Section:
    from cellchain.journeys.selectors import journey_trace

    return Section(
        "身份链与监管链 / Chain of identity and custody",
        ("时间 / Time", "事件 / Event", "内容 / Summary", "人员 / By", "地点 / Where", "结论 / Verdict"),
        tuple(
            (_local(t.at, zone), t.kind, t.summary, t.who, t.where, t.verdict or "—")
            for t in journey_trace(journey)
        ),
    )


def _batches_section(journey: Any, zone: str) -> Section:
    batches = _objects("manufacturing.batch", Q(intake__coi=journey.coi), "product_version__product")
    return Section(
        "制备批次 / Batches made for this journey",
        ("批号 / Batch", "产品 / Product", "状态 / Status", "开始 / Started"),
        tuple(
            (
                b.number,
                f"{b.product_version.product.code} v{b.product_version.version}",
                b.status,
                _local(b.started_at, zone),
            )
            for b in batches
        ),
        note="批次的记录见其批记录档案 / the batch's own records are in its batch dossier",
    )


def journey_content(journey: Any, *, hospital: bool) -> DossierContent:
    """The journey's records the requester's side holds and its summary: identifiers (COI and pseudonym,
    never the patient's identity), the chain of identity and custody, batches, shipments and, for the
    hospital, the clinic's units, infusions, adverse events and follow-up (T-10.4, X-7)."""
    site = journey.hospital_site if hospital else journey.manufacturer_site
    zone = site.time_zone
    refs = journey_records(journey, hospital=hospital)
    facts = (
        ("身份链 / COI", journey.coi_keyboard),
        ("化名 / Pseudonym", journey.pseudonym),
        ("产品 / Product", f"{journey.product_code} {journey.product_name}"),
        ("状态 / Status", journey.status),
        ("医疗机构 / Hospital site", journey.hospital_site.name),
        ("制备场地 / Manufacturing site", journey.manufacturer_site.name),
        ("入组 / Enrolled", _local(journey.enrolled_at, zone)),
    )
    sections = [_trace_section(journey, zone), _batches_section(journey, zone)]
    sections += _shipment_sections(Q(coi__in=_cois(journey)), zone)
    if hospital:
        sections += _clinic_sections(journey, zone)
    sections += [_signature_section(refs, zone), _deviation_section(refs, zone)]
    omitted = (
        () if hospital else ("hospital-only records (consent to follow-up): only the journey's hospital",)
    )
    return DossierContent(
        kind=DossierExport.Kind.JOURNEY,
        subject_id=journey.coi,
        subject_label=f"{journey.coi_keyboard} ({journey.pseudonym})",
        title=f"治疗旅程档案 / Journey dossier {journey.coi_keyboard}",
        facts=facts,
        sections=tuple(sections),
        records=tuple(refs),
        time_zone=zone,
        hospital_side=hospital,
        omitted=omitted,
    )
