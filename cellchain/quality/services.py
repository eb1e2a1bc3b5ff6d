"""Open and disposition deviations; send and acknowledge notifications (one transaction each, with the ledger).

A deviation is closed only in cellchain.capa.services.deviation_close: by QA with an e-signature, once its
investigation, CAPA actions and effectiveness check are complete (issue 13 item 4; T-6.4-f, T-9.3.2).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.mail import send_mail
from django.db import transaction

from cellchain.accounts.models import Organisation, Site
from cellchain.accounts.roles import Role
from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.core.numbering import number_next
from cellchain.core.permissions import user_roles
from cellchain.domain.backoff import retry_delay_seconds
from cellchain.ledger.records import record_amend, record_create
from cellchain.quality.models import Deviation, EmailNotification, Notification

logger = logging.getLogger(__name__)


def _next_number(site: Site) -> str:
    year = clock.now().year
    prefix = f"DEV-{site.code.upper()[:8]}-{year}-"
    issued = number_next(prefix, issued_before=Deviation.objects.filter(number__startswith=prefix).count)
    return f"{prefix}{issued:05d}"


@transaction.atomic
def deviation_open(
    *,
    actor: Any | None,
    site: Site,
    kind: str,
    title: str,
    description: str,
    subject: Any | None = None,
    blocks_subject: bool = True,
    notify_qa: bool = True,
) -> Deviation:
    """Open a deviation about `subject` (any regulated record) and tell the site's QA."""
    if kind not in Deviation.Kind.values:
        raise ValidationFailed(f"Unknown deviation kind {kind!r}.", field="kind")
    deviation = record_create(
        actor=actor,
        record=Deviation(
            number=_next_number(site),
            kind=kind,
            title=title[:200],
            description=description,
            site=site,
            subject_type=subject.ledger_record_type() if subject is not None else "",
            subject_id=str(subject.pk) if subject is not None else "",
            blocks_subject=blocks_subject,
            opened_at=clock.now(),
            opened_by=actor if actor is not None and getattr(actor, "pk", None) else None,
        ),
        event=f"deviation:open:{kind}",
    )
    if notify_qa:
        notification_send(
            actor=actor,
            organisation=site.organisation,
            site=site,
            role=Role.QA,
            subject=f"{deviation.number}: {deviation.title}",
            body=description,
            about=deviation,
        )
    return deviation


def open_blocking_deviations(subject: Any) -> list[Deviation]:
    """Return the open deviations that block `subject` (a step cannot complete while any exists)."""
    return list(
        Deviation.objects.filter(
            subject_type=subject.ledger_record_type(),
            subject_id=str(subject.pk),
            blocks_subject=True,
            voided_at__isnull=True,
        ).exclude(status__in=[Deviation.Status.DISPOSITIONED, Deviation.Status.CLOSED])
    )


@transaction.atomic
def deviation_disposition(
    *, actor: Any, deviation: Deviation, investigation: str, disposition: str, capa: str = ""
) -> Deviation:
    """QA records the investigation and disposition; only then is the subject released from the block."""
    if Role.QA not in user_roles(actor):
        raise NotAllowed("Only quality assurance can disposition a deviation.")
    if deviation.status != Deviation.Status.OPEN:
        raise Conflict(f"{deviation.number} is already {deviation.get_status_display()}.")
    if not investigation.strip() or not disposition.strip():
        raise ValidationFailed(
            "Both the investigation and the disposition are required.", field="disposition"
        )
    deviation.investigation, deviation.disposition, deviation.capa = investigation, disposition, capa
    deviation.status = Deviation.Status.DISPOSITIONED
    deviation.dispositioned_at, deviation.dispositioned_by = clock.now(), actor
    record_amend(actor=actor, record=deviation, event="deviation:disposition", reason="disposition recorded")
    return deviation


