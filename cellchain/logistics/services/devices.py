"""The hospital's register of temperature-monitoring devices and their calibration (T-8.1.2-c, T-10.12).

The rule whether a device may be selected in a record is the equipment rule of the facility domain
(`cellchain.domain.facility.equipment_use_check`): out of service, no calibration on record, or calibration
overdue -> it cannot be selected.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.ledger.records import record_amend, record_create
from cellchain.logistics.models import MonitoringDevice
from cellchain.logistics.selectors import device_gate


def require_usable_device(device: MonitoringDevice, what: str) -> None:
    """Refuse a device out of service or overdue for calibration, naming the due date (T-8.1.2-c, T-10.12)."""
    gate = device_gate(device, clock.now().date())
    if not gate.allowed:
        raise ValidationFailed(
            f"T-10.12: device {device.code} cannot be used for {what}: "
            + "; ".join(f.message for f in gate.findings)
            + ". Calibrate it or choose another device.",
            field="monitoring_device",
        )


def _require_hospital_site(actor: Any) -> None:
    if actor.site is None or not actor.is_hospital_user:
        raise NotAllowed("The device register is kept by the hospital site's own staff.")


def _require_own(actor: Any, device: MonitoringDevice) -> None:
    if device.site_id != actor.site_id:
        raise NotAllowed(f"Device {device.code} belongs to another site.")


@transaction.atomic
def monitoring_device_register(
    *,
    actor: Any,
    code: str,
    kind: str,
    name: str,
    calibrated_on: dt.date | None = None,
    calibration_due: dt.date | None = None,
    calibration_certificate: str = "",
) -> MonitoringDevice:
    """Add a temperature-monitoring device to the actor's hospital site register (T-8.1.2-c, T-10.12)."""
    _require_hospital_site(actor)
    if kind not in MonitoringDevice.Kind.values:
        raise ValidationFailed(f"Unknown device kind {kind!r}.", field="kind")
    if not code.strip():
        raise ValidationFailed("Give the device ID or serial.", field="code")
    if calibrated_on is not None and calibration_due is not None and calibration_due <= calibrated_on:
        raise ValidationFailed(
            "The calibration due date must be after the calibration.", field="calibration_due"
        )
    if MonitoringDevice.objects.filter(site=actor.site, code=code.strip()).exists():
        raise Conflict(f"Device {code.strip()} is registered already at {actor.site.name}.", field="code")
    device = MonitoringDevice(site=actor.site, code=code.strip(), kind=kind, name=name.strip(),
                              calibrated_on=calibrated_on, calibration_due=calibration_due,
                              calibration_certificate=calibration_certificate.strip(), created_at=clock.now(),
                              created_by=actor)  # fmt: skip
    device.full_clean()
    record_create(actor=actor, record=device, event="monitoring_device:register")
    return device


@transaction.atomic
def monitoring_device_calibrate(
    *,
    actor: Any,
    device: MonitoringDevice,
    calibrated_on: dt.date,
    calibration_due: dt.date,
    certificate: str,
) -> MonitoringDevice:
    """Record a calibration (计量校验): the date, the certificate and the next due date (T-10.12).

    The previous due date stays in the ledger. A calibration in the future or a due date not after it is
    refused.
    """
    _require_hospital_site(actor)
    _require_own(actor, device)
    if calibrated_on > clock.now().date():
        raise ValidationFailed("The calibration date cannot be in the future.", field="calibrated_on")
    if calibration_due <= calibrated_on:
        raise ValidationFailed(
            "The calibration due date must be after the calibration.", field="calibration_due"
        )
    if not certificate.strip():
        raise ValidationFailed("Give the calibration certificate number.", field="certificate")
    device = MonitoringDevice.objects.select_for_update().get(pk=device.pk)
    device.calibrated_on, device.calibration_due = calibrated_on, calibration_due
    device.calibration_certificate = certificate.strip()[:120]
    record_amend(
        actor=actor,
        record=device,
        event="monitoring_device:calibrate",
        reason=f"calibrated on {calibrated_on.isoformat()}, certificate {device.calibration_certificate}, "
        f"next due {calibration_due.isoformat()}",
    )
    return device


@transaction.atomic
def monitoring_device_set_in_service(
    *, actor: Any, device: MonitoringDevice, in_service: bool, reason: str
) -> MonitoringDevice:
    """Take a device out of service or put it back, with the reason (T-10.12 working status)."""
    _require_hospital_site(actor)
    _require_own(actor, device)
    if not reason.strip():
        raise ValidationFailed("Say why the device's working status changes.", field="reason")
    device = MonitoringDevice.objects.select_for_update().get(pk=device.pk)
    if device.in_service == in_service:
        state = "in service" if in_service else "out of service"
        raise Conflict(f"Device {device.code} is {state} already.")
    device.in_service = in_service
    event = "monitoring_device:in_service" if in_service else "monitoring_device:out_of_service"
    record_amend(actor=actor, record=device, event=event, reason=reason.strip())
    return device
