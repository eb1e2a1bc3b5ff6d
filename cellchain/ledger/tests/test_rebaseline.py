"""Schema re-baseline: rows reshaped by a migration are ledgered, rows changed in a value never (decision 0010).

EU GMP Annex 11 §10 and 21 CFR 11.10(e) (changes documented, the audit trail records them); REGULATORY item 9
(altered records discernible) and 45 (archives checkable offline).

A schema change is simulated honestly through the real append: the record's last entry is written with an
older shape (a field dropped, as an entry written before the column existed; or a field added, as one written
before a column was removed). The row itself is untouched, so the table and the ledger then differ exactly as
after a migration. `test_schema_history_names_this_projects_migrations` and the upgrade check in the report
cover the real migrations.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, migrations, models, transaction
from django.db.migrations.loader import MigrationLoader

from cellchain.accounts import services as accounts
from cellchain.accounts.models import Organisation
from cellchain.core.errors import ValidationFailed
from cellchain.domain.ledger_schema import REBASELINE_EVENT
from cellchain.ledger.actor import actor_json
from cellchain.ledger.export import bundle_data
from cellchain.ledger.heads import current_size, head_issue
from cellchain.ledger.models import LedgerEntry, LedgerSigningKey, SignedTreeHead
from cellchain.ledger.rebaseline import ledger_migration_append, ledger_schema_rebaseline
from cellchain.ledger.replay import record_state
from cellchain.ledger.schema import SchemaHistory, regulated_tables_reshaped, remind_after_migrate
from cellchain.ledger.services import append_state
from cellchain.ledger.tests.behind import update_unledgered
from cellchain.ledger.verify import verify_ledger
from cellchain.verifier.bundle import verify_bundle
from cellchain.verifier.cli import main as verify_main

pytestmark = pytest.mark.django_db

ORG = "accounts.organisation"


def _organisation(code: str) -> Organisation:
    return accounts.organisation_create(actor=None, code=code, name=f"{code} GmbH", kind="manufacturer")


def _older_shape(
    record: Any, record_type: str, *, drop: tuple[str, ...] = (), add: dict[str, Any] | None = None
) -> int:
    """Append, through the real append, an entry of `record` whose state lacks `drop` and has `add`: what the
    record's last entry looks like when it was written before a column was added (or removed)."""
    state = {name: value for name, value in record_state(record_type, record).items() if name not in drop}
    state.update(add or {})
    with transaction.atomic():
        entry = append_state(
            who=actor_json(None),
            record_type=record_type,
            record_id=str(record.pk),
            state=state,
            action="amend",
            event="test:older_shape",
            reason="written before the schema change",
        )
    return entry.seq


def _findings(report: Any, check: str) -> list[Any]:
    return [finding for finding in report.findings if finding.check == check]


def _last_entry(record_type: str, record_id: Any) -> dict[str, Any]:
    entry = (
        LedgerEntry.objects.filter(record_type=record_type, record_id=str(record_id)).order_by("-seq").first()
    )
    assert entry is not None
    return json.loads(bytes(entry.canonical))