def identity_deviation_tell_manufacturer(
    *, actor: Any | None, deviation: Deviation, manufacturer: Site, about: str
) -> None:
    """Tell the manufacturer's QA of an identity deviation recorded at a partner's site (G-4, T-10.4).

    `deviation_open` has told the recording site's own QA; when the manufacturer is another organisation its
    QA must investigate too. `about` names what was mixed up (a COI, a shipment number).
    """
    if manufacturer.organisation_id == deviation.site.organisation_id:
        return
    notification_send(
        actor=actor,
        organisation=manufacturer.organisation,
        site=manufacturer,
        role=Role.QA,
        subject=f"{deviation.number}: identity mismatch ({about})",
        body=deviation.description,
        about=deviation,
    )


@transaction.atomic
def notification_send(
    *,
    actor: Any | None,
    organisation: Organisation,
    subject: str,
    body: str,
    site: Site | None = None,
    role: str = "",
    about: Any | None = None,
    email: bool = True,
) -> Notification:
    """Record a message to an organisation and e-mail its users after commit (never inside the transaction)."""
    note = record_create(
        actor=actor,
        record=Notification(
            recipient_organisation=organisation,
            recipient_site=site,
            recipient_role=role,
            subject=subject[:200],
            body=body,
            subject_type=about.ledger_record_type() if about is not None else "",
            subject_id=str(about.pk) if about is not None else "",
            sent_at=clock.now(),
            sent_by=actor if actor is not None and getattr(actor, "pk", None) else None,
        ),
        event="notification:send",
    )
    if email:
        outbox = _email_queue(note)
        if outbox is not None:
            transaction.on_commit(lambda: email_deliver(outbox))
    return note


def _email_queue(note: Notification) -> EmailNotification | None:
    """Write the e-mail of a notification to the outbox, in the notification's transaction (issue 15)."""
    users = note.recipient_organisation.users.filter(is_active=True).exclude(email="")
    if note.recipient_site_id:
        users = users.filter(site_id=note.recipient_site_id)
    if note.recipient_role:
        users = users.filter(
            role_assignments__role=note.recipient_role, role_assignments__revoked_at__isnull=True
        )
    addresses = sorted({u.email for u in users})
    if not addresses:
        return None
    now = clock.now()
    return EmailNotification.objects.create(
        notification=note,
        to="\n".join(addresses),
        subject=f"[CellChain] {note.subject}",
        body=note.body,
        created_at=now,
        next_attempt_at=now,
    )


EMAIL_RETRY_FIRST_SECONDS = 60
EMAIL_RETRY_MAX_SECONDS = 6 * 3600


def email_retry_delay(attempts: int) -> dt.timedelta:
    """Back-off after the n-th failed attempt: 1 min, 2 min, 4 min ... at most 6 h (issue 15)."""
    return dt.timedelta(
        seconds=retry_delay_seconds(
            attempts, first_seconds=EMAIL_RETRY_FIRST_SECONDS, cap_seconds=EMAIL_RETRY_MAX_SECONDS
        )
    )


def email_deliver(outbox: EmailNotification) -> bool:
    """Send one outbox e-mail; a failure is recorded with its error and the time of the next try."""
    outbox.attempts += 1
    try:
        send_mail(outbox.subject, outbox.body, None, outbox.addresses)
    except Exception as exc:  # any backend failure (SMTP, DNS, refused) is recorded, never swallowed
        outbox.status = EmailNotification.Status.FAILED
        outbox.last_error = f"{type(exc).__name__}: {exc}"[:500]
        outbox.next_attempt_at = clock.now() + email_retry_delay(outbox.attempts)
        logger.warning("notification e-mail %s failed (attempt %s): %s", outbox.pk, outbox.attempts, exc)
        ok = False
    else:
        outbox.status = EmailNotification.Status.SENT
        outbox.sent_at = clock.now()
        outbox.last_error = ""
        ok = True
    outbox.save(update_fields=["attempts", "status", "last_error", "next_attempt_at", "sent_at"])
    return ok


