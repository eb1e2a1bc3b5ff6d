"""Demo controlled documents (issue 13 item 1): at Union Hospital one SOP per governed step (apheresis, thaw,
infusion, AE handling), authored by a nurse, reviewed by a pharmacist, approved by a physician, in force from
today, and every Union Hospital user who performs steps trained on it, so the demo's steps keep working and
each new record names its SOP version (T-6.1, T-6.5-b/d/e/f). One policy stands overdue for its periodic
review, for the overdue list (T-6.4).

Runs last (documents is last in CELLCHAIN_CONTEXTS), so the demo's earlier records were made before these SOPs
and are not linked. Idempotent: nothing is made twice (checked by document code).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cellchain.accounts.world import DEMO_PASSWORD
from cellchain.core import clock
from cellchain.core.permissions import has_permission
from cellchain.documents import services
from cellchain.documents.models import ControlledDocument, DocumentVersion
from cellchain.signatures.services import SignerCredentials

SOPS = [
    # code, title, step
    ("XH-SOP-APH-01", "Apheresis collection of autologous lymphocytes", "apheresis"),
    ("XH-SOP-THAW-01", "Thawing and preparing a CAR-T unit before infusion", "thaw"),
    ("XH-SOP-INF-01", "CAR-T infusion at the bedside", "infusion"),
    ("XH-SOP-AE-01", "Managing CRS, ICANS and other adverse reactions", "ae_handling"),
]
POLICY = ("XH-POL-CONF-01", "Patient confidentiality policy (T-6.4-a)")


def load(world: Any, password: str = DEMO_PASSWORD) -> None:
    if "xiehe" not in world.organisations or "coordinator_zhou" not in world.people:
        return
    site = world.sites["xiehe-main"]
    today = clock.today(site.time_zone)
    for code, title, step in SOPS:
        if ControlledDocument.objects.filter(code=code).exists():
            continue
        version = _approved(world, password, code, title, step, today, "sop")
        _train_everyone(world, password, version, site)
    if not ControlledDocument.objects.filter(code=POLICY[0]).exists():
        # Approved 14 months ago with a 12-month interval: two months overdue for review.
        back = clock.now().replace(microsecond=0) - dt.timedelta(days=425)
        with clock.frozen(back):
            _approved(world, password, *POLICY, "", clock.today(site.time_zone), "policy")


def _approved(
    world: Any, password: str, code: str, title: str, step: str, today: dt.date, kind: str
) -> DocumentVersion:
    document = services.document_register(
        actor=world["coordinator_zhou"], code=code, title=title, kind=kind, step=step
    )
    version = services.version_draft(
        actor=world["nurse_wang"],
        document=document,
        label="1.0",
        effective_from=today,
        review_interval_months=12,
        text=f"{title}.\n\nScope, responsibilities, materials, procedure steps, records (demo text).",
    )
    for step_name, who in (
        ("submit", "nurse_wang"),
        ("review", "pharmacist_liu"),
        ("approve", "physician_wang"),
    ):
        services.version_sign(
            actor=world[who], version=version, step=step_name, signer=SignerCredentials(world[who], password)
        )
    return DocumentVersion.objects.get(pk=version.pk)


def _train_everyone(world: Any, password: str, version: DocumentVersion, site: Any) -> None:
    for person in world.people.values():
        if person.site_id == site.pk and has_permission(person, "documents.acknowledge"):
            services.training_acknowledge(
                actor=person, version=version, signer=SignerCredentials(person, password)
            )
