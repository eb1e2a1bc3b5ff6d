"""Suspension and termination of a journey's treatment (T-6.4-h, T-8.2.2-g; issue 13 item 7).

A physician or QA places a hold with a reason under an e-signature; while it stands `journey_step_allowed`
refuses apheresis, batch start, release, shipping and infusion. A suspension is lifted by a signed, reasoned
amendment; a termination is final. The other side is told: a notification to the partner organisation here,
and, on a split installation, a signed `journey.hold` message through the exchange outbox, which the partner's
installation applies to its copy of the journey (issue 12 item 2).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cellchain.core import clock, installation
from cellchain.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from cellchain.core.permissions import has_permission
from cellchain.domain import journey_hold as rules
from cellchain.domain.findings import Gate
from cellchain.journeys.models import Journey, JourneyHold
from cellchain.ledger.records import record_amend, record_create
from cellchain.quality.services import notification_send
from cellchain.signatures import services as signing
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import SignerCredentials

HOLD_KIND = "journey.hold"
"""The exchange message kind that carries a hold, or its lifting, to the partner installation."""

_ACTIONS = {"suspension": "suspend", "termination": "terminate"}


def _refuse(gate: Gate, error: type[Exception] = Conflict) -> None:
    if not gate.allowed:
        raise error(" ".join(f.message for f in gate.findings))  # type: ignore[call-arg]


def hold_facts(hold: JourneyHold) -> rules.HoldFacts:
    return rules.HoldFacts(
        rules.HoldKind(hold.kind),
        hold.reason,
        hold.placed_by_name,
        hold.placed_at.date(),
        lifted=hold.lifted_at is not None,
    )


def _holds(journey: Journey) -> list[rules.HoldFacts]:
    return [hold_facts(h) for h in journey.holds.filter(voided_at__isnull=True)]


def _coi(text: str) -> str:
    """The 15-character COI data of a typed or stored identifier (the check character and spaces dropped)."""
    return "".join(text.split())[:15]


def journey_step_allowed(coi: str, step: str, *, din: str = "") -> None:
    """Refuse `step` for the journey of `coi` (or of the apheresis unit `din`) while a suspension or
    termination stands (T-6.4-h).

    The one call each gated service makes. A journey not kept in this installation has no hold here.
    """
    journey = Journey.objects.filter(coi=_coi(coi)).first() if coi else None
    if journey is None and din:
        journey = Journey.objects.filter(units__din=_coi(din)[:13]).first()
    if journey is not None:
        _refuse(rules.step_gate(journey.coi, rules.HeldStep(step), _holds(journey)))


def _require_party(actor: Any, journey: Journey) -> None:
    if not has_permission(actor, "journeys.hold"):
        raise NotAllowed(
            _("Only a physician or quality assurance suspends or terminates a treatment (T-6.4-h).")
        )
    parties = {journey.hospital_site.organisation_id, journey.manufacturer_site.organisation_id}
    if actor.organisation_id not in parties:
        raise NotAllowed(_("Only the journey's hospital or manufacturer may hold it (T-6.4-h)."))


def _signer_is_actor(actor: Any, signer: SignerCredentials) -> None:
    if signer.user.pk != actor.pk:
        raise ValidationFailed(
            _("The person placing or lifting the hold signs it (T-6.4-h)."), field="password"
        )


def _other_side(journey: Journey, organisation_id: int | None) -> Any:
    hospital, manufacturer = journey.hospital_site, journey.manufacturer_site
    return manufacturer if organisation_id == hospital.organisation_id else hospital


def _tell(actor: Any, journey: Journey, hold: JourneyHold, action: str, reason: str) -> None:
    """The other side is told: a notification, and the partner's installation through the outbox (T-6.4-h)."""
    site = _other_side(journey, getattr(actor, "organisation_id", None))
    verb = {"suspend": "suspended", "terminate": "terminated", "lift": "suspension lifted"}[action]
    notification_send(
        actor=actor,
        organisation=site.organisation,
        site=site,
        subject=f"{journey.coi}: treatment {verb}",
        body=f"Journey {journey.pseudonym} {verb} (T-6.4-h): {reason}",
        about=journey,
    )
    if installation.role() == installation.BOTH:
        return
    from cellchain.exchange.selectors import partner_for_organisation
    from cellchain.exchange.services import message_enqueue

    partner = partner_for_organisation(site.organisation)
    if partner is not None:
        message_enqueue(
            actor=actor,
            partner=partner,
            kind=HOLD_KIND,
            body=hold_message_body(journey, hold, action),
            event_id=f"journey-hold:{journey.coi}:{hold.pk}:{action}",
        )


def hold_message_body(journey: Journey, hold: JourneyHold, action: str) -> dict[str, Any]:
    """What the partner installation needs to apply the hold: COI and pseudonym only, never identity (X-7)."""
    lifting = action == "lift"
    return {
        "coi": journey.coi,
        "action": action,
        "reason": hold.lift_reason if lifting else hold.reason,
        "signed_by": hold.lifted_by_name if lifting else hold.placed_by_name,
        "at": (hold.lifted_at if lifting else hold.placed_at).isoformat(),  # type: ignore[union-attr]
    }


def _place(
    actor: Any, journey: Journey, kind: str, reason: str, printed_name: str, source: str
) -> JourneyHold:
    locked = Journey.objects.select_for_update().get(pk=journey.pk)
    _refuse(rules.place_gate(locked.coi, rules.HoldKind(kind), _holds(locked), reason))
    hold = record_create(
        actor=actor,
        record=JourneyHold(
            journey=locked,
            kind=kind,
            reason=reason.strip(),
            placed_at=clock.now(),
            placed_by=actor,
            placed_by_name=printed_name,
            received_from=source,
        ),
        event=f"journey:{_ACTIONS[kind]}",
        reason=reason.strip(),
    )
    return hold


