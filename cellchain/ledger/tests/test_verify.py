"""`verify_ledger` finds every change made behind the application's back (issue 3 item 4; REGULATORY item 9)."""

from __future__ import annotations

import io
import json
import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from cellchain.accounts import services as accounts
from cellchain.accounts.models import Organisation
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import LedgerEntry, LedgerHead, SignedTreeHead
from cellchain.ledger.tests.behind import create_unledgered
from cellchain.ledger.verify import verify_ledger

pytestmark = pytest.mark.django_db


def _checks(report):
    return {finding.check for finding in report.findings}


def _organisation(code: str = "acme") -> Organisation:
    return accounts.organisation_create(actor=None, code=code, name=f"{code} GmbH", kind="manufacturer")


class TestVerifyHolds:
    def test_world_verifies_with_heads_and_consistency(self, world):
        head_issue()
        _organisation()
        head_issue()
        report = verify_ledger()
        assert report.ok, report.lines()
        assert report.entries == LedgerHead.objects.get().size
        assert report.heads == 2 and report.consistency_pairs == 1
        assert report.records >= len(world.people)

    def test_small_chunks_give_the_same_verdict(self, world):
        head_issue()
        report = verify_ledger(chunk=7)
        assert report.ok, report.lines()
        assert report.nodes == sum(report.entries >> level for level in range(1, report.entries.bit_length()))

    def test_progress_reports_every_phase(self, world):
        head_issue()
        seen = []
        verify_ledger(progress=lambda phase, done, total: seen.append((phase, done, total)), chunk=10)
        phases = {phase for phase, _, _ in seen}
        assert phases == {"entries", "heads", "records"}
        entries = [(done, total) for phase, done, total in seen if phase == "entries"]
        assert entries[-1][0] == entries[-1][1]


class TestRowsBehindTheBack:
    """X-3, REGULATORY item 9: a row changed, inserted or deleted with SQL is found and named."""

    def test_update_of_a_regulated_row_is_named(self, world, tamper):
        org = _organisation()
        with tamper() as cursor:
            cursor.execute("UPDATE accounts_organisation SET name = %s WHERE id = %s", ["Evil Corp", org.pk])
        report = verify_ledger()
        finding = next(f for f in report.findings if f.check == "replay")
        assert (finding.record_type, finding.record_id) == ("accounts.organisation", str(org.pk))
        assert "Evil Corp" in finding.message and "acme GmbH" in finding.message

    def test_status_field_change_without_entry_is_found(self, world, tamper):
        user = world["nurse_wang"]
        with tamper() as cursor:
            cursor.execute("UPDATE accounts_user SET is_active = %s WHERE id = %s", [False, user.pk])
        report = verify_ledger()
        assert [(f.record_type, f.record_id) for f in report.findings] == [("accounts.user", str(user.pk))]

    def test_inserted_row_is_named(self, world, tamper):
        with tamper() as cursor:
            cursor.execute(
                "INSERT INTO accounts_organisation (code, name, name_en, kind, void_reason) "
                "VALUES ('ghost', 'Ghost', '', 'hospital', '')"
            )
        ghost = Organisation.objects.get(code="ghost")
        report = verify_ledger()
        finding = next(f for f in report.findings if f.check == "replay")
        assert finding.record_id == str(ghost.pk) and "no ledger entry" in finding.message

    def test_row_in_a_table_the_ledger_never_wrote_to_is_named(self, world, tamper):
        """Issue 15 item 2: tables with no entry are probed for rows in one query, not skipped unread."""
        from cellchain.quality.models import Deviation

        assert not LedgerEntry.objects.filter(record_type=Deviation.ledger_record_type()).exists()
        with tamper() as cursor:
            cursor.execute("SELECT id FROM accounts_site ORDER BY id LIMIT 1")
            site_id = cursor.fetchone()[0]
        create_unledgered(
            Deviation,
            site_id=site_id,
            number="DEV-GHOST",
            kind="process",
            title="ghost",
            description="x",
            opened_at=timezone.now(),
        )
        report = verify_ledger()
        findings = [f for f in report.findings if f.check == "replay"]
        assert [f.record_type for f in findings] == [Deviation.ledger_record_type()]
        assert "no ledger entry" in findings[0].message
        assert verify_ledger(replay=False).ok

    def test_deleted_row_is_named(self, world, tamper):
        org = _organisation()
        with tamper() as cursor:
            cursor.execute("DELETE FROM accounts_organisation WHERE id = %s", [org.pk])
        report = verify_ledger()
        finding = next(f for f in report.findings if f.check == "replay")
        assert (finding.record_type, finding.record_id) == ("accounts.organisation", str(org.pk))
        assert "deleted" in finding.message

    def test_random_direct_sql_mutations_are_all_found(self, world, tamper):
        """REGULATORY item 9: 100 % of random direct-SQL mutations of regulated rows are detected."""
        rng = random.Random(20261123)
        users = list(world.people.values())
        for victim in rng.sample(users, 5):
            column, value = rng.choice(
                [("printed_name", "X"), ("email", "x@example.org"), ("is_active", False)]
            )
            with tamper() as cursor:
                cursor.execute(f"UPDATE accounts_user SET {column} = %s WHERE id = %s", [value, victim.pk])
            report = verify_ledger()
            assert ("accounts.user", str(victim.pk)) in {
                (f.record_type, f.record_id) for f in report.findings
            }
            with tamper() as cursor:
                cursor.execute(
                    f"UPDATE accounts_user SET {column} = %s WHERE id = %s",
                    [getattr(victim, column), victim.pk],
                )
        assert verify_ledger().ok