def emails_retry(limit: int = 200) -> tuple[int, int]:
    """Send the outbox e-mails that are due (pending or failed, next attempt reached); returns (sent, failed)."""
    due = EmailNotification.objects.filter(
        status__in=[EmailNotification.Status.PENDING, EmailNotification.Status.FAILED],
        next_attempt_at__lte=clock.now(),
    ).order_by("next_attempt_at", "pk")[:limit]
    sent = failed = 0
    for outbox in due:
        if email_deliver(outbox):
            sent += 1
        else:
            failed += 1
    return sent, failed


@transaction.atomic
def notification_acknowledge(*, actor: Any, notification: Notification) -> Notification:
    """A named person of the recipient organisation acknowledges the message."""
    if actor.organisation_id != notification.recipient_organisation_id:
        raise NotAllowed("Only the receiving organisation can acknowledge this notification.")
    if notification.acknowledged_at is not None:
        raise Conflict("This notification was already acknowledged.")
    notification.acknowledged_at, notification.acknowledged_by = clock.now(), actor
    record_amend(
        actor=actor,
        record=notification,
        event="notification:acknowledge",
        reason="acknowledged",
        fields=["acknowledged_at", "acknowledged_by"],
    )
    return notification


# --------------------------------------------------------------------------- received safety reports


def _our_deviation_site(journey: Any) -> Site:
    """Where a deviation about a received AE is opened: the journey's manufacturing site, else a site of
    this installation's organisation (CELLCHAIN_INSTALLATION_ORGANISATION), else our first manufacturer site."""
    from cellchain.core import installation

    if journey is not None:
        return journey.manufacturer_site  # type: ignore[no-any-return]
    sites = Site.objects.select_related("organisation").order_by("pk")
    code = installation.organisation_code()
    found = (sites.filter(organisation__code=code).first() if code else None) or sites.filter(
        organisation__kind=Organisation.Kind.MANUFACTURER
    ).first()
    if found is None:
        raise ValidationFailed(
            "No manufacturer site here to open the safety deviation at; set CELLCHAIN_INSTALLATION_ORGANISATION "
            "(issue 12 item 2, T-7.10)."
        )
    return found


def _journey_of(coi: str) -> Any:
    """Our journey of that COI (with or without its check character), or None."""
    from django.db.models import Q

    from cellchain.journeys.models import Journey

    for journey in Journey.objects.filter(Q(coi=coi) | Q(coi=coi[:-1])).select_related("hospital_site"):
        if coi in (journey.coi, journey.coi_keyboard):
            return journey
    return None


