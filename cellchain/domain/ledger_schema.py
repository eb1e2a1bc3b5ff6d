"""Schema changes against the record ledger: which row differences a re-baseline may accept (decision 0010).

A regulated row must equal the state in its record's last ledger entry (REGULATORY item 9). A schema change
(a migration adding or removing a column, or a change of which columns the ledger records) makes every older
row differ from its last state *only in its set of fields*: a field the state never had, or a field the model
no longer has. That difference is documented by a re-baseline entry (EU GMP Annex 11 §10, 21 CFR 11.10(e)).
A field present in both whose value differs is never a schema change: it is a change behind the
application's back or a data migration that must ledger itself, and a re-baseline refuses it.

The same rule lets anyone holding only the entries (the offline verifier) check every re-baseline entry
against the record's previous entry: it may add and drop fields, never change one.

Pure Python: states are JSON objects as parsed from the entries (``dict[str, JSON]``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIGRATE_ACTION = "migrate"
"""Ledger action of entries written because of a migration (re-baselines and data migrations)."""
REBASELINE_EVENT = "schema:rebaseline"
"""Event of the entry that re-baselines one record after a schema change."""
REBASELINE_EXTRA = "schema"
"""Key, in a re-baseline entry's ``extra``, of the object naming the fields added and removed."""


def same_json(first: Any, second: Any) -> bool:
    """Equal as JSON values: ``true`` is not ``1`` and ``1`` is not ``1.0`` (Python's == says they are)."""
    if first is second:
        return True
    if type(first) is not type(second):
        return False
    if isinstance(first, str | int | float):
        return bool(first == second)
    return json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


@dataclass(frozen=True)
class StateDifference:
    """How a row's current state differs from its record's last ledger state, by field name (sorted)."""

    added: tuple[str, ...] = ()
    """Fields the current state has and the ledger state lacks (a column added since)."""
    removed: tuple[str, ...] = ()
    """Fields the ledger state has and the current state lacks (a column removed since)."""
    changed: tuple[str, ...] = ()
    """Fields in both whose values differ (never a schema change)."""

    @property
    def none(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def schema_only(self) -> bool:
        """True when the states differ, and only in their sets of fields: a re-baseline may accept it."""
        return not self.changed and bool(self.added or self.removed)


def state_difference(ledger: Mapping[str, Any], current: Mapping[str, Any]) -> StateDifference:
    """Compare the ledger's last state of a record with the row's current state."""
    return StateDifference(
        added=tuple(sorted(name for name in current if name not in ledger)),
        removed=tuple(sorted(name for name in ledger if name not in current)),
        changed=tuple(
            sorted(name for name in ledger if name in current and not same_json(ledger[name], current[name]))
        ),
    )


def field_list(names: tuple[str, ...] | list[str]) -> str:
    """``field a`` / ``fields a, b``: the names as a report writes them."""
    return f"field{'s' if len(names) != 1 else ''} {', '.join(names)}"


def rebaseline_extra(
    difference: StateDifference, migrations: tuple[str, ...], previous_seq: int
) -> dict[str, Any]:
    """The ``extra`` of a re-baseline entry: what changed shape, why, and which entry it continues."""
    return {
        REBASELINE_EXTRA: {
            "added": list(difference.added),
            "removed": list(difference.removed),
            "migrations": list(migrations),
            "previous_seq": previous_seq,
        }
    }


def rebaseline_problems(
    previous: Mapping[str, Any] | None, state: Mapping[str, Any], extra: Mapping[str, Any] | None
) -> tuple[str, ...]:
    """What is wrong with a re-baseline entry whose state is `state`, given the record's previous state.

    Empty when the entry only adds and drops fields, names exactly those in its ``extra``, and changes no value.
    """
    if previous is None:
        return ("re-baselines a record that has no earlier entry",)
    difference = state_difference(previous, state)
    problems = []
    if difference.changed:
        problems.append(
            f"changes the value of {field_list(difference.changed)}: a re-baseline may only add or drop fields"
        )
    if not (difference.added or difference.removed):
        problems.append("adds and drops no field: nothing to re-baseline")
    described = (extra or {}).get(REBASELINE_EXTRA)
    if not isinstance(described, Mapping):
        problems.append("does not say which fields it adds and drops")
    elif list(described.get("added") or []) != list(difference.added) or list(
        described.get("removed") or []
    ) != list(difference.removed):
        problems.append(
            f"says it adds {described.get('added')} and drops {described.get('removed')}, but the state adds "
            f"{list(difference.added)} and drops {list(difference.removed)}"
        )
    return tuple(problems)


def rebaseline_entry_problems(entry: Mapping[str, Any], previous: Mapping[str, Any] | None) -> list[str]:
    """What is wrong with a parsed re-baseline entry, given the record's previous entry (None when there is none
    or it cannot be read): its state against the previous state (``rebaseline_problems``) and its action.

    The one rule of the online (``ledger verify``) and the offline (bundle) verifier alike.
    """
    state, extra = entry.get("state"), entry.get("extra")
    before = None if previous is None else previous.get("state")
    if not isinstance(state, dict) or (previous is not None and not isinstance(before, dict)):
        problems = ["carries no state object to compare"]
    else:
        problems = list(rebaseline_problems(before, state, extra if isinstance(extra, dict) else None))
    if entry.get("action") != MIGRATE_ACTION:
        problems.append(f"has action {entry.get('action')!r}, not {MIGRATE_ACTION!r}")
    return problems


def rebaseline_continues_problems(entry: Mapping[str, Any], previous_seq: Any) -> list[str]:
    """The re-baseline entry must name, as the entry it continues, the record's previous entry `previous_seq`."""
    extra = entry.get("extra")
    described = extra.get(REBASELINE_EXTRA) if isinstance(extra, dict) else None
    if isinstance(described, dict) and described.get("previous_seq") != previous_seq:
        return [
            f"names entry seq {described.get('previous_seq')} as the one it continues, but the record's "
            f"previous entry is seq {previous_seq}"
        ]
    return []