def journey_hold_place(
    *, actor: Any, journey: Journey, kind: str, reason: str, signer: SignerCredentials
) -> JourneyHold:
    """Suspend or terminate the journey's treatment with a reason, signed (T-6.4-h, X-4).

    Checked before the password is asked and again inside the signature's transaction, so a refusal writes
    nothing; the notification and the partner's message are written in that same transaction.
    """
    if kind not in JourneyHold.Kind.values:
        raise ValidationFailed(_("Kind: choose suspension or termination (T-6.4-h)."), field="kind")
    _require_party(actor, journey)
    _signer_is_actor(actor, signer)
    _refuse(rules.place_gate(journey.coi, rules.HoldKind(kind), _holds(journey), reason))
    placed: list[JourneyHold] = []

    def write() -> JourneyHold:
        placed.append(_place(actor, journey, kind, reason, actor.printed_name, ""))
        _tell(actor, placed[0].journey, placed[0], _ACTIONS[kind], placed[0].reason)
        return placed[0]

    signing.record_sign(record=write, signer=signer, meaning=Meaning.APPROVED)
    return placed[0]


def _lift(actor: Any, hold: JourneyHold, reason: str, printed_name: str) -> JourneyHold:
    current = JourneyHold.objects.select_for_update().select_related("journey").get(pk=hold.pk)
    _refuse(rules.lift_gate(current.journey.coi, hold_facts(current), reason))
    current.lifted_at, current.lifted_by = clock.now(), actor
    current.lifted_by_name, current.lift_reason = printed_name, reason.strip()
    record_amend(
        actor=actor,
        record=current,
        event="journey:resume",
        reason=reason.strip(),
        fields=["lifted_at", "lifted_by", "lifted_by_name", "lift_reason"],
    )
    return current


def journey_hold_lift(
    *, actor: Any, hold: JourneyHold, reason: str, signer: SignerCredentials
) -> JourneyHold:
    """Lift a suspension with a reason, signed; a termination is refused (T-6.4-h, X-4)."""
    _require_party(actor, hold.journey)
    _signer_is_actor(actor, signer)
    _refuse(rules.lift_gate(hold.journey.coi, hold_facts(hold), reason))
    lifted: list[JourneyHold] = []

    def write() -> JourneyHold:
        lifted.append(_lift(actor, hold, reason, actor.printed_name))
        _tell(actor, lifted[0].journey, lifted[0], "lift", lifted[0].lift_reason)
        return lifted[0]

    signing.record_sign(record=write, signer=signer, meaning=Meaning.APPROVED)
    return lifted[0]


# --------------------------------------------------------------------------- exchange (issue 12 item 2)


def hold_message_validate(body: dict[str, Any]) -> list[str]:
    """Reasons a `journey.hold` body is not one."""
    reasons = [
        f"{k}: missing or not a string"
        for k in ("coi", "reason", "signed_by", "at")
        if not isinstance(body.get(k), str)
    ]
    if body.get("action") not in ("suspend", "terminate", "lift"):
        reasons.append("action: expected suspend, terminate or lift")
    extra = set(body) - {"coi", "action", "reason", "signed_by", "at"}
    if extra:
        reasons.append(f"unknown fields: {', '.join(sorted(extra))}")
    return reasons


def hold_message_receive(actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> JourneyHold:
    """Apply the partner's hold (or lifting) to our copy of the journey, so our steps stop too (T-6.4-h).

    The partner signed it there; here it is recorded under the signer's printed name and the partner's log id,
    and the local staff are notified.
    """
    journey = Journey.objects.filter(coi=body["coi"]).select_related("hospital_site__organisation").first()
    if journey is None:
        raise NotFound(
            f"No journey {body['coi']} in this installation: the hold cannot be applied (T-6.4-h)."
        )
    signed = f"{body['signed_by']} ({partner.log_id})"
    if body["action"] == "lift":
        hold = journey.holds.filter(kind="suspension", lifted_at__isnull=True, voided_at__isnull=True).first()
        if hold is None:
            raise Conflict(f"Journey {journey.coi} has no standing suspension to lift (T-6.4-h).")
        lifted = _lift(actor, hold, body["reason"], signed)
        _notify_here(journey, lifted, "lift", body["reason"])
        return lifted
    kind = "suspension" if body["action"] == "suspend" else "termination"
    placed = _place_received(actor, journey, kind, body["reason"], signed, partner.log_id)
    return placed


def _place_received(
    actor: Any, journey: Journey, kind: str, reason: str, signed: str, source: str
) -> JourneyHold:
    hold = _place(actor, journey, kind, reason, signed, source)
    _notify_here(journey, hold, _ACTIONS[kind], reason)
    return hold


def _notify_here(journey: Journey, hold: JourneyHold, action: str, reason: str) -> None:
    """A received hold is shown to our own staff (the partner's staff were told by their installation)."""
    ours = installation.organisation_code()
    for site in (journey.hospital_site, journey.manufacturer_site):
        if not ours or site.organisation.code == ours:
            notification_send(
                actor=None,
                organisation=site.organisation,
                site=site,
                subject=f"{journey.coi}: treatment {action} by partner",
                body=f"Journey {journey.pseudonym} ({hold.placed_by_name}, T-6.4-h): {reason}",
                about=journey,
            )
            return
