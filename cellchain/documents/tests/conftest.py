"""Fixtures of the controlled-document tests: a frozen clock and a kit that registers, drafts, signs and trains
through the services only (issue 13 item 1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.documents import services
from cellchain.documents.models import ControlledDocument, DocumentVersion, TrainingRecord
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD

NOW = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 6, 15)  # Shanghai's date at NOW


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


class DocumentKit:
    """A hospital SOP at Union Hospital: coordinator registers, nurse authors, pharmacist reviews, physician
    approves; people train. Every step through the services."""

    def __init__(self, world: Any, today: dt.date = TODAY) -> None:
        self.world = world
        self.today = today

    def __getitem__(self, name: str) -> Any:
        return self.world[name]

    def signer(self, username: str, password: str = PERSONA_PASSWORD) -> SignerCredentials:
        return SignerCredentials(self.world[username], password)

    def register(self, step: str = "thaw", code: str = "SOP-THAW", **options: Any) -> ControlledDocument:
        return services.document_register(
            actor=self.world["coordinator_zhou"],
            code=code,
            title=f"{step} procedure",
            kind="sop",
            step=step,
            **options,
        )

    def draft(
        self, document: ControlledDocument, label: str = "1", days: int = 0, author: str = "nurse_wang"
    ) -> DocumentVersion:
        return services.version_draft(
            actor=self.world[author],
            document=document,
            label=label,
            effective_from=self.today + dt.timedelta(days=days),
            review_interval_months=12,
            text=f"Procedure text, version {label}.",
        )

    def sign(
        self, version: DocumentVersion, step: str, who: str, password: str = PERSONA_PASSWORD
    ) -> DocumentVersion:
        return services.version_sign(
            actor=self.world[who], version=version, step=step, signer=self.signer(who, password)
        )

    def approved(
        self,
        document: ControlledDocument,
        label: str = "1",
        days: int = 0,
        author: str = "nurse_wang",
        reviewer: str = "pharmacist_liu",
        approver: str = "physician_wang",
    ) -> DocumentVersion:
        version = self.draft(document, label, days, author)
        self.sign(version, "submit", author)
        self.sign(version, "review", reviewer)
        return self.sign(version, "approve", approver)

    def train(self, version: DocumentVersion, who: str) -> TrainingRecord:
        return services.training_acknowledge(actor=self.world[who], version=version, signer=self.signer(who))


@pytest.fixture
def kit(world: Any) -> DocumentKit:
    return DocumentKit(world)