class TestEntriesBehindTheBack:
    def test_changed_byte_of_an_entry_is_found(self, world, tamper):
        head_issue()
        entry = LedgerEntry.objects.get(seq=5)
        altered = bytes(entry.canonical).replace(b'"seq":5', b'"seq":5 ', 1)
        with tamper() as cursor:
            cursor.execute("UPDATE ledger_ledgerentry SET canonical = %s WHERE seq = 5", [altered])
        report = verify_ledger()
        leaf = next(f for f in report.findings if f.check == "leaf")
        assert leaf.seq == 5 and leaf.record_type == entry.record_type

    def test_rewritten_entry_with_recomputed_leaf_and_nodes_fails_the_signed_head(self, world, tamper):
        """An attacker who rewrites an entry, its leaf hash and the whole node table still meets the signed root."""
        import hashlib

        from cellchain.domain.merkle import MemoryNodeStore

        head_issue()
        rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "canonical"))
        forged = [bytes(data) for _, data in rows]
        forged[3] = forged[3].replace(b'"reason":null', b'"reason":"forged"', 1)
        store = MemoryNodeStore()
        for data in forged:
            store.append(data)
        with tamper() as cursor:
            cursor.execute(
                "UPDATE ledger_ledgerentry SET canonical = %s, leaf_hash = %s WHERE seq = 3",
                [forged[3], hashlib.sha256(b"\x00" + forged[3]).digest()],
            )
            cursor.execute("DELETE FROM ledger_ledgernode")
            for level, hashes in enumerate(store._levels[1:], start=1):
                for index, digest in enumerate(hashes):
                    cursor.execute(
                        'INSERT INTO ledger_ledgernode (level, "index", hash) VALUES (%s, %s, %s)',
                        [level, index, digest],
                    )
        report = verify_ledger()
        assert _checks(report) == {"head root"}

    def test_removed_entry_is_found_as_a_gap(self, world, tamper):
        head_issue()
        with tamper() as cursor:
            cursor.execute("DELETE FROM ledger_ledgerentry WHERE seq = 7")
        report = verify_ledger()
        gap = next(f for f in report.findings if f.check == "sequence")
        assert gap.seq == 7 and "missing" in gap.message

    def test_removed_last_entries_are_found_by_the_signed_head(self, world, tamper):
        head_issue()
        size = LedgerHead.objects.get().size
        with tamper() as cursor:
            cursor.execute("DELETE FROM ledger_ledgerentry WHERE seq >= %s", [size - 2])
            cursor.execute("UPDATE ledger_ledgerhead SET size = %s", [size - 2])
        report = verify_ledger()
        assert "head root" in _checks(report)

    def test_removed_unsigned_tail_is_found_by_replay(self, world, tamper):
        org = _organisation()
        size = LedgerHead.objects.get().size
        with tamper() as cursor:
            cursor.execute("DELETE FROM ledger_ledgerentry WHERE seq = %s", [size - 1])
            cursor.execute("DELETE FROM ledger_ledgernode")
            cursor.execute("UPDATE ledger_ledgerhead SET size = %s", [size - 1])
        report = verify_ledger()
        assert ("accounts.organisation", str(org.pk)) in {
            (f.record_type, f.record_id) for f in report.findings
        }

    def test_moved_entry_columns_are_found(self, world, tamper):
        with tamper() as cursor:
            cursor.execute("UPDATE ledger_ledgerentry SET record_id = '999' WHERE seq = 2")
        assert "columns" in _checks(verify_ledger())

    def test_damaged_tree_node_is_named(self, world, tamper):
        with tamper() as cursor:
            cursor.execute(
                'UPDATE ledger_ledgernode SET hash = %s WHERE level = 2 AND "index" = 1', [bytes(32)]
            )
        finding = next(f for f in verify_ledger().findings if f.check == "tree")
        assert "level 2, index 1" in finding.message and "entries seq 4..7" in finding.message

    def test_head_signed_by_another_key_is_refused(self, world, tamper):
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from cellchain.domain.treehead import tree_head_bytes
        from cellchain.ledger.heads import to_tree_head
        from cellchain.verifier.signing import public_key_bytes

        sth = head_issue()
        other = Ed25519PrivateKey.generate()
        with tamper() as cursor:
            cursor.execute(
                "UPDATE ledger_signedtreehead SET signature = %s, public_key = %s WHERE id = %s",
                [other.sign(tree_head_bytes(to_tree_head(sth))), public_key_bytes(other), sth.pk],
            )
        assert _checks(verify_ledger()) == {"head signature"}

    def test_inconsistent_heads_are_found(self, world, tamper):
        first = head_issue()
        _organisation()
        second = head_issue()
        with tamper() as cursor:
            cursor.execute("UPDATE ledger_signedtreehead SET root = %s WHERE id = %s", [bytes(32), first.pk])
        checks = _checks(verify_ledger())
        assert {"head root", "consistency"} <= checks
        assert second.size > first.size


