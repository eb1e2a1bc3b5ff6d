"""QC samples and results, by hand or from instrument files, with OOS investigations and the late
compendial positive (Q-2-a..g, Q-2.1, Q-2.5-c, REGULATORY items 6, 14)."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.db import transaction

from cellchain.accounts.models import Site
from cellchain.accounts.roles import Role
from cellchain.accounts.services import require_qualification
from cellchain.core import clock
from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.domain import specification as specs
from cellchain.domain.release_followup import (
    ActionKind,
    FollowUp,
    ReleaseState,
    UnitPosition,
    compendial_positive_actions,
    result_follow_ups,
)
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing.models import Batch, ProductUnit
from cellchain.manufacturing.selectors import product_definition
from cellchain.manufacturing.services import batch_status_set, product_unit_status_set
from cellchain.manufacturing.services._common import activity_time, require_role
from cellchain.qc import selectors
from cellchain.qc.messages import announce_late_result, announce_recall
from cellchain.qc.models import AnalyticalMethod, QcResult, QcSample, RawDataFile, RecallHold
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open, notification_send

RELEASED_STATES = {
    Batch.Status.CONDITIONALLY_RELEASED: ReleaseState.CONDITIONALLY_RELEASED,
    Batch.Status.RELEASED: ReleaseState.RELEASED,
}


@transaction.atomic
def method_register(
    *,
    actor: Any,
    code: str,
    name_zh: str,
    name_en: str,
    standing: str,
    rapid: bool = False,
    instrument: str = "",
    stain: str = "",
) -> AnalyticalMethod:
    """Add a method to the method master with its standing (Q-2-c); rapid methods must be validated (Q-2.5-a)."""
    require_role(actor, Role.QA)
    if standing not in AnalyticalMethod.Standing.values:
        raise ValidationFailed(f"Unknown standing {standing!r}.", field="standing")
    if rapid and standing != AnalyticalMethod.Standing.VALIDATED:
        raise ValidationFailed(
            "A rapid method is used only once validated against the compendial one (Q-2.5-a).",
            field="standing",
        )
    method = record_create(
        actor=actor,
        record=AnalyticalMethod(
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            standing=standing,
            rapid=rapid,
            instrument=instrument,
            stain=stain,
        ),
        event="method:register",
    )
    return method


@transaction.atomic
def sample_take(*, actor: Any, batch: Batch, sampling_point: str, at: dt.datetime | None = None) -> QcSample:
    """Register a QC sample with its identifier (T-10.11)."""
    require_role(actor, Role.QC_ANALYST, Role.PRODUCTION_OPERATOR)
    if not sampling_point.strip():
        raise ValidationFailed("Give the sampling point.", field="sampling_point")
    number = batch.qc_samples.count() + 1
    sample = record_create(
        actor=actor,
        record=QcSample(
            batch=batch,
            identifier=f"{batch.number}-S{number:02d}",
            sampling_point=sampling_point.strip(),
            taken_at=activity_time(at, not_before=batch.started_at),
            taken_by=actor,
        ),
        event="sample:take",
    )
    return sample


@transaction.atomic
def raw_file_store(*, actor: Any, name: str, reader: str, content: bytes) -> RawDataFile:
    """Keep an instrument file as received with its SHA-256 (REGULATORY item 14)."""
    raw = record_create(
        actor=actor,
        record=RawDataFile(
            name=name[:255],
            reader=reader,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            content=content,
            uploaded_at=clock.now(),
            uploaded_by=actor,
        ),
        event="rawfile:store",
    )
    return raw


def raw_file_content(raw: RawDataFile) -> bytes:
    """The stored bytes, after recomputing their hash against the ledgered one (REGULATORY item 14)."""
    content = bytes(raw.content)
    if hashlib.sha256(content).hexdigest() != raw.sha256:
        raise Conflict(f"Raw file {raw.name} no longer matches its recorded SHA-256: it was altered.")
    return content


def _spec_item(batch: Batch, item_code: str) -> specs.SpecItem:
    spec = product_definition(batch.product_version).specification
    try:
        return spec.item(item_code)
    except KeyError:
        raise ValidationFailed(
            f"The specification of {batch.number} has no test {item_code!r}.", field="item_code"
        ) from None


def _check_value(item: specs.SpecItem, status: str, value: Decimal | None, outcome: str) -> None:
    if status == QcResult.Status.ORDERED:
        return
    if isinstance(item.criterion, specs.NumericLimit) and value is None:
        raise ValidationFailed(f"{item.code} needs a numeric value.", field="value")
    if isinstance(item.criterion, specs.QualitativeLimit) and outcome not in QcResult.Outcome.values:
        raise ValidationFailed(
            f"{item.code} needs an outcome (negative, positive, conforms...).", field="outcome"
        )


@transaction.atomic
def result_record(
    *,
    actor: Any,
    batch: Batch,
    item_code: str,
    value: Decimal | None = None,
    outcome: str = "",
    status: str = QcResult.Status.FINAL,
    method: AnalyticalMethod | None = None,
    sample: QcSample | None = None,
    instrument: str = "",
    issuing_lab: str = "",
    third_party: bool = False,
    details: dict[str, Any] | None = None,
    raw_file: RawDataFile | None = None,
    performed_at: dt.datetime | None = None,
    reason: str = "",
) -> QcResult:
    """Record a result (or an ordered test) for one specification item and judge it. Out of specification
    opens an OOS investigation; a positive sterility/mycoplasma also a deviation (Q-2-e); a compendial
    positive after a (conditional) release starts the recall/hold (Q-2.5-c). A retest needs a reason."""
    require_role(actor, Role.QC_ANALYST)
    require_qualification(actor, "qc_testing")
    if batch.status == Batch.Status.REJECTED:
        raise Conflict(f"Batch {batch.number} is rejected; no further results are recorded.")
    item = _spec_item(batch, item_code)
    method = method or AnalyticalMethod.objects.get(code=item.method.code)
    _check_value(item, status, value, outcome)
    current = selectors.current_results(batch).filter(item_code=item_code).first()
    if current is not None and current.status == QcResult.Status.FINAL and not reason.strip():
        raise ValidationFailed(
            f"{item_code} already has a result ({current.value or current.outcome}); a retest "
            "needs a reason.",
            field="reason",
        )
    if current is not None:
        current.is_current = False  # first, so the new row can take the "one current result" place
        record_amend(
            actor=actor,
            record=current,
            event="qc_result:retest",
            reason=reason.strip() or "replaced by a new result",
            fields=["is_current"],
        )
    row = _result_create(
        actor,
        batch,
        item,
        method,
        status,
        value,
        outcome,
        sample,
        instrument,
        issuing_lab,
        third_party,
        details,
        raw_file,
        performed_at,
    )
    if current is not None:
        current.superseded_by = row
        record_amend(
            actor=actor,
            record=current,
            event="result:supersede",
            reason=reason.strip() or "ordered test resulted",
            fields=["superseded_by"],
        )
    _follow_up(actor, batch, item, row)
    return row


def _result_create(
    actor: Any,
    batch: Batch,
    item: specs.SpecItem,
    method: AnalyticalMethod,
    status: str,
    value: Decimal | None,
    outcome: str,
    sample: QcSample | None,
    instrument: str,
    issuing_lab: str,
    third_party: bool,
    details: dict[str, Any] | None,
    raw_file: RawDataFile | None,
    performed_at: dt.datetime | None,
) -> QcResult:
    row = QcResult(
        batch=batch,
        sample=sample,
        item_code=item.code,
        method=method,
        method_standing=method.standing,
        status=status,
        value=value,
        outcome=outcome if status == QcResult.Status.FINAL else "",
        unit=item.criterion.unit if isinstance(item.criterion, specs.NumericLimit) else "",
        instrument=instrument or method.instrument,
        issuing_lab=issuing_lab,
        third_party=third_party,
        details=details or {},
        raw_file=raw_file,
        performed_at=activity_time(performed_at),
        performed_by=actor,
        verdict="",
    )
    row.verdict = specs.judge_result(item, selectors.result_to_domain(row)).verdict.value
    record_create(actor=actor, record=row, event="result:record")
    return row


@transaction.atomic
def result_amend(
    *, actor: Any, result: QcResult, reason: str, value: Decimal | None = None, outcome: str | None = None
) -> QcResult:
    """Correct an entered value with a reason; the result is marked as changed after first entry and the
    certificate shows the mark (X-3, REGULATORY item 6)."""
    require_role(actor, Role.QC_ANALYST)
    if not reason.strip():
        raise ValidationFailed("A reason for the change is required.", field="reason")
    if not result.is_current or result.voided_at is not None:
        raise Conflict("Only the current result can be corrected.")
    item = _spec_item(result.batch, result.item_code)
    if value is not None:
        result.value = value
    if outcome is not None:
        result.outcome = outcome
    _check_value(item, result.status, result.value, result.outcome)
    result.amended = True
    result.verdict = specs.judge_result(item, selectors.result_to_domain(result)).verdict.value
    record_amend(actor=actor, record=result, event="result:amend", reason=reason)
    if result.investigation_id is None:
        _follow_up(actor, result.batch, item, result)
    return result


def _follow_up(actor: Any, batch: Batch, item: specs.SpecItem, row: QcResult) -> None:
    verdict = specs.judge_result(item, selectors.result_to_domain(row))
    follow_ups = result_follow_ups(verdict)
    if FollowUp.OOS_INVESTIGATION in follow_ups:
        row.investigation = deviation_open(
            actor=actor,
            site=batch.site,
            kind=Deviation.Kind.OOS,
            title=f"OOS {batch.number} {item.code}: {verdict.shown} against {verdict.limit}",
            description=f"{verdict.finding.message if verdict.finding else ''} ({item.method.name}).",
            subject=row,
        )
        record_amend(
            actor=actor,
            record=row,
            event="result:oos",
            reason=row.investigation.number,
            fields=["investigation"],
        )
    if FollowUp.DEVIATION in follow_ups:
        deviation_open(
            actor=actor,
            site=batch.site,
            kind=Deviation.Kind.PROCESS,
            title=f"Contamination: {item.assay.value} positive in {batch.number} ({item.code})",
            description="A positive sterility or mycoplasma result (Q-2-e, G-2).",
            subject=batch,
            blocks_subject=False,
        )
    _after_release(actor, batch, item, row, verdict)


def _after_release(
    actor: Any, batch: Batch, item: specs.SpecItem, row: QcResult, verdict: specs.ItemVerdict
) -> None:
    state = RELEASED_STATES.get(Batch.Status(batch.status))
    late = item.assay in specs.RAPID_RELEASE_ASSAYS and item.method.status is specs.MethodStatus.COMPENDIAL
    if state is None or not late or row.status != QcResult.Status.FINAL:
        return
    announce_late_result(actor, row)  # issue 12 item 2, Q-2.5-c: to the hospital's installation
    if verdict.verdict is specs.Verdict.DOES_NOT_CONFORM:
        _compendial_positive(actor, batch, item, row, state)
    elif not selectors.current_results(batch).filter(status=QcResult.Status.ORDERED).exists():
        notification_send(
            actor=actor,
            organisation=batch.site.organisation,
            site=batch.site,
            role=Role.QA,
            subject=f"{batch.number}: compendial results complete",
            body="All compendial tests pending at the conditional release have conforming results; "
            "QA can confirm the full release.",
            about=batch,
        )


def _compendial_positive(
    actor: Any, batch: Batch, item: specs.SpecItem, row: QcResult, state: ReleaseState
) -> None:
    """Carry out the consequences of a late compendial positive (Q-2.5-c)."""
    units = list(batch.units.filter(purpose=ProductUnit.Purpose.PATIENT).select_related("holder_site"))
    positions = [
        UnitPosition(u.din, str(u.holder_site_id), u.status == ProductUnit.Status.INFUSED) for u in units
    ]
    actions = compendial_positive_actions(item, batch.number, state, positions)
    by_din = {u.din: u for u in units}
    done: list[dict[str, str]] = []
    for action in actions:
        done.append(
            {
                "kind": action.kind.value,
                "target": action.target,
                "ref": _carry_out(actor, batch, action, by_din),
            }
        )
    clinic = batch.intake.collection_site
    if not any(a["kind"] == ActionKind.ALERT_HOLDER and a["target"] == str(clinic.pk) for a in done):
        done.append(
            {
                "kind": ActionKind.ALERT_HOLDER.value,
                "target": str(clinic.pk),
                "ref": _alert_site(actor, batch, clinic, actions[0].reason),
            }
        )
    recall = record_create(
        actor=actor,
        record=RecallHold(
            batch=batch, result=row, reason=actions[0].reason, actions=done, started_at=clock.now()
        ),
        event="batch:recall_hold",
    )
    announce_recall(actor, recall)  # issue 12 item 2, Q-2.5-c: to the hospital's installation


def _carry_out(actor: Any, batch: Batch, action: Any, by_din: dict[str, ProductUnit]) -> str:
    """Do one action and return what it produced (notification, deviation number, new status)."""
    return _HANDLERS[action.kind](actor, batch, action, by_din)


def _alert_qa(actor: Any, batch: Batch, action: Any, _units: dict[str, ProductUnit]) -> str:
    note = notification_send(
        actor=actor,
        organisation=batch.site.organisation,
        site=batch.site,
        role=Role.QA,
        subject=f"URGENT {batch.number}: {action.reason}",
        body=_alert_body(batch),
        about=batch,
    )
    return f"notification {note.pk}"


def _open_deviation(actor: Any, batch: Batch, action: Any, _units: dict[str, ProductUnit]) -> str:
    return deviation_open(
        actor=actor,
        site=batch.site,
        kind=Deviation.Kind.OOS,
        title=action.reason[:200],
        description=_alert_body(batch),
        subject=batch,
        notify_qa=False,
    ).number


def _hold(actor: Any, batch: Batch, action: Any, _units: dict[str, ProductUnit]) -> str:
    batch_status_set(
        actor=actor, batch=batch, status=Batch.Status.ON_HOLD, reason=action.reason, event="batch:hold"
    )
    return str(batch.status)


def _alert_holder(actor: Any, batch: Batch, action: Any, _units: dict[str, ProductUnit]) -> str:
    return _alert_site(actor, batch, Site.objects.get(pk=int(action.target)), action.reason)


def _quarantine(actor: Any, batch: Batch, action: Any, units: dict[str, ProductUnit]) -> str:
    product_unit_status_set(
        actor=actor, unit=units[action.target], status=ProductUnit.Status.QUARANTINED, reason=action.reason
    )
    return str(ProductUnit.Status.QUARANTINED)


def _safety_record(actor: Any, batch: Batch, action: Any, units: dict[str, ProductUnit]) -> str:
    return deviation_open(
        actor=actor,
        site=batch.site,
        kind=Deviation.Kind.SAFETY,
        title=f"Patient safety: infused unit {action.target} of {batch.number}",
        description=action.reason,
        subject=units[action.target],
        blocks_subject=False,
    ).number


_HANDLERS = {
    ActionKind.ALERT_MANUFACTURER_QA: _alert_qa,
    ActionKind.OPEN_DEVIATION: _open_deviation,
    ActionKind.START_RECALL_HOLD: _hold,
    ActionKind.ALERT_HOLDER: _alert_holder,
    ActionKind.QUARANTINE_UNIT: _quarantine,
    ActionKind.PATIENT_SAFETY_RECORD: _safety_record,
}
"""How each consequence of a late compendial positive is carried out (Q-2.5-c)."""


def _alert_site(actor: Any, batch: Batch, site: Site, reason: str) -> str:
    note = notification_send(
        actor=actor,
        organisation=site.organisation,
        site=site,
        subject=f"URGENT product hold: batch {batch.number}",
        body=f"{reason}. {_alert_body(batch)}",
        about=batch,
    )
    return f"notification {note.pk}"


def _alert_body(batch: Batch) -> str:
    return (
        f"Batch {batch.number} (COI {batch.intake.coi}) was released before its compendial sterility/mycoplasma "
        "result, which is now positive. Do not use uninfused units: they are quarantined. For infused units a "
        "patient-safety record is open; contact the manufacturer's QA (Q-2.5-c)."
    )
