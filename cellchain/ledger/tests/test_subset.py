"""The subset bundle of some records: built from the database, checked by `cellchain-verify`, tampering found,
and its query count independent of the number of entries (issue 14 item 6; REGULATORY.md #9, #45)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cellchain.accounts import services as accounts
from cellchain.accounts.models import Organisation
from cellchain.ledger.export import b64
from cellchain.ledger.heads import current_size, head_issue
from cellchain.ledger.records import record_amend
from cellchain.ledger.rotation import signing_key_rotate
from cellchain.ledger.subset import subset_bundle
from cellchain.verifier import verify_subset_bundle
from cellchain.verifier.cli import EXIT_FAILED, EXIT_OK
from cellchain.verifier.cli import main as verify_main

pytestmark = pytest.mark.django_db
SUBJECT = {"kind": "test", "id": "orgs", "title": "Some organisations"}


def _organisations(prefix: str, count: int, amendments: int = 1) -> list[Organisation]:
    made = []
    for number in range(count):
        org = accounts.organisation_create(
            actor=None, code=f"{prefix}-{number}", name=f"Org {number}", kind="hospital"
        )
        for change in range(amendments):
            org.name = f"Org {number} v{change + 2}"
            record_amend(
                actor=None, record=org, event="organisation:rename", reason="renamed", fields=["name"]
            )
        made.append(org)
    return made


def _refs(orgs: list[Organisation]) -> list[tuple[str, str]]:
    return [("accounts.organisation", str(org.pk)) for org in orgs]


def _verify_cli(tmp_path: Path, bundle: dict[str, Any], *options: str) -> int:
    path = tmp_path / "subset.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return verify_main([str(path), *options])


class TestSubsetBundle:
    def test_exactly_the_records_entries_with_proofs_verify(self, tmp_path: Path) -> None:
        chosen = _organisations("in", 3)
        others = _organisations("out", 2)
        bundle = subset_bundle(_refs(chosen), subject=SUBJECT)
        wanted = {str(org.pk) for org in chosen}
        kinds = {(e["type"], e["id"]) for e in bundle["records"]}
        assert {pk for kind, pk in kinds if kind == "accounts.organisation"} == wanted
        assert not {str(org.pk) for org in others} & {pk for _k, pk in kinds}
        listed = [r for r in bundle["records"] if r["type"] == "accounts.organisation"]
        assert all(len(record["seqs"]) == 2 for record in listed)
        assert any(r["type"] == "ledger.ledgersigningkey" for r in bundle["records"])
        assert verify_subset_bundle(bundle).ok
        assert _verify_cli(tmp_path, bundle) == EXIT_OK

    def test_a_head_is_issued_first_when_the_newest_entries_are_not_covered(self) -> None:
        head_issue()
        late = _organisations("late", 1)
        bundle = subset_bundle(_refs(late), subject=SUBJECT)
        assert bundle["head"]["size"] == current_size()
        assert [len(r["seqs"]) for r in bundle["records"] if r["type"] == "accounts.organisation"] == [2]

    def test_an_entry_changed_behind_the_applications_back_fails(self, tmp_path: Path, tamper: Any) -> None:
        chosen = _organisations("in", 2)
        head_issue()
        with tamper() as cursor:
            cursor.execute(
                "UPDATE ledger_ledgerentry SET canonical = %s WHERE record_type = %s AND record_id = %s AND action = %s",
                [
                    b'{"seq":0}',
                    "accounts.organisation",
                    str(chosen[0].pk),
                    "amend",
                ],
            )
        bundle = subset_bundle(_refs(chosen), subject=SUBJECT)
        report = verify_subset_bundle(bundle)
        assert "inclusion" in {finding.check for finding in report.failures}
        assert _verify_cli(tmp_path, bundle) == EXIT_FAILED

    def test_a_subset_across_a_key_rotation_verifies_with_the_first_key(self, tmp_path: Path) -> None:
        chosen = _organisations("in", 2)
        first = bytes(head_issue().public_key)
        signing_key_rotate(actor=None, reason="yearly rotation")
        chosen += _organisations("after", 1)
        bundle = subset_bundle(_refs(chosen), subject=SUBJECT)
        assert len(bundle["keys"]) == 2 and len(bundle["handovers"]) == 1
        assert _verify_cli(tmp_path, bundle, "--log-key", b64(first)) == EXIT_OK

    @pytest.mark.parametrize("count", [3, 30])
    def test_query_count_does_not_grow_with_the_entries(
        self, count: int, django_assert_max_num_queries: Any
    ) -> None:
        chosen = _organisations("q", count, amendments=2)
        head_issue()
        with django_assert_max_num_queries(12):
            bundle = subset_bundle(_refs(chosen), subject=SUBJECT)
        assert len(bundle["entries"]) >= 3 * count
