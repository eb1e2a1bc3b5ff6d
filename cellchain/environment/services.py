"""Clean-zone records, each in one transaction with its ledger entry (T-5.1.4-c, T-5.1.6, T-5.1.7, G-2).

`area_cleaning_record` logs a cleaning or disinfection; `monitoring_limit_set` sets a site's alert and action limit
for a grade and parameter (never looser than EU GMP Annex 1); `monitoring_result_record` judges a result against
the limit in force, keeps that limit with the result, and opens a deviation for QA when it exceeds the action limit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from cellchain.core import clock
from cellchain.core.errors import NotAllowed, ValidationFailed
from cellchain.core.permissions import has_permission
from cellchain.domain import environment as env
from cellchain.environment.models import (
    AreaCleaning,
    MonitoringLimit,
    MonitoringResult,
    Parameter,
    StoragePlacement,
)
from cellchain.environment.selectors import limit_for
from cellchain.ledger.records import record_amend, record_create
from cellchain.manufacturing.models import MaterialLot, ProductionArea, ProductUnit
from cellchain.manufacturing.services._common import activity_time
from cellchain.quality import services as quality
from cellchain.quality.models import Deviation


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(f"{value!r} is not a number.", field=field) from None
    if not number.is_finite():
        raise ValidationFailed(f"{value!r} is not a number.", field=field)
    return number


def _require(actor: Any, permission: str, what: str) -> None:
    if not has_permission(actor, permission):
        raise NotAllowed(f"Your role may not {what} (T-5.1.6).")


def _own_area(actor: Any, area: ProductionArea) -> None:
    if area.site.organisation_id != actor.organisation_id:
        raise ValidationFailed(f"{area.code} is not an area of your organisation.", field="area")


@transaction.atomic
def area_cleaning_record(
    *, actor: Any, area: ProductionArea, kind: str, agent: str, at: dt.datetime | None = None, note: str = ""
) -> AreaCleaning:
    """Log a cleaning or disinfection of `area` with its agent (T-5.1.6)."""
    _require(actor, "environment.clean", "record cleaning: production or QA does")
    _own_area(actor, area)
    if kind not in AreaCleaning.Kind.values:
        raise ValidationFailed(f"Unknown kind {kind!r}: cleaning, disinfection or sporicide.", field="kind")
    if not agent.strip():
        raise ValidationFailed("Name the agent and its lot (T-5.1.6).", field="agent")
    return record_create(
        actor=actor,
        record=AreaCleaning(
            area=area,
            kind=kind,
            agent=agent.strip(),
            performed_at=activity_time(at),
            entered_at=clock.now(),
            performed_by=actor,
            note=note,
        ),
        event=f"area:{kind}",
    )


@transaction.atomic
def monitoring_limit_set(
    *, actor: Any, site: Any, grade: str, parameter: str, alert: Any, action: Any, reason: str = ""
) -> MonitoringLimit:
    """Set the site's alert and action limit for a grade and parameter; a change needs a reason (T-5.1.6, X-3).
    Refused when negative, alert above action, or looser than EU GMP Annex 1 allows for the grade."""
    _require(actor, "environment.set_limits", "set monitoring limits: QA does")
    if site.organisation_id != actor.organisation_id:
        raise ValidationFailed(f"{site.code} is not a site of your organisation.", field="site")
    if grade not in env.Grade.__members__:
        raise ValidationFailed(f"Unknown cleanliness grade {grade!r}: A, B, C or D.", field="grade")
    if parameter not in Parameter.values:
        raise ValidationFailed(f"Unknown monitoring parameter {parameter!r}.", field="parameter")
    limits = env.Limits(
        env.Grade(grade), env.Parameter(parameter), _decimal(alert, "alert"), _decimal(action, "action")
    )
    problems = env.limits_problems(limits)
    if problems:
        raise ValidationFailed(
            "; ".join(f"{p.message} ({p.clause})" for p in problems),
            field="action" if problems[0].check == "action_above_annex1" else "alert",
        )
    existing = MonitoringLimit.objects.select_for_update().filter(site=site, grade=grade, parameter=parameter)
    row = existing.first()
    if row is None:
        return record_create(
            actor=actor,
            record=MonitoringLimit(
                site=site, grade=grade, parameter=parameter, alert=limits.alert, action=limits.action
            ),
            event="environment:limit",
        )
    row.alert, row.action = limits.alert, limits.action
    record_amend(
        actor=actor, record=row, event="environment:limit", reason=reason, fields=["alert", "action"]
    )
    return row


@transaction.atomic
def monitoring_result_record(
    *,
    actor: Any,
    area: ProductionArea,
    parameter: str,
    value: Any,
    sample_point: str = "",
    at: dt.datetime | None = None,
) -> MonitoringResult:
    """Record an environmental-monitoring result of `area` against the site's limit for its grade; above the
    action limit it is an excursion and opens a deviation for QA (T-5.1.6, G-2). Refused for an unclassified
    area or when the site has set no limit for that grade and parameter: a result with nothing to judge it
    against would look like a pass."""
    _require(actor, "environment.monitor", "record monitoring results: QC or QA does")
    _own_area(actor, area)
    if parameter not in Parameter.values:
        raise ValidationFailed(f"Unknown monitoring parameter {parameter!r}.", field="parameter")
    if not area.grade:
        raise ValidationFailed(
            f"{area.code} has no cleanliness grade: record its grade before monitoring it (T-5.1.3).",
            field="area",
        )
    limit = limit_for(area.site, area.grade, parameter)
    if limit is None:
        raise ValidationFailed(
            f"No alert/action limit is set for grade {area.grade} {Parameter(parameter).label} at "
            f"{area.site.code}; QA sets it first (T-5.1.6).",
            field="parameter",
        )
    measured = _decimal(value, "value")
    if measured < 0:
        raise ValidationFailed("A monitoring result cannot be negative.", field="value")
    limits = env.Limits(env.Grade(area.grade), env.Parameter(parameter), limit.alert, limit.action)
    outcome = env.monitoring_outcome(measured, limits)
    sampled_at = activity_time(at)
    result = record_create(
        actor=actor,
        record=MonitoringResult(
            area=area,
            grade=area.grade,
            parameter=parameter,
            sample_point=sample_point.strip(),
            value=measured,
            alert=limit.alert,
            action=limit.action,
            outcome=outcome.value,
            sampled_at=sampled_at,
            entered_at=clock.now(),
            recorded_by=actor,
        ),
        event=f"environment:result:{outcome.value}",
    )
    if outcome is env.Outcome.ACTION:
        result.deviation = quality.deviation_open(
            actor=actor,
            site=area.site,
            kind=Deviation.Kind.ENVIRONMENT,
            title=f"{area.code} grade {area.grade}: {Parameter(parameter).label} {measured} above action limit "
            f"{limit.action}",
            description=(
                f"Environmental monitoring of {area.code} ({sample_point or 'no sample point given'}) at "
                f"{sampled_at.isoformat()}: {measured} against alert {limit.alert} / action {limit.action} "
                "(T-5.1.6). Assess the batches in the area at that time."
            ),
            subject=result,
            blocks_subject=False,
        )
        record_amend(
            actor=actor,
            record=result,
            event="environment:excursion",
            reason="deviation opened",
            fields=["deviation"],
        )
    return result


@transaction.atomic
def storage_place(
    *,
    actor: Any,
    area: ProductionArea,
    lot: MaterialLot | None = None,
    unit: ProductUnit | None = None,
    position: str = "",
) -> StoragePlacement:
    """Put a vector lot or a cell unit into a storage area; a vector lot only into virus storage, cells only
    into cell storage (T-5.1.4-c). A lot that is not a vector is not tracked here."""
    _require(actor, "environment.store", "place material in storage: production, QC or QA does")
    _own_area(actor, area)
    if (lot is None) == (unit is None):
        raise ValidationFailed("Place one item: a vector lot or a cell unit.", field="lot")
    if lot is not None and not lot.is_vector:
        raise ValidationFailed(
            f"{lot} is not a viral vector lot: only vectors and cells are placed here.", field="lot"
        )
    what, item = (env.Stored.VECTOR, str(lot)) if lot is not None else (env.Stored.CELLS, str(unit))
    gate = env.storage_placement_check(what, item, area=area.code, purpose=area.purpose)
    if not gate.allowed:
        raise ValidationFailed(gate.findings[0].message, field="area")
    return record_create(
        actor=actor,
        record=StoragePlacement(
            area=area, lot=lot, unit=unit, position=position.strip(), placed_at=clock.now(), placed_by=actor
        ),
        event=f"storage:place:{what.value}",
    )
