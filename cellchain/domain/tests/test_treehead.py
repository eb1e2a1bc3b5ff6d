"""Signed tree heads: the exact bytes a log and its witnesses sign (REGULATORY.md #9, #45)."""

from __future__ import annotations

from datetime import datetime

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.merkle import EMPTY_ROOT
from cellchain.domain.treehead import (
    HEAD_KEY,
    KEY_HANDOVER,
    KEY_HISTORY,
    MAX_SIZE,
    Countersignature,
    HeadKeyUse,
    LogKey,
    TreeHead,
    key_chain,
    key_id,
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


# --- Key handovers and the key history (decision 0008) ------------------------------------------------------

NEXT = key_id(bytes(range(100, 132)))


def test_handover_bytes_name_the_next_key_and_stay_rfc8785() -> None:
    handover = TreeHead(log_id=HEAD.log_id, size=7, root=ROOT, time=HEAD.time, next_key_id=NEXT)
    assert tree_head_bytes(handover) == (
        b'{"log_id":"cellchain-site-sh01","next_key_id":"' + NEXT.encode() + b'",'
        b'"root":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","size":7,"time":"2026-03-01T08:15:00Z"}'
    )
    assert tree_head_bytes(handover) == rfc8785.dumps(tree_head_to_json(handover))
    assert tree_head_from_json(tree_head_to_json(handover)) == handover
    # An ordinary head's bytes are those signed before key rotation existed.
    assert b"next_key_id" not in tree_head_bytes(HEAD)


@pytest.mark.parametrize("bad", ["ABC", NEXT.upper(), NEXT[:63], 7])
def test_next_key_id_must_be_a_sha256_in_lower_case_hex(bad: object) -> None:
    with pytest.raises(ValueError, match="next_key_id"):
        tree_head_from_json({**tree_head_to_json(HEAD), "next_key_id": bad})


def test_key_id_is_the_sha256_of_the_raw_key() -> None:
    import hashlib

    raw = bytes(range(32))
    assert key_id(raw) == hashlib.sha256(raw).hexdigest() and len(key_id(raw)) == 64


def _keys(count: int) -> list[LogKey]:
    """An honest history of `count` keys, each rotated at 10:00 on a later day."""
    history: list[LogKey] = []
    for number in range(count):
        public = bytes([number + 1]) * 32
        history.append(
            LogKey(
                key_id=key_id(public),
                public_key=public,
                activated_at=f"2026-01-{number + 1:02d}T10:00:00.000000Z",
                retired_at=f"2026-01-{number + 2:02d}T10:00:00.000000Z" if number < count - 1 else None,
                predecessor=history[-1].key_id if history else None,
            )
        )
    return history


def _heads(history: list[LogKey], per_key: int = 2) -> list[HeadKeyUse]:
    """Heads of an honest log: each key signs `per_key` heads, the last of them its handover."""
    heads: list[HeadKeyUse] = []
    size = 0
    for number, key in enumerate(history):
        for step in range(per_key):
            size += 3
            last = step == per_key - 1 and number < len(history) - 1
            # Ordinary heads fall within the key's day; the handover is signed at the retirement time.
            time = (
                f"2026-01-{number + 2:02d}T10:00:00Z"
                if last
                else f"2026-01-{number + 1:02d}T1{step + 1}:00:00Z"
            )
            heads.append(
                HeadKeyUse(
                    position=len(heads),
                    size=size,
                    time=time,
                    key_id=key.key_id,
                    next_key_id=history[number + 1].key_id if last else None,
                    signature_valid=True,
                )
            )
    return heads


def _checks(problems: object) -> set[tuple[str, str | None, int | None]]:
    return {(p.check, p.key_id, p.position) for p in problems}  # type: ignore[attr-defined]


def test_honest_history_with_rotations_holds() -> None:
    history = _keys(3)
    chain = key_chain(list(reversed(history)), _heads(history))
    assert chain.ok, chain.problems
    assert [key.key_id for key in chain.keys] == [key.key_id for key in history]
    assert sorted(head.size for head in chain.handovers.values()) == [6, 12]
    assert chain.trusted_from(history[1].key_id) == {history[1].key_id, history[2].key_id}
    assert chain.successor(history[0].key_id) == history[1]


def test_empty_history_without_heads_holds() -> None:
    assert key_chain([], []).ok


def test_head_by_the_retired_key_after_its_handover_is_refused() -> None:
    history = _keys(2)
    heads = _heads(history)
    late = HeadKeyUse(len(heads), 99, "2026-01-02T09:00:00Z", history[0].key_id, None, True)
    problems = key_chain(history, [*heads, late]).problems
    assert (HEAD_KEY, history[0].key_id, late.position) in _checks(problems)
    assert "after its retirement" in problems[0].message and "size 6" in problems[0].message


def test_head_by_the_retired_key_dated_after_its_retirement_is_refused() -> None:
    history = _keys(2)
    heads = _heads(history)
    late = HeadKeyUse(len(heads), 5, "2026-01-03T00:00:00Z", history[0].key_id, None, True)
    assert (HEAD_KEY, history[0].key_id, late.position) in _checks(
        key_chain(history, [*heads, late]).problems
    )


def test_head_by_the_new_key_before_its_handover_is_refused() -> None:
    history = _keys(2)
    heads = _heads(history)
    early = HeadKeyUse(len(heads), 4, "2026-01-02T10:00:00Z", history[1].key_id, None, True)
    problems = key_chain(history, [*heads, early]).problems
    assert _checks(problems) == {(HEAD_KEY, history[1].key_id, early.position)}
    assert "before that key took over at size 6" in problems[0].message


def test_missing_handover_is_refused_naming_the_new_key() -> None:
    history = _keys(2)
    heads = [
        head
        if head.next_key_id is None
        else HeadKeyUse(head.position, head.size, head.time, head.key_id, None, True)
        for head in _heads(history)
    ]
    problems = key_chain(history, heads).problems
    assert (KEY_HANDOVER, history[1].key_id, None) in _checks(problems)


def test_handover_with_a_bad_signature_is_refused() -> None:
    history = _keys(2)
    heads = [
        head
        if head.next_key_id is None
        else HeadKeyUse(head.position, head.size, head.time, head.key_id, head.next_key_id, False)
        for head in _heads(history)
    ]
    checks = _checks(key_chain(history, heads).problems)
    assert (KEY_HANDOVER, history[1].key_id, 1) in checks and (
        KEY_HANDOVER,
        history[1].key_id,
        None,
    ) in checks


def test_handover_signed_by_another_key_is_refused() -> None:
    history = _keys(3)
    heads = _heads(history)
    # The third key is named by a head the second key did not sign.
    wrong = HeadKeyUse(len(heads), 13, "2026-01-03T10:00:00Z", history[0].key_id, history[2].key_id, True)
    checks = _checks(key_chain(history, [*heads, wrong]).problems)
    assert (KEY_HANDOVER, history[2].key_id, wrong.position) in checks


def test_unknown_and_missing_key_ids_are_refused() -> None:
    history = _keys(1)
    stranger = key_id(b"\x09" * 32)
    heads = [
        HeadKeyUse(0, 1, "2026-01-01T11:00:00Z", stranger, None, True),
        HeadKeyUse(1, 2, "2026-01-01T12:00:00Z", None, None, False),
        HeadKeyUse(2, 3, "2026-01-01T12:00:00Z", history[0].key_id, stranger, True),
    ]
    problems = key_chain(history, heads).problems
    assert _checks(problems) == {(HEAD_KEY, stranger, 0), (HEAD_KEY, None, 1), (HEAD_KEY, stranger, 2)}


@pytest.mark.parametrize(
    ("alter", "message"),
    [
        (
            lambda h: [h[0], LogKey(h[1].key_id, b"\x07" * 32, h[1].activated_at, None, h[0].key_id)],
            "not the SHA-256",
        ),
        (
            lambda h: [h[0], LogKey(h[1].key_id, h[1].public_key, h[1].activated_at, None, None)],
            "2 keys without",
        ),
        (
            lambda h: [LogKey(h[0].key_id, h[0].public_key, h[0].activated_at, None, None), h[1]],
            "not recorded as retired",
        ),
        (
            lambda h: [
                h[0],
                LogKey(h[1].key_id, h[1].public_key, h[1].activated_at, "2026-01-05T00:00:00Z", h[0].key_id),
            ],
            "no key is active",
        ),
        (
            lambda h: [
                LogKey(h[0].key_id, h[0].public_key, h[0].activated_at, "2026-01-09T00:00:00Z", None),
                h[1],
            ],
            "after its successor",
        ),
        (
            lambda h: [h[0], LogKey(h[1].key_id, h[1].public_key, "yesterday", None, h[0].key_id)],
            "unreadable",
        ),
        (
            lambda h: [h[0], LogKey(h[1].key_id, h[1].public_key, h[1].activated_at, None, "f" * 64)],
            "not in the key history",
        ),
        (lambda h: [*h, h[1]], "appears twice"),
    ],
)
def test_altered_key_history_is_refused(alter: object, message: str) -> None:
    history = _keys(2)
    problems = key_chain(alter(history), _heads(history)).problems  # type: ignore[operator]
    assert any(problem.check == KEY_HISTORY and message in problem.message for problem in problems), problems


def test_two_successors_of_one_key_are_refused() -> None:
    history = _keys(2)
    public = b"\x05" * 32
    branch = LogKey(key_id(public), public, history[1].activated_at, None, history[0].key_id)
    problems = key_chain([*history, branch], _heads(history)).problems
    assert any("replaced by 2 keys" in problem.message for problem in problems)


@given(rotations=st.integers(0, 5), per_key=st.integers(1, 4), data=st.data())
def test_any_head_by_a_retired_key_past_its_handover_is_found(
    rotations: int, per_key: int, data: st.DataObject
) -> None:
    """Property: honest logs hold; a retired key signing any size past its handover is always refused."""
    history = _keys(rotations + 1)
    heads = _heads(history, per_key)
    chain = key_chain(history, heads)
    assert chain.ok, chain.problems
    if rotations == 0:
        return
    retired = data.draw(st.sampled_from(history[:-1]))
    handover = chain.handovers[chain.successor(retired.key_id).key_id]  # type: ignore[union-attr]
    size = data.draw(st.integers(handover.size + 1, handover.size + 1000))
    late = HeadKeyUse(len(heads), size, handover.time, retired.key_id, None, True)
    assert (HEAD_KEY, retired.key_id, late.position) in _checks(key_chain(history, [*heads, late]).problems)
