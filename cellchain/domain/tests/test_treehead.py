"""Signed tree heads: the exact bytes a log and its witnesses sign (REGULATORY.md #9, #45)."""

from __future__ import annotations

from datetime import datetime

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.merkle import EMPTY_ROOT
from cellchain.domain.treehead import (
    MAX_SIZE,
    Countersignature,
    TreeHead,
    tree_head_bytes,
    tree_head_from_json,
    tree_head_to_json,
)

ROOT = bytes(range(32))
HEAD = TreeHead(log_id="cellchain-site-sh01", size=7, root=ROOT, time="2026-03-01T08:15:00Z")

printable_ascii = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)
hashes = st.binary(min_size=32, max_size=32)
utc_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
)


def test_head_bytes_are_sorted_compact_json_with_base64_root() -> None:
    assert tree_head_bytes(HEAD) == (
        b'{"log_id":"cellchain-site-sh01","root":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",'
        b'"size":7,"time":"2026-03-01T08:15:00Z"}'
    )


@given(
    log_id=printable_ascii,
    size=st.integers(0, MAX_SIZE),
    root=st.binary(min_size=32, max_size=32),
    time=utc_times,
)
def test_head_bytes_equal_rfc8785_canonical_json(log_id: str, size: int, root: bytes, time: str) -> None:
    head = TreeHead(log_id=log_id, size=size, root=root, time=time)
    assert tree_head_bytes(head) == rfc8785.dumps(tree_head_to_json(head))


@given(
    log_id=printable_ascii,
    size=st.integers(0, MAX_SIZE),
    root=st.binary(min_size=32, max_size=32),
    time=utc_times,
)
def test_head_survives_a_json_round_trip(log_id: str, size: int, root: bytes, time: str) -> None:
    head = TreeHead(log_id=log_id, size=size, root=root, time=time)
    assert tree_head_from_json(tree_head_to_json(head)) == head


def test_head_accepts_fractional_seconds_and_empty_tree() -> None:
    head = TreeHead(log_id="x", size=0, root=EMPTY_ROOT, time="2026-03-01T08:15:00.123456789Z")
    assert head.size == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"time": "2026-03-01T08:15:00+08:00"}, "RFC 3339 UTC"),
        ({"time": "2026-03-01 08:15:00Z"}, "RFC 3339 UTC"),
        ({"time": "2026-02-30T08:15:00Z"}, "real calendar time"),
        ({"log_id": "站点"}, "printable ASCII"),
        ({"log_id": ""}, "printable ASCII"),
        ({"size": -1}, "integer from 0"),
        ({"size": MAX_SIZE + 1}, "integer from 0"),
        ({"size": True}, "integer from 0"),
        ({"root": ROOT[:31]}, "31 bytes"),
    ],
)
def test_head_refuses_values_that_would_not_canonicalise_or_mean_nothing(
    changes: dict[str, object], reason: str
) -> None:
    fields = {"log_id": HEAD.log_id, "size": HEAD.size, "root": HEAD.root, "time": HEAD.time, **changes}
    with pytest.raises(ValueError, match=reason):
        TreeHead(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "head: expected an object"),
        ({"log_id": "x", "size": "7", "root": "", "time": "2026-03-01T08:15:00Z"}, "head.size: expected int"),
        (
            {"log_id": "x", "size": 7, "root": "%%%", "time": "2026-03-01T08:15:00Z"},
            "head.root: not valid base64",
        ),
        ({"log_id": "x", "size": 7, "root": "AAAA", "time": "2026-03-01T08:15:00Z"}, "head: root is 3 bytes"),
        ({"size": 7, "root": "AAAA", "time": "2026-03-01T08:15:00Z"}, "head.log_id: expected str"),
    ],
)
def test_head_from_json_names_the_bad_field(data: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        tree_head_from_json(data)


def test_countersignature_names_its_witness() -> None:
    with pytest.raises(ValueError, match="witness_id"):
        Countersignature(witness_id="", head=HEAD, signature=b"\x00" * 64)