class TestAddedField:
    def test_verify_names_the_added_field_then_rebaseline_makes_it_pass(self, world):
        org = _organisation("added")
        previous = _older_shape(org, ORG, drop=("name_en",))
        report = verify_ledger()
        assert not report.ok
        (finding,) = _findings(report, "schema")
        assert (finding.record_type, finding.record_id, finding.seq) == (ORG, str(org.pk), previous)
        assert "field name_en added by a schema change" in finding.message
        assert "not yet re-baselined; run `cellchain ledger rebaseline" in finding.message
        assert not _findings(report, "replay")

        result = ledger_schema_rebaseline(actor=world["qa_li"], reason="CC-2026-041 upgrade to 1.4")
        assert result.ok
        (done,) = result.rebaselined
        assert (done.record_type, done.record_id, done.added, done.removed) == (
            ORG,
            str(org.pk),
            ("name_en",),
            (),
        )
        assert done.previous_seq == previous and done.seq == previous + 1

        entry = _last_entry(ORG, org.pk)
        assert (entry["action"], entry["event"], entry["seq"]) == ("migrate", REBASELINE_EVENT, done.seq)
        assert entry["actor"]["name"] == world["qa_li"].printed_name
        assert entry["reason"].startswith(
            "CC-2026-041 upgrade to 1.4; schema re-baseline: field name_en added"
        )
        assert entry["extra"]["schema"] == {
            "added": ["name_en"],
            "removed": [],
            "migrations": [],
            "previous_seq": previous,
        }
        assert entry["state"] == org.ledger_state()
        after = verify_ledger()
        assert after.ok, after.lines()
        assert after.rebaselines == 1

    def test_a_user_is_rebaselined_through_its_adapter(self, world):
        nurse = world["nurse_wang"]
        _older_shape(nurse, "accounts.user", drop=("email",))
        assert _findings(verify_ledger(), "schema")[0].record_type == "accounts.user"
        result = ledger_schema_rebaseline(actor=None, reason="CC-7")
        assert [(r.record_type, r.record_id, r.added) for r in result.rebaselined] == [
            ("accounts.user", str(nurse.pk), ("email",))
        ]
        assert _last_entry("accounts.user", nurse.pk)["actor"]["name"] == "system"
        assert verify_ledger().ok

    def test_added_value_that_is_not_the_default_is_listed_for_review(self, world, tamper):
        """A value in an added column is vouched for by nothing before the re-baseline: it is shown for review."""
        org = _organisation("filled")
        _older_shape(org, ORG, drop=("name_en",))
        with tamper() as cursor:
            cursor.execute(
                "UPDATE accounts_organisation SET name_en = %s WHERE id = %s", ["Filled Ltd", org.pk]
            )
        result = ledger_schema_rebaseline(actor=None, reason="CC-8")
        (done,) = result.rebaselined
        assert done.not_default == ("name_en",)
        assert _last_entry(ORG, org.pk)["extra"]["schema"]["not_default"] == ["name_en"]
        assert any("Review:" in line for line in result.lines())
        assert verify_ledger().ok


class TestRemovedField:
    def test_removed_field_is_named_and_rebaselined(self, world):
        org = _organisation("removed")
        _older_shape(org, ORG, add={"legacy_code": "OLD-7"})
        (finding,) = _findings(verify_ledger(), "schema")
        assert "field legacy_code removed by a schema change" in finding.message
        result = ledger_schema_rebaseline(actor=None, reason="CC-9 drop legacy codes")
        assert [(r.added, r.removed) for r in result.rebaselined] == [((), ("legacy_code",))]
        entry = _last_entry(ORG, org.pk)
        assert "legacy_code" not in entry["state"] and entry["extra"]["schema"]["removed"] == ["legacy_code"]
        assert verify_ledger().ok


class TestValuesAreNeverRebaselined:
    """A field present in both states that differs is tampering or an unledgered data migration: refused."""

    def test_changed_value_beside_an_added_field_is_refused_and_verify_names_it(self, world, tamper):
        clean, tampered = _organisation("clean"), _organisation("tampered")
        _older_shape(clean, ORG, drop=("name_en",))
        last = _older_shape(tampered, ORG, drop=("name_en",))
        with tamper() as cursor:
            cursor.execute(
                "UPDATE accounts_organisation SET name = %s WHERE id = %s", ["Evil Corp", tampered.pk]
            )

        result = ledger_schema_rebaseline(actor=None, reason="CC-10")
        assert not result.ok
        assert [r.record_id for r in result.rebaselined] == [str(clean.pk)]
        (refused,) = result.refused
        assert (refused.record_type, refused.record_id, refused.seq) == (ORG, str(tampered.pk), last)
        assert "field name changed behind the application's back" in refused.message
        assert '"Evil Corp" in the table' in refused.message and "name_en added" in refused.message
        assert _last_entry(ORG, tampered.pk)["seq"] == last

        report = verify_ledger()
        (finding,) = _findings(report, "replay")
        assert finding.record_id == str(tampered.pk) and "Evil Corp" in finding.message
        assert "a re-baseline will not accept this row" in finding.message
        assert not _findings(report, "schema")

    def test_plain_tampering_and_inserted_rows_are_refused(self, world, tamper):
        org = _organisation("plain")
        with tamper() as cursor:
            cursor.execute("UPDATE accounts_organisation SET kind = 'hospital' WHERE id = %s", [org.pk])
            cursor.execute(
                "INSERT INTO accounts_organisation (code, name, name_en, kind, void_reason) "
                "VALUES ('ghost', 'Ghost', '', 'hospital', '')"
            )
        size = current_size()
        result = ledger_schema_rebaseline(actor=None, reason="CC-11")
        assert current_size() == size and not result.rebaselined
        messages = {record.record_id: record.message for record in result.refused}
        assert "field kind changed" in messages[str(org.pk)]
        ghost = Organisation.objects.get(code="ghost")
        assert "no ledger entry" in messages[str(ghost.pk)]

    def test_command_exits_nonzero_naming_the_refused_rows(self, world, tamper):
        org = _organisation("cmd")
        _older_shape(org, ORG, drop=("name_en",))
        with tamper() as cursor:
            cursor.execute("UPDATE accounts_organisation SET name = 'X' WHERE id = %s", [org.pk])
        out = io.StringIO()
        with pytest.raises(CommandError, match="NOT re-baselined"):
            call_command("ledger", "rebaseline", "--reason", "CC-12", stdout=out, stderr=io.StringIO())
        assert "REFUSED: 1 row(s)" in out.getvalue()
        assert f"{ORG} {org.pk}" in out.getvalue()


