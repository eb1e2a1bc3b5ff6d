"""Self-assessment factories: answering an item as a persona, with the persona's password as signature."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cellchain.assessment import services
from cellchain.core import clock
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD


def today(site: Any) -> dt.date:
    return clock.today(site.time_zone)


def answer(
    world: Any,
    username: str,
    site_code: str,
    item_code: str,
    value: str = "yes",
    *,
    password: str = PERSONA_PASSWORD,
    upload: Any | None = None,
    **fields: Any,
) -> Any:
    """Answer `item_code` of the site as `username`, signing with the persona's password."""
    site = world.sites[site_code]
    fields.setdefault("next_review", today(site) + dt.timedelta(days=365))
    if value == "yes" and upload is None:
        fields.setdefault("evidence_reference", "QM-001 v3")
    if value in ("no", "na"):
        fields.setdefault("note", "recorded in the test")
    actor = world[username]
    return services.assessment_answer_record(
        actor=actor,
        site=site,
        item_code=item_code,
        data=services.AnswerInput(answer=value, **fields),
        signer=SignerCredentials(actor, password),
        upload=upload,
    )
