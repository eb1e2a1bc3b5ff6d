"""Demo data, reference data, languages, time zones and the health check (issue 2 items 8-10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone

from cellchain.core.models import ApprovedProduct

pytestmark = pytest.mark.django_db


def test_demo_load_twice_changes_nothing() -> None:
    from cellchain.core.demo_loader import load_demo
    from cellchain.ledger.models import LedgerEntry

    load_demo()
    counts = (LedgerEntry.objects.count(), ApprovedProduct.objects.count())
    load_demo()
    assert (LedgerEntry.objects.count(), ApprovedProduct.objects.count()) == counts


def test_reference_data_holds_the_fourteen_approved_products() -> None:
    from cellchain.core.demo_loader import load_reference

    assert load_reference() == 14
    assert ApprovedProduct.objects.filter(authority="FDA").count() == 7
    assert ApprovedProduct.objects.filter(authority="NMPA").count() == 7
    assert ApprovedProduct.objects.get(number=11).approval_date == "November 2023; November 2025"


def test_every_role_has_a_demo_person(world: Any) -> None:
    from cellchain.accounts.roles import Role

    held = {role for user in world.people.values() for role in user.current_roles()}
    assert held == set(Role.values)


def test_language_switch_shows_chinese_and_english(client_for: Any) -> None:
    client = client_for("nurse_wang")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Sign out" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert "退出登录" in client.get("/").content.decode()


def test_times_are_stored_in_utc_and_shown_in_the_site_zone(world: Any) -> None:
    moment = dt.datetime(2026, 11, 23, 1, 30, tzinfo=dt.UTC)
    import zoneinfo

    with timezone.override(zoneinfo.ZoneInfo(world.sites["xiehe-main"].time_zone)):
        shown = Template('{{ t|date:"Y-m-d H:i" }}').render(Context({"t": moment}))
    assert shown == "2026-11-23 09:30"


def test_health_check_reports_database_and_server_time() -> None:
    body = Client().get("/health/").json()
    assert body["status"] == "ok" and body["server_time_utc"].endswith("+00:00")
