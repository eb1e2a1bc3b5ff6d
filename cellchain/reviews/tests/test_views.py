"""The review pages: list, draft, figures, sign; in zh-Hans; role-gated (issue 14 item 4)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.reviews.models import QualityReview
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with clock.frozen(NOW):
        yield


def _new(client: Any, site: Any, kind: str = "periodic") -> QualityReview:
    response = client.post(
        "/reviews/new/", {"kind": kind, "site": site.pk, "since": "2026-01-01", "until": "2026-06-14"}
    )
    assert response.status_code == 302, response.content[:800]
    return QualityReview.objects.latest("pk")


def test_draft_conclude_and_sign_through_the_pages(world: Any, client_for: Callable[[str], Any]) -> None:
    client = client_for("qa_li")
    review = _new(client, world.sites["shenghe-prod"])
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert "Deviations" in page and "Sign the review" in page and "no complaint register" in page
    client.post(f"/reviews/{review.pk}/conclude/", {"conclusions": "In control.", "actions": ""})
    wrong = client.post(f"/reviews/{review.pk}/sign/", {"password": "wrong"})
    assert wrong.status_code == 200
    review.refresh_from_db()
    assert not review.is_signed
    done = client.post(f"/reviews/{review.pk}/sign/", {"password": PERSONA_PASSWORD})
    assert done.status_code == 302
    review.refresh_from_db()
    assert review.is_signed
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    assert review.content_sha256 in page and "Sign the review" not in page
    assert review.number in client.get("/reviews/").content.decode()


def test_pages_render_in_chinese(world: Any, client_for: Callable[[str], Any]) -> None:
    client = client_for("physician_wang")
    review = _new(client, world.sites["xiehe-main"], kind="oversight")
    listing = client.get("/reviews/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    detail = client.get(f"/reviews/{review.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "质量回顾" in listing
    assert "偏差" in detail and "团队成员" in detail
    badges = re.findall(r'class="badge state-(\w+)">([^<]+)<', detail)
    assert badges, "the team's qualification standings are shown"
    for code, label in badges:
        assert label != code, f"the standing {code!r} is shown as its code, not in Chinese"


def test_a_nurse_sees_no_reviews_and_another_organisation_none_of_ours(
    world: Any, client_for: Callable[[str], Any]
) -> None:
    assert client_for("nurse_wang").get("/reviews/").status_code == 403
    review = _new(client_for("qa_li"), world.sites["shenghe-prod"])
    assert client_for("physician_wang").get(f"/reviews/{review.pk}/").status_code == 404
    assert client_for("auditor_shenghe").get(f"/reviews/{review.pk}/").status_code == 200
    assert client_for("auditor_shenghe").get("/reviews/new/").status_code == 403
