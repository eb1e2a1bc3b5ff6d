"""Drafting and signing a quality review; the signed content stays as it was (issue 14 item 4; X-4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.core.errors import NotAllowed, ServiceError, ValidationFailed
from cellchain.quality.models import Deviation
from cellchain.quality.services import deviation_open
from cellchain.reviews import services
from cellchain.reviews.models import QualityReview
from cellchain.signatures.models import Signature
from cellchain.signatures.services import SignerCredentials, signature_is_current
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
SINCE, UNTIL = dt.date(2026, 1, 1), dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with clock.frozen(NOW):
        yield


def _draft(
    world: Any, who: str = "qa_li", kind: str = "periodic", site: str = "shenghe-prod"
) -> QualityReview:
    review = services.review_draft(
        actor=world[who], kind=kind, site=world.sites[site], product=None, since=SINCE, until=UNTIL
    )
    return services.review_conclude(actor=world[who], review=review, conclusions="In control.", actions="")


def _sign(world: Any, review: QualityReview, who: str, password: str = PERSONA_PASSWORD) -> QualityReview:
    return services.review_sign(
        actor=world[who], review=review, signer=SignerCredentials(world[who], password)
    )


class TestReviewDraft:
    def test_a_nurse_does_not_draft(self, world: Any) -> None:
        with pytest.raises(NotAllowed):
            _draft(world, "nurse_wang", site="xiehe-main")

    def test_another_organisations_site_is_refused(self, world: Any) -> None:
        with pytest.raises(ValidationFailed) as refused:
            _draft(world, "qa_li", site="xiehe-main")
        assert refused.value.field == "site"
        assert not QualityReview.objects.exists()

    def test_the_oversight_report_is_a_hospital_teams(self, world: Any) -> None:
        with pytest.raises(ValidationFailed):
            _draft(world, "qa_li", kind="oversight")

    def test_a_reversed_period_is_refused(self, world: Any) -> None:
        with pytest.raises(ValidationFailed):
            services.review_draft(
                actor=world["qa_li"], kind="periodic", site=world.sites["shenghe-prod"], product=None,
                since=UNTIL, until=SINCE,
            )  # fmt: skip


class TestReviewSign:
    def test_the_signed_content_does_not_change_when_the_data_does(self, world: Any) -> None:
        site = world.sites["shenghe-prod"]
        deviation_open(actor=world["qa_li"], site=site, kind="process", title="t", description="d")
        signed = _sign(world, _draft(world), "qa_li")
        assert signed.is_signed and signed.signed_by == world["qa_li"]
        frozen, digest = signed.content, signed.content_sha256
        assert frozen["deviations"]["by_kind"][0]["opened"] == 1
        assert digest == services.content_hash(frozen)
        deviation_open(actor=world["qa_li"], site=site, kind="process", title="t2", description="d")
        again = QualityReview.objects.get(pk=signed.pk)
        assert again.content == frozen and again.content_sha256 == digest
        assert services.review_content_live(world["qa_li"], again)["deviations"]["by_kind"][0]["opened"] == 2
        signature = Signature.objects.get(record_type=again.ledger_record_type(), record_id=str(again.pk))
        assert signature.meaning == "approved" and signature_is_current(signature, again)

    def test_a_wrong_password_signs_nothing(self, world: Any) -> None:
        review = _draft(world)
        with pytest.raises(ServiceError):
            _sign(world, review, "qa_li", password="wrong")
        review.refresh_from_db()
        assert not review.is_signed and review.content is None
        assert not Signature.objects.filter(
            record_id=str(review.pk), record_type=review.ledger_record_type()
        ).exists()

    def test_the_physician_does_not_sign_the_periodic_review_but_the_coordinator_does(
        self, world: Any
    ) -> None:
        review = _draft(world, "coordinator_zhou", site="xiehe-main")
        with pytest.raises(NotAllowed):
            _sign(world, review, "physician_wang")
        assert _sign(world, review, "coordinator_zhou").is_signed

    def test_only_the_team_leader_signs_the_oversight_report(self, world: Any) -> None:
        review = _draft(world, "coordinator_zhou", kind="oversight", site="xiehe-main")
        with pytest.raises(NotAllowed):
            _sign(world, review, "coordinator_zhou")
        signed = _sign(world, review, "physician_wang")
        assert signed.content["members"]

    def test_conclusions_are_needed_and_a_signed_review_is_final(self, world: Any) -> None:
        review = services.review_draft(
            actor=world["qa_li"], kind="periodic", site=world.sites["shenghe-prod"], product=None,
            since=SINCE, until=UNTIL,
        )  # fmt: skip
        with pytest.raises(ValidationFailed):
            _sign(world, review, "qa_li")
        review = services.review_conclude(actor=world["qa_li"], review=review, conclusions="ok", actions="")
        signed = _sign(world, review, "qa_li")
        with pytest.raises(ServiceError):
            _sign(world, signed, "qa_li")
        with pytest.raises(ServiceError):
            services.review_conclude(actor=world["qa_li"], review=signed, conclusions="changed", actions="")
        assert Deviation.objects.count() == 0