class TestRunning:
    def test_second_run_appends_nothing(self, world):
        _older_shape(_organisation("twice"), ORG, drop=("name_en",))
        assert len(ledger_schema_rebaseline(actor=None, reason="CC-13").rebaselined) == 1
        size = current_size()
        again = ledger_schema_rebaseline(actor=None, reason="CC-13 again")
        assert again.ok and not again.rebaselined and current_size() == size
        assert again.examined >= len(world.people)

    def test_dry_run_reports_and_appends_nothing(self, world):
        _older_shape(_organisation("dry"), ORG, drop=("name_en",))
        size = current_size()
        result = ledger_schema_rebaseline(actor=None, reason="CC-14", dry_run=True)
        assert [r.seq for r in result.rebaselined] == [None] and current_size() == size
        assert "would re-baseline 1" in result.lines()[0]
        assert _findings(verify_ledger(), "schema")

    def test_a_reason_is_required(self, world):
        with pytest.raises(ValidationFailed):
            ledger_schema_rebaseline(actor=None, reason="  ")
        with pytest.raises(CommandError, match="reason"):
            call_command("ledger", "rebaseline", "--reason", " ", stdout=io.StringIO())

    def test_command_rebaselines_signs_a_head_and_reports_json(self, world):
        org = _organisation("json")
        _older_shape(org, ORG, drop=("name_en",))
        out = io.StringIO()
        call_command("ledger", "rebaseline", "--reason", "CC-15", "--actor", "qa_li", "--json", stdout=out)
        document = json.loads(out.getvalue())
        assert document["ok"] is True
        assert [(r["record_id"], r["added"]) for r in document["rebaselined"]] == [(str(org.pk), ["name_en"])]
        assert SignedTreeHead.objects.filter(
            size=current_size()
        ).exists()  # the command signed a head over them
        assert verify_ledger().ok


class TestOfflineBundle:
    """REGULATORY item 45: the re-baseline entries travel in the bundle and are checked there too."""

    def test_rebaselined_ledger_exports_a_bundle_that_verifies(self, world, tmp_path, capsys):
        org = _organisation("bundle")
        _older_shape(org, ORG, drop=("name_en",))
        head_issue()  # registers the signing key: a key record to reshape as well
        key = LedgerSigningKey.objects.get()
        _older_shape(key, "ledger.ledgersigningkey", drop=("activation_reason",))
        assert len(ledger_schema_rebaseline(actor=None, reason="CC-16").rebaselined) == 2
        head_issue()
        bundle = bundle_data()
        report = verify_bundle(bundle)
        assert report.ok, report.lines()
        assert any("2 schema re-baseline entries" in line for line in report.checked)
        path = tmp_path / "bundle.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        assert verify_main([str(path)]) == 0
        assert "Result: OK" in capsys.readouterr().out

    def test_a_rebaseline_entry_that_changes_a_value_is_caught_online_and_offline(self, world):
        """Written past the service (as an insider with the code could): the signed heads cover it, the check
        of each re-baseline against the entry before it does not let it pass."""
        org = _organisation("forged")
        previous = _last_entry(ORG, org.pk)["seq"]
        state = {**org.ledger_state(), "name": "Laundered Ltd", "motto": "new"}
        with transaction.atomic():
            forged = append_state(
                who=actor_json(None),
                record_type=ORG,
                record_id=str(org.pk),
                state=state,
                action="migrate",
                event=REBASELINE_EVENT,
                reason="CC-17",
                extra={
                    "schema": {"added": ["motto"], "removed": [], "migrations": [], "previous_seq": previous}
                },
            ).seq
        (online,) = _findings(verify_ledger(replay=False), "rebaseline")
        assert (online.seq, online.record_id) == (forged, str(org.pk))
        assert "changes the value of field name" in online.message

        head_issue()
        offline = [
            finding for finding in verify_bundle(bundle_data()).failures if finding.check == "rebaseline"
        ]
        assert [finding.seq for finding in offline] == [forged]
        assert f"{ORG} {org.pk} changes the value of field name" in offline[0].message


