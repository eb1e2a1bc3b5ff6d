"""Out-of-range dates and sizes get a clear 400/422 (what, where, why), never a 500 (issue 15 item 3)."""

from __future__ import annotations

import pytest

from cellchain.ledger.heads import head_issue

pytestmark = pytest.mark.django_db

HUGE = [2**63, 2**64, -1]  # past the 64-bit columns, and below zero


class TestTrailDates:
    @pytest.mark.parametrize("path", ["/ledger/trail/", "/ledger/trail.csv"])
    def test_the_last_representable_day_is_no_upper_bound(self, world, client_for, path):
        response = client_for("auditor_xiehe").get(path, {"to": "9999-12-31"})
        assert response.status_code == 200
        if path.endswith(".csv"):
            assert b"".join(response.streaming_content)

    def test_the_first_and_last_days_keep_every_entry(self, world, client_for):
        client = client_for("auditor_xiehe")
        everything = client.get("/ledger/trail/").context["page"].entries
        bounded = client.get("/ledger/trail/", {"to": "9999-12-31", "from": "0001-01-01"}).context["page"]
        assert [e.seq for e in bounded] == [e.seq for e in everything]

    @pytest.mark.parametrize("bound", ["before", "after"])
    def test_a_page_bound_past_the_seq_column_shows_the_first_page(self, world, client_for, bound):
        client = client_for("auditor_xiehe")
        first = client.get("/ledger/trail/").context["page"].entries
        response = client.get("/ledger/trail/", {bound: str(2**64)})
        assert response.status_code == 200
        assert [e.seq for e in response.context["page"]] == [e.seq for e in first]


class TestProofSizes:
    @pytest.mark.parametrize("seq", HUGE)
    def test_inclusion_index_out_of_range(self, world, client_for, seq):
        head_issue()
        response = client_for("qa_li").get(f"/api/ledger/proofs/inclusion/{seq}")
        assert response.status_code in (400, 422), response.content
        assert "seq" in response.json()["message"]

    @pytest.mark.parametrize("size", [*HUGE, "beyond"])
    def test_inclusion_size_out_of_range(self, world, client_for, size):
        sth = head_issue()
        size = sth.size + 1 if size == "beyond" else size
        response = client_for("qa_li").get(f"/api/ledger/proofs/inclusion/0?size={size}")
        assert response.status_code in (400, 422), response.content
        assert "size" in response.json()["message"]

    def test_a_size_past_the_tree_says_how_large_the_tree_is(self, world, client_for):
        sth = head_issue()
        body = client_for("qa_li").get(f"/api/ledger/proofs/inclusion/0?size={sth.size + 1}").json()
        assert body["detail"] == {"check": "size_beyond_tree", "tree_size": sth.size, "field": "size"}
        assert (
            body["message"] == f"size {sth.size + 1} is beyond the ledger tree, which has {sth.size} entries."
        )

    def test_a_number_past_64_bits_names_the_parameter_and_the_limit(self, world, client_for):
        body = client_for("qa_li").get(f"/api/ledger/proofs/inclusion/{2**64}").json()
        assert body["code"] == "invalid_input" and "seq" in body["message"]
        assert str(2**63 - 1) in body["message"]

    @pytest.mark.parametrize("which", ["old_size", "new_size"])
    @pytest.mark.parametrize("size", [*HUGE, "beyond"])
    def test_consistency_sizes_out_of_range(self, world, client_for, which, size):
        sth = head_issue()
        sizes = {"old_size": 1, "new_size": sth.size}
        sizes[which] = sth.size + 1 if size == "beyond" else size
        response = client_for("qa_li").get("/api/ledger/proofs/consistency", sizes)
        assert response.status_code in (400, 422), response.content
        assert "size" in response.json()["message"]

    @pytest.mark.parametrize(
        "path",
        [
            "/api/ledger/heads/{n}",
            "/api/ledger/entries/{n}",
            "/api/ledger/export?size={n}",
            "/api/ledger/verify/{n}",
        ],
    )
    @pytest.mark.parametrize("n", HUGE)
    def test_other_sizes_and_sequence_numbers(self, world, client_for, path, n):
        head_issue()
        response = client_for("qa_li").get(path.format(n=n))
        assert response.status_code in (400, 422), response.content