def safety_report_receive(
    *, actor: Any | None, partner: Any, form: str, report: Any, event_id: str, body_sha256: str
) -> Any:
    """Keep a hospital's adverse-event report in the register of received safety reports (issue 12 item 2;
    T-7.10, T-7.10-d, T-10.8), in the receiving transaction.

    Refused at a hospital-only installation (NotAllowed: it keeps no manufacturer's safety register, the
    message is quarantined). The same event id from the same partner again returns the row already kept. A
    COI that is not one of our journeys is kept and flagged. A serious report opens one safety deviation per
    AE (partner + AE number): a follow-up, or the second form of the same report, links to the first."""
    from cellchain.clinic.reporting.messages import event_id_parts
    from cellchain.core import installation
    from cellchain.exchange.models import Partner
    from cellchain.quality.models import SafetyReport

    if installation.role() == installation.HOSPITAL:
        raise NotAllowed(
            f"{event_id}: this is a hospital-only installation; adverse-event reports are received by the "
            "manufacturer's installation (issue 12 item 2, T-7.10)."
        )
    Partner.objects.select_for_update().filter(pk=partner.pk).first()  # one AE's reports one at a time
    earlier = SafetyReport.objects.filter(partner=partner, event_id=event_id).first()
    if earlier is not None:
        if earlier.body_sha256 != body_sha256:
            raise Conflict(
                f"{event_id} was received before with another body; refused as a replay or forgery."
            )
        return earlier
    journey = _journey_of(report.coi)
    flags: list[str] = []
    if journey is None:
        flags.append("unknown_coi")
    elif partner.organisation_id and journey.hospital_site.organisation_id != partner.organisation_id:
        flags.append("coi_of_another_hospital")
    parts = event_id_parts(event_id)
    sequence = parts[1] if parts is not None and parts[0] == report.number else None
    if parts is not None and parts[0] != report.number:
        flags.append("event_id_names_another_ae")
    first_of_report = not SafetyReport.objects.filter(
        partner=partner, ae_number=report.number, sequence=sequence
    ).exists()
    safety = record_create(
        actor=actor,
        record=SafetyReport(
            partner=partner,
            event_id=event_id,
            form=form,
            body_sha256=body_sha256,
            ae_number=report.number,
            sequence=sequence,
            coi=report.coi,
            journey=journey,
            pseudonym=journey.pseudonym if journey is not None else "",
            coi_known=journey is not None,
            flags=flags,
            term=report.term[:200],
            category=report.category,
            grade=report.grade,
            serious=report.serious,
            life_threatening=report.life_threatening,
            fatal=report.fatal,
            outcome=report.outcome,
            din=report.din or "",
            batch=report.batch or "",
            onset_at=report.onset_at,
            awareness_at=report.awareness_at,
            reporter_site=(report.reporter_site or "")[:60],
            received_at=clock.now(),
        ),
        event=f"safety_report:receive:{form}",
        extra={"sender": partner.log_id, "event_id": event_id, "flags": flags},
    )
    site = _our_deviation_site(journey)
    if first_of_report or sequence is None:  # T-7.10-c: our QA is told once per report, not per form
        notification_send(
            actor=actor,
            organisation=site.organisation,
            site=site,
            role=Role.QA,
            subject=f"{report.number}: {report.term}, grade {report.grade} — from {partner.name}"[:200],
            body=(
                (
                    "Follow-up " + str(sequence) + " of an adverse-event report"
                    if sequence and sequence > 1
                    else "Adverse-event report"
                )
                + f" received from {partner.name}: COI {report.coi}"
                + (f" ({journey.pseudonym})" if journey is not None else " — not one of our journeys")
                + f", {'serious' if report.serious else 'non-serious'}, outcome {report.outcome}, onset "
                f"{report.onset_at.isoformat()}. See the register of received safety reports (T-7.10, T-9.2.7)."
            ),
            about=safety,
        )
    if not report.serious:
        return safety
    opened = (
        SafetyReport.objects.filter(partner=partner, ae_number=report.number, deviation__isnull=False)
        .select_related("deviation")
        .first()
    )
    if opened is not None:
        safety.deviation = opened.deviation
        how = "linked to the deviation opened for this AE"
    else:
        where = f"COI {report.coi}" + (
            f" ({journey.pseudonym})" if journey is not None else " (unknown here)"
        )
        safety.deviation = deviation_open(
            actor=actor,
            site=site,
            kind=Deviation.Kind.SAFETY,
            title=f"Serious adverse event {report.number}: {report.term}, grade {report.grade}"[:200],
            description=(
                f"{partner.name} reported a serious adverse event ({report.term}, {report.grade_scale} grade "
                f"{report.grade}, outcome {report.outcome}) for {where}, unit {report.din or '-'}, batch "
                f"{report.batch or '-'}; onset {report.onset_at.isoformat()}. Assess against the batch "
                "record and the product's safety profile (T-7.10, T-10.8)."
            ),
            subject=safety,
            blocks_subject=False,
        )
        how = "serious: safety deviation opened"
    return record_amend(
        actor=actor, record=safety, event="safety_report:deviation", reason=how, fields=["deviation"]
    )