class TestCommand:
    def test_verify_exits_zero_and_prints_ok(self, world):
        out = io.StringIO()
        call_command("ledger", "verify", stdout=out)
        assert "Result: OK" in out.getvalue()

    def test_verify_fails_with_nonzero_exit_naming_the_record(self, world, tamper):
        org = _organisation()
        with tamper() as cursor:
            cursor.execute("UPDATE accounts_organisation SET kind = 'hospital' WHERE id = %s", [org.pk])
        out = io.StringIO()
        with pytest.raises(CommandError, match="FAILED"):
            call_command("ledger", "verify", stdout=out)
        assert f"accounts.organisation {org.pk}" in out.getvalue()

    def test_verify_json_and_progress_bar(self, world):
        out, err = io.StringIO(), io.StringIO()
        call_command("ledger", "verify", "--json", "--progress", stdout=out, stderr=err)
        assert json.loads(out.getvalue())["ok"] is True
        assert "verify entries" in err.getvalue() and "100.0%" in err.getvalue()

    def test_head_issue_and_show(self, world):
        out = io.StringIO()
        call_command("ledger", "head", "--issue", "--json", stdout=out)
        document = json.loads(out.getvalue())
        assert document["size"] == LedgerHead.objects.get().size
        assert SignedTreeHead.objects.filter(size=document["size"]).exists()

    def test_proofs_verify(self, world):
        import base64

        from cellchain.domain import merkle

        sth = head_issue()
        out = io.StringIO()
        call_command("ledger", "proof", "inclusion", "3", stdout=out)
        proof = json.loads(out.getvalue())
        merkle.verify_inclusion(
            3,
            sth.size,
            base64.b64decode(proof["leaf_hash"]),
            [base64.b64decode(p) for p in proof["proof"]],
            bytes(sth.root),
        )
        with pytest.raises(CommandError, match="not below tree size"):
            call_command("ledger", "proof", "inclusion", str(sth.size), stdout=io.StringIO())


class TestReplayFromValues:
    """Issue 15 section 2: the replay builds states from value tuples; they must be the rows' own states."""

    def test_value_tuples_give_the_same_state_as_the_rows(self, world):
        from cellchain.ledger.replay import replay_sources

        compared = 0
        for source in replay_sources():
            columns = source.value_columns()
            if columns is None:
                continue
            rows = {str(row.pk): source.state(row) for batch in source.rows(500) for row in batch}
            for batch in source.value_rows(500):
                for values in batch:
                    state = {
                        name: convert(value)
                        for (name, convert), value in zip(columns, values[1:], strict=True)
                    }
                    assert state == rows.pop(str(values[0])), source.record_type
                    compared += 1
            assert not rows
        assert compared > 20

    def test_an_adapted_table_is_read_through_its_adapter(self, world):
        from cellchain.ledger.replay import replay_sources

        user = next(source for source in replay_sources() if source.record_type == "accounts.user")
        assert user.value_columns() is None

    def test_replay_reads_no_entry_when_every_row_holds(self, world):
        """The entry pass's bytes serve the replay: only a differing row reads its entry again."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as plain:
            verify_ledger(replay=False)
        with CaptureQueriesContext(connection) as full:
            assert verify_ledger().ok
        table = LedgerEntry._meta.db_table
        reads = lambda captured: [q["sql"] for q in captured.captured_queries if table in q["sql"]]  # noqa: E731
        assert reads(full) == reads(plain)
