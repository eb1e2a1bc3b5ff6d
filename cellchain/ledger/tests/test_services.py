"""`ledger_append`: one entry in the caller's transaction, canonical bytes, tree extended (issue 3 items 1-3)."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.accounts.models import Organisation
from cellchain.domain import merkle
from cellchain.ledger import heads, proofs
from cellchain.ledger.canonical import canonical_bytes
from cellchain.ledger.models import LedgerEntry, LedgerHead, LedgerNode, SignedTreeHead
from cellchain.ledger.services import LedgerError, ledger_append
from cellchain.ledger.tests.behind import create_unledgered

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


class TestCanonicalBytes:
    @settings(max_examples=400, deadline=None)
    @given(JSON)
    def test_fast_path_writes_exactly_the_rfc_8785_bytes(self, value):
        try:
            expected = rfc8785.dumps(value)
        except Exception as error:
            with pytest.raises(type(error)):
                canonical_bytes(value)
            return
        assert canonical_bytes(value) == expected

    def test_control_characters_and_chinese_text(self):
        value = {"b": '李娜\u0001\n\t"\\/\u2028', "a": [1, True, None, -(2**53 - 1)]}
        assert canonical_bytes(value) == rfc8785.dumps(value)


@pytest.fixture
def organisation(db):
    return create_unledgered(Organisation, code="acme", name="Acme", kind="hospital")


class TestLedgerAppend:
    def test_entry_is_canonical_and_its_leaf_hash_is_rfc_9162(self, organisation, world):
        with transaction.atomic():
            entry = ledger_append(
                actor=world["qa_li"], record=organisation, action="create", event="organisation:create"
            )
        stored = LedgerEntry.objects.get(seq=entry.seq)
        data = bytes(stored.canonical)
        document = json.loads(data)
        assert data == rfc8785.dumps(document)
        assert bytes(stored.leaf_hash) == hashlib.sha256(b"\x00" + data).digest() == merkle.leaf_hash(data)
        assert document["actor"] == {
            "id": world["qa_li"].pk,
            "name": "李娜 Li Na",
            "roles": ["qa"],
            "organisation": "shenghe",
            "site": "shenghe-prod",
        }
        assert document["record"] == {"type": "accounts.organisation", "id": str(organisation.pk)}
        assert document["state"]["name"] == "Acme" and document["seq"] == stored.seq

    def test_outside_a_transaction_is_refused(self, ledger_transactional_db):
        organisation = create_unledgered(Organisation, code="acme", name="Acme", kind="hospital")
        with pytest.raises(LedgerError, match="transaction"):
            ledger_append(actor=None, record=organisation, action="create", event="organisation:create")

    @pytest.mark.parametrize("action", ["amend", "void"])
    def test_amend_and_void_need_a_reason(self, organisation, action):
        with pytest.raises(LedgerError, match="needs a reason"), transaction.atomic():
            ledger_append(actor=None, record=organisation, action=action, event="x:y", reason="  ")

    def test_unknown_action_and_unsaved_record_are_refused(self, db):
        with pytest.raises(LedgerError, match="unknown"), transaction.atomic():
            ledger_append(actor=None, record=Organisation(code="x"), action="delete", event="x:y")
        with pytest.raises(LedgerError, match="save"), transaction.atomic():
            ledger_append(actor=None, record=Organisation(code="x"), action="create", event="x:y")

    def test_rollback_takes_the_entry_with_it(self, organisation):
        before = LedgerHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0
        with pytest.raises(RuntimeError), transaction.atomic():
            ledger_append(actor=None, record=organisation, action="create", event="organisation:create")
            raise RuntimeError("the service failed after appending")
        assert (LedgerHead.objects.filter(pk=1).values_list("size", flat=True).first() or 0) == before
        assert not LedgerEntry.objects.filter(seq__gte=before).exists()

    def test_tree_nodes_give_the_same_root_as_the_domain(self, organisation):
        store = merkle.MemoryNodeStore()
        for _ in range(13):
            with transaction.atomic():
                entry = ledger_append(
                    actor=None, record=organisation, action="amend", event="x:y", reason="r"
                )
        for data in LedgerEntry.objects.order_by("seq").values_list("canonical", flat=True):
            store.append(bytes(data))
        size = entry.seq + 1
        assert proofs.tree_root(size) == store.root()
        assert not LedgerNode.objects.filter(level=0).exists()
        for seq in range(size):
            merkle.verify_inclusion(
                seq, size, proofs.leaf_hash(seq), proofs.inclusion_proof(seq, size), store.root()
            )


class TestSignedHeads:
    def test_head_is_issued_every_n_entries_after_commit(
        self, organisation, settings, django_capture_on_commit_callbacks
    ):
        settings.CELLCHAIN_HEAD_EVERY_ENTRIES = 4
        heads._last_seen.clear()
        for _ in range(9):
            with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
                ledger_append(actor=None, record=organisation, action="amend", event="x:y", reason="r")
        # The first head registers the log's first signing key, itself a ledger entry (decision 0008): 1 + 1.
        assert list(SignedTreeHead.objects.values_list("size", flat=True)) == [2, 6, 10]

    def test_head_signature_verifies_and_reissue_at_same_size_returns_it(self, organisation):
        from cellchain.verifier.signing import verify_head_signature

        with transaction.atomic():
            ledger_append(actor=None, record=organisation, action="create", event="organisation:create")
        first = heads.head_issue()
        assert heads.head_issue() == first
        verify_head_signature(bytes(first.public_key), heads.to_tree_head(first), bytes(first.signature))
        assert bytes(first.root) == proofs.tree_root(first.size)

    def test_key_file_is_private(self, settings, tmp_path):
        import stat

        from cellchain.ledger import keys

        settings.CELLCHAIN_LEDGER_KEY_PATH = tmp_path / "key.pem"
        keys.signing_key()
        assert stat.S_IMODE((tmp_path / "key.pem").stat().st_mode) == 0o600


@pytest.mark.django_db
class TestAppendQueries:
    """Issue 15 section 2: an append costs a fixed handful of statements, whatever the size of the ledger."""

    def _append_queries(self, record: Organisation) -> list[str]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            ledger_append(actor=None, record=record, action="create", event="organisation:create")
        return [query["sql"] for query in captured.captured_queries]

    def test_an_append_is_the_head_update_the_entry_and_at_most_two_tree_statements(self):
        records = [
            create_unledgered(Organisation, code=f"q-{n}", name="Q", name_en="Q", kind="hospital")
            for n in range(40)
        ]
        self._append_queries(records.pop())  # the very first append creates the head row
        counts = []
        for record in records:
            size = heads.current_size()
            sql = self._append_queries(record)
            statements = [q for q in sql if "SAVEPOINT" not in q.upper()]
            # The head row's lock and seq, the entry; when the new leaf completes subtrees: one read of their
            # left siblings and one insert of the completed nodes. No lookup of the head, no SELECT ... FOR UPDATE.
            assert len(statements) == (2 if size % 2 == 0 else 4), statements
            assert not any("FOR UPDATE" in q.upper() for q in statements)
            counts.append(len(statements))
        assert set(counts) == {2, 4}