class TestDataMigrationHelper:
    """A data migration that changes values ledgers them itself (`ledger_migration_append`)."""

    def test_historical_instance_change_is_ledgered_and_verifies(self, world):
        org = _organisation("backfill")
        historical = MigrationLoader(connection).project_state().apps.get_model("accounts", "Organisation")
        assert not hasattr(historical, "ledger_state")
        with transaction.atomic():
            row = historical.objects.get(pk=org.pk)
            row.name_en = "Backfill Ltd"
            row.save()
            ledger_migration_append(
                row=row,
                migration="accounts.0099_backfill_english_names",
                event="organisation:backfill",
                reason="English names from the 2026 register",
            )
        entry = _last_entry(ORG, org.pk)
        assert (entry["action"], entry["extra"]) == (
            "migrate",
            {"migration": "accounts.0099_backfill_english_names"},
        )
        org.refresh_from_db()
        assert entry["state"] == org.ledger_state()
        assert verify_ledger().ok

    def test_the_same_change_without_the_helper_is_refused_by_the_rebaseline(self, world):
        org = _organisation("unledgered")
        update_unledgered(Organisation.objects.filter(pk=org.pk), name_en="Quiet Ltd")
        result = ledger_schema_rebaseline(actor=None, reason="CC-18")
        assert [record.record_id for record in result.refused] == [str(org.pk)]
        assert not verify_ledger().ok


class TestMigrationHistory:
    def test_schema_history_names_this_projects_migrations(self, db):
        history = SchemaHistory.load()
        assert history.migrations_for("logistics.shipment", ["limits_source"]) == (
            "logistics.0003_product_limits_reservations_devices",
        )
        # A foreign key is filed under its column name too.
        assert history.migrations_for("logistics.receiptinspection", ["monitoring_device_id"]) == (
            "logistics.0003_product_limits_reservations_devices",
        )
        assert history.migrations_for("clinic.riskitem", ["basis"]) == (
            "clinic.0002_product_profile_from_package",
        )
        assert "(clinic.0002_product_profile_from_package)" in history.describe(
            "clinic.riskitem", ["basis"], []
        )

    def test_migrate_reminds_of_the_rebaseline_only_for_tables_with_rows(self, world):
        _organisation("reminded")
        migration = migrations.Migration("0099_motto", "accounts")
        migration.operations = [
            migrations.AddField("organisation", "motto", models.CharField(max_length=20, default="")),
            migrations.AlterField("organisation", "name", models.CharField(max_length=250)),
        ]
        empty = migrations.Migration("0099_note", "ledger")  # no partner head witnessed: an empty table
        empty.operations = [migrations.RemoveField("witnessedhead", "consistency_proof")]
        plan = [(migration, False), (empty, False)]
        assert regulated_tables_reshaped(plan) == {ORG: ["accounts.0099_motto"]}
        out = io.StringIO()
        remind_after_migrate(None, plan=plan, verbosity=1, stdout=out)
        assert "accounts.0099_motto" in out.getvalue() and "cellchain ledger rebaseline" in out.getvalue()
        quiet = io.StringIO()
        remind_after_migrate(None, plan=None, verbosity=1, stdout=quiet)
        remind_after_migrate(None, plan=plan, verbosity=0, stdout=quiet)
        assert quiet.getvalue() == ""
