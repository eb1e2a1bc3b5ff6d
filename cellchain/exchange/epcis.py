"""EPCIS 2.0 messages from the manufacturer to the hospital over the exchange (issue 12 item 2, first bullet;
docs/decisions/0022-epcis-messages-wired.md).

One exchange kind per CellChain message (`epcis.release`, `epcis.late_result`, `epcis.recall`,
`epcis.product_information`, `epcis.shipment`); the body is the whole EPCISDocument the QC/logistics builders
write, its one event's ``eventID`` (the GS1 event hash, decision 0018) the envelope's event id.

A body is valid when it passes GS1's EPCIS 2.0 JSON schema (draft-07, formats checked where the format checker
can) and the CellChain parser of its kind (which also recomputes the event hash and refuses any ``cellchain:``
field it does not know). The same check runs at enqueue (our own message) and at the inbox (theirs).

The manufacturer's services call `epcis_enqueue` inside their transaction; it writes nothing unless this
installation's role is ``manufacturer`` (at ``both`` the hospital reads the same database, as before).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

from cellchain.core import installation
from cellchain.domain.epcis_messages import PARSERS, MessageError, MessageKind, message_kind

PREFIX = "epcis."
SCHEMA_NAME = "EPCIS-JSON-Schema.json"
# GS1's schema as kept in /work/shared/standards (github.com/gs1/EPCIS at 2b888bef); pinned so a changed file
# is noticed rather than silently used.
SCHEMA_SHA256 = "ed3228d7867198b4a5be9748fe77f473457c6ed98224fab28a950b4ce634a041"


def kind_name(kind: MessageKind) -> str:
    """The exchange kind of a CellChain EPCIS message: ``epcis.<message kind>``."""
    return f"{PREFIX}{kind.value}"


def schema_path() -> Path | None:
    """Where GS1's EPCIS 2.0 JSON schema is: CELLCHAIN_EPCIS_SCHEMA (setting or environment), else the first
    ``shared/standards/epcis/`` beside the checkout or one of its parents; None when there is none."""
    configured = getattr(settings, "CELLCHAIN_EPCIS_SCHEMA", "") or os.environ.get(
        "CELLCHAIN_EPCIS_SCHEMA", ""
    )
    if configured:
        return Path(configured)
    base = Path(settings.BASE_DIR).resolve()
    for folder in (base, *base.parents):
        candidate = folder / "shared" / "standards" / "epcis" / SCHEMA_NAME
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _validator(path: str) -> Any:
    import hashlib

    from jsonschema import Draft7Validator

    raw = Path(path).read_bytes()
    if hashlib.sha256(raw).hexdigest() != SCHEMA_SHA256:
        raise RuntimeError(f"{path} is not GS1's EPCIS 2.0 JSON schema this release was validated with")
    return Draft7Validator(json.loads(raw), format_checker=Draft7Validator.FORMAT_CHECKER)


def schema_reasons(document: Any) -> list[str]:
    """Why `document` is not valid against GS1's EPCIS 2.0 JSON schema (empty: valid). Without the schema every
    document is refused: a message is never accepted on a check that was not done."""
    path = schema_path()
    if path is None or not path.is_file():
        return [
            f"the EPCIS 2.0 JSON schema ({SCHEMA_NAME}) is not available here (set CELLCHAIN_EPCIS_SCHEMA): "
            "no EPCIS message is sent or accepted unchecked"
        ]
    try:
        validator = _validator(str(path))
    except (OSError, ValueError, RuntimeError) as error:
        return [f"the EPCIS 2.0 JSON schema cannot be used: {error}"]
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [
        f"EPCIS schema: {'/'.join(str(p) for p in e.absolute_path) or '(document)'}: {e.message[:300]}"
        for e in errors[:10]
    ]


def validator_for(kind: MessageKind) -> Callable[[dict[str, Any]], list[str]]:
    """The exchange validator of one kind: GS1's schema, then CellChain's parser of that kind."""

    def validate(body: dict[str, Any]) -> list[str]:
        reasons = schema_reasons(body)
        if reasons:
            return reasons
        try:
            PARSERS[kind](body)
        except MessageError as error:
            return [f"{kind.value} message: {error}"]
        return []

    validate.__name__ = f"validate_{kind.value}"
    return validate


def event_id_of(document: dict[str, Any]) -> str:
    """The eventID of the single event of a CellChain message document."""
    return str(document["epcisBody"]["eventList"][0]["eventID"])


def epcis_enqueue(*, actor: Any, organisation: Any, document: dict[str, Any]) -> Any | None:
    """Put an EPCIS message for the partner standing for `organisation` into the outbox, in the caller's
    transaction (issue 12 item 2; decision 0017 outbox). Only at a manufacturer-only installation; at ``both``
    or ``hospital`` nothing is written and None is returned.

    When no active partner stands for that organisation nothing is sent and a warning is logged, as for the
    hospital's messages (decision 0023): an installation being set up (its demo loads before partners are linked)
    keeps working. Telling the hospital later is open (closing note of stop 24).
    """
    if installation.role() != installation.MANUFACTURER:
        return None
    from cellchain.exchange.selectors import partner_for_organisation
    from cellchain.exchange.services import message_enqueue

    kind = message_kind(document)
    partner = partner_for_organisation(organisation)
    if partner is None:
        logging.getLogger(__name__).warning(
            "%s message for %s not sent: no active exchange partner stands for it", kind.value, organisation
        )
        return None
    from cellchain.exchange.models import OutboxMessage

    event_id = event_id_of(document)
    already = OutboxMessage.objects.filter(partner=partner, event_id=event_id).first()
    if already is not None:
        # The same event (same content, so the same hash) was told already, e.g. a result corrected without
        # changing what the hospital is told: telling it again would say nothing new.
        return already
    return message_enqueue(
        actor=actor,
        partner=partner,
        kind=kind_name(kind),
        body=document,
        event_id=event_id,
    )
