"""Deviation and notification pages: each outcome of a POST is said once (T-6.4-f, STYLE habit 5)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from cellchain.quality import services
from cellchain.quality.models import Deviation, Notification

pytestmark = pytest.mark.django_db

DISPOSITION = {"investigation": "Label printer misfeed", "disposition": "Relabel, release", "capa": ""}


@pytest.fixture
def en(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def deviation(world: Any) -> Deviation:
    return services.deviation_open(
        actor=world["operator_chen"],
        site=world.sites["shenghe-prod"],
        kind=Deviation.Kind.PROCESS,
        title="Label misfeed",
        description="The printer fed two labels.",
    )


def _said(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_qa_records_a_disposition_and_returns_to_the_deviation(
    client_for: Any, deviation: Deviation, en: None
) -> None:
    url = reverse("quality:deviation", args=[deviation.pk])
    assert client_for("qa_li").get(url).status_code == 200
    response = client_for("qa_li").post(url, DISPOSITION)
    assert response.status_code == 302 and response["Location"] == url
    assert _said(response) == ["The disposition was recorded."]
    deviation.refresh_from_db()
    assert deviation.status == Deviation.Status.DISPOSITIONED


def test_a_refused_disposition_is_shown_on_the_form(client_for: Any, deviation: Deviation, en: None) -> None:
    url = reverse("quality:deviation", args=[deviation.pk])
    client = client_for("qa_li")
    client.post(url, DISPOSITION)
    again = client.post(url, {**DISPOSITION, "disposition": "Destroy"})
    assert again.status_code == 200
    assert again.context["form"].non_field_errors() == [f"{deviation.number} is already Dispositioned."]
    deviation.refresh_from_db()
    assert deviation.disposition == "Relabel, release"


def test_an_incomplete_disposition_names_the_field(client_for: Any, deviation: Deviation, en: None) -> None:
    response = client_for("qa_li").post(
        reverse("quality:deviation", args=[deviation.pk]), {"investigation": "x"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"disposition": ["This field is required."]}
    deviation.refresh_from_db()
    assert deviation.status == Deviation.Status.OPEN


def test_only_qa_dispositions(client_for: Any, deviation: Deviation, en: None) -> None:
    """T-6.4-f: a production operator sees the deviation but cannot disposition it."""
    url = reverse("quality:deviation", args=[deviation.pk])
    response = client_for("operator_chen").post(url, DISPOSITION)
    assert response.status_code == 302
    assert _said(response) == ["Only quality assurance can disposition a deviation."]
    deviation.refresh_from_db()
    assert deviation.status == Deviation.Status.OPEN


def test_notification_is_acknowledged_once(client_for: Any, deviation: Deviation, en: None) -> None:
    note = Notification.objects.filter(recipient_organisation=deviation.site.organisation).get()
    url = reverse("quality:notification_ack", args=[note.pk])
    client = client_for("qa_li")
    assert _said(client.post(url)) == ["Acknowledged."]
    # the first answer was not read (no page shown after the redirect), so it is still queued before this one
    assert _said(client.post(url))[-1] == "This notification was already acknowledged."
