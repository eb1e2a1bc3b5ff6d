"""Notification e-mail goes through a recorded outbox: a failed send is kept and retried (issue 15)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from cellchain.core import clock
from cellchain.quality import services
from cellchain.quality.models import EmailNotification

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


class BrokenBackend:
    """An e-mail backend whose server refuses every message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("SMTP server refused the connection")


def _send(world: Any, django_capture_on_commit_callbacks: Any) -> EmailNotification:
    with django_capture_on_commit_callbacks(execute=True):
        note = services.notification_send(
            actor=world["qa_li"],
            organisation=world["nurse_wang"].organisation,
            subject="Batch released",
            body="The batch may be shipped.",
        )
    return EmailNotification.objects.get(notification=note)


class TestEmailOutbox:
    def test_the_e_mail_is_recorded_and_sent_after_commit(
        self, world: Any, settings: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        with clock.frozen(START):
            outbox = _send(world, django_capture_on_commit_callbacks)
        assert outbox.status == EmailNotification.Status.SENT and outbox.attempts == 1
        assert world["nurse_wang"].email in outbox.addresses
        assert len(mail.outbox) == 1 and mail.outbox[0].to == outbox.addresses

    def test_a_failed_send_is_recorded_and_a_retry_sends_it(
        self, world: Any, settings: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        settings.EMAIL_BACKEND = "cellchain.quality.tests.test_email_outbox.BrokenBackend"
        with clock.frozen(START):
            outbox = _send(world, django_capture_on_commit_callbacks)
        outbox.refresh_from_db()
        assert outbox.status == EmailNotification.Status.FAILED and outbox.attempts == 1
        assert "SMTP server refused" in outbox.last_error
        assert outbox.next_attempt_at == START + dt.timedelta(minutes=1)

        # Before the back-off has passed nothing is tried; after it, a working server gets the message.
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        with clock.frozen(START + dt.timedelta(seconds=30)):
            assert services.emails_retry() == (0, 0)
        with clock.frozen(START + dt.timedelta(minutes=2)):
            call_command("notifications_retry", stdout=None)
        outbox.refresh_from_db()
        assert outbox.status == EmailNotification.Status.SENT and outbox.attempts == 2
        assert outbox.last_error == ""
        assert len(mail.outbox) == 1

    def test_back_off_doubles_up_to_six_hours(self) -> None:
        assert [services.email_retry_delay(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
        assert services.email_retry_delay(30) == dt.timedelta(hours=6)


def test_site_admin_sees_a_failed_e_mail_with_its_error(
    world: Any, settings: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "cellchain.quality.tests.test_email_outbox.BrokenBackend"
    _send(world, django_capture_on_commit_callbacks)
    admin = next(
        name
        for name in ("admin_xiehe", "admin_shenghe")
        if world[name].organisation_id == world["nurse_wang"].organisation_id
    )
    page = client_for(admin).get("/quality/notifications/emails/")
    assert page.status_code == 200
    assert "SMTP server refused the connection" in page.content.decode()
    assert client_for("nurse_wang").get("/quality/notifications/emails/").status_code == 403
