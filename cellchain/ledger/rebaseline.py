"""Schema re-baseline of the record ledger, and ledger entries written by data migrations (decision 0010).

A migration that adds a column to a regulated table (or removes one, or changes what a model records in the
ledger) leaves every older row differing from its record's last ledger state in its *set of fields* only, and
`ledger verify` reports each. `ledger_schema_rebaseline` documents that change under change control (EU GMP
Annex 11 §10; 21 CFR 11.10(e)): one `migrate` entry per such record, carrying the row's full new state, the
fields added and removed, the applied migrations that did it, the entry it continues, and the operator's
reason and name. It never accepts a row in which a field present in both states has another value: that is a
change behind the application's back, or a data migration that must ledger its own changes
(`ledger_migration_append`), and it is reported and left for `verify` to flag.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from cellchain.core.errors import ValidationFailed
from cellchain.domain.ledger_schema import (
    MIGRATE_ACTION,
    REBASELINE_EVENT,
    StateDifference,
    field_list,
    rebaseline_extra,
    same_json,
    state_difference,
)
from cellchain.ledger.actor import actor_json
from cellchain.ledger.canonical import canonical_bytes
from cellchain.ledger.models import LedgerEntry, LedgerHead
from cellchain.ledger.replay import (
    ReplayRow,
    ReplayScan,
    ReplaySource,
    entry_state,
    entry_state_bytes,
    record_state,
    replay_sources,
)
from cellchain.ledger.schema import SchemaHistory
from cellchain.ledger.services import append_state
from cellchain.ledger.state import field_value

REFUSALS_SHOWN = 200
"""Refused records listed by `lines()`; the rest are counted (all are in `to_json()`)."""


@dataclass(frozen=True)
class RebaselinedRecord:
    """One record re-baselined (or, on a dry run, that would be)."""

    record_type: str
    record_id: str
    previous_seq: int
    seq: int | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    migrations: tuple[str, ...]
    not_default: tuple[str, ...] = ()
    """Added fields whose value is not the field's default, which an added column gets: filled by a data
    migration, or changed between the migration and the re-baseline. Shown for review."""


@dataclass(frozen=True)
class RefusedRecord:
    """A row the re-baseline did not accept, and why; `ledger verify` goes on reporting it."""

    record_type: str
    record_id: str
    seq: int | None
    message: str


@dataclass
class RebaselineReport:
    """What `ledger_schema_rebaseline` examined, appended and refused; `ok` when nothing was refused."""

    reason: str
    dry_run: bool
    examined: int = 0
    rebaselined: list[RebaselinedRecord] = field(default_factory=list)
    refused: list[RefusedRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}

    def lines(self) -> list[str]:
        """The report for a person: per table what was re-baselined and why, then each refusal."""
        verb = "would re-baseline" if self.dry_run else "re-baselined"
        lines = [
            f"{self.examined} regulated rows compared with their last ledger entries; {verb} {len(self.rebaselined)}."
        ]
        groups: dict[
            tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], list[RebaselinedRecord]
        ] = {}
        for record in self.rebaselined:
            groups.setdefault(
                (record.record_type, record.added, record.removed, record.migrations), []
            ).append(record)
        for (record_type, added, removed, migrations), records in groups.items():
            change = " and ".join(
                part
                for part in (
                    f"{field_list(added)} added" if added else "",
                    f"{field_list(removed)} removed" if removed else "",
                )
                if part
            )
            source = ", ".join(migrations) or "no applied migration names them"
            seqs = [record.seq for record in records if record.seq is not None]
            where = f"; entries seq {min(seqs)}..{max(seqs)}" if seqs else ""
            lines.append(f"  {record_type}: {len(records)} record(s), {change} ({source}){where}")
        review = [record for record in self.rebaselined if record.not_default]
        if review:
            lines.append(
                f"Review: {len(review)} re-baselined record(s) hold an added field whose value is not the field's "
                "default (filled by a data migration, or changed since the migration):"
            )
            lines += [
                f"  {record.record_type} {record.record_id}: {', '.join(record.not_default)}"
                for record in review[:REFUSALS_SHOWN]
            ]
        if self.refused:
            lines.append(
                f"REFUSED: {len(self.refused)} row(s) differ from their last ledger entry in a value, not only in "
                "their fields; they were not re-baselined and `ledger verify` goes on reporting them:"
            )
            for record in self.refused[:REFUSALS_SHOWN]:
                at = f" (last entry seq {record.seq})" if record.seq is not None else ""
                lines.append(f"  {record.record_type} {record.record_id}{at}: {record.message}")
            if len(self.refused) > REFUSALS_SHOWN:
                lines.append(f"  ... and {len(self.refused) - REFUSALS_SHOWN} more (see --json)")
        return lines


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _json(value: Any) -> Any:
    """A field value as it reads back from an entry's JSON (choices members become plain strings)."""
    return json.loads(canonical_bytes(value))


class _Rebaseline:
    def __init__(self, report: RebaselineReport, who: dict[str, Any], chunk: int) -> None:
        self.report, self.who, self.chunk = report, who, chunk
        self._history: SchemaHistory | None = None

    @property
    def history(self) -> SchemaHistory:
        # Read only when some row needs it: a database with nothing to re-baseline never loads the graph.
        if self._history is None:
            self._history = SchemaHistory.load()
        return self._history

    def source(self, source: ReplaySource) -> None:
        columns = {column.attname: column for column in source.model._meta.concrete_fields}
        for batch in ReplayScan(source, self.chunk):
            for item in batch:
                self.report.examined += 1
                self.row(source, columns, item)

    def refuse(self, source: ReplaySource, item: ReplayRow, message: str) -> None:
        self.report.refused.append(RefusedRecord(source.record_type, item.record_id, item.seq, message))

    def row(self, source: ReplaySource, columns: dict[str, models.Field[Any, Any]], item: ReplayRow) -> None:
        if item.seq is None:
            self.refuse(source, item, "row has no ledger entry: inserted behind the application's back")
            return
        state = source.state(item.row)
        current = canonical_bytes(state)
        if item.entry is not None and entry_state_bytes(item.seq, item.entry) == current:
            return
        ledger = entry_state(item.entry)
        if not isinstance(ledger, dict):
            self.refuse(source, item, "the last entry of this record carries no readable state")
            return
        current_state = json.loads(current)
        difference = state_difference(ledger, current_state)
        if not difference.schema_only:
            self.refuse(source, item, self._refusal(source.record_type, difference, ledger, current_state))
            return
        migrations = self.history.migrations_for(source.record_type, (*difference.added, *difference.removed))
        not_default = tuple(
            name
            for name in difference.added
            if name in columns
            and not same_json(
                current_state[name], _json(field_value(columns[name], columns[name].get_default()))
            )
        )
        seq = None
        if not self.report.dry_run:
            reason = (
                f"{self.report.reason.strip()}; schema re-baseline: "
                f"{self.history.describe(source.record_type, difference.added, difference.removed)}"
            )
            extra = rebaseline_extra(difference, migrations, item.seq)
            if not_default:
                extra["schema"]["not_default"] = list(not_default)
            seq = append_state(
                who=self.who,
                record_type=source.record_type,
                record_id=item.record_id,
                state=state,
                action=MIGRATE_ACTION,
                event=REBASELINE_EVENT,
                reason=reason,
                extra=extra,
            ).seq
        self.report.rebaselined.append(
            RebaselinedRecord(
                source.record_type,
                item.record_id,
                item.seq,
                seq,
                difference.added,
                difference.removed,
                migrations,
                not_default,
            )
        )

    def _refusal(
        self, record_type: str, difference: StateDifference, ledger: dict[str, Any], current: dict[str, Any]
    ) -> str:
        if difference.none:
            return "the row's state differs from its last entry's bytes but in no field: re-append it by its service"
        details = "; ".join(
            f"{name}: {_show(ledger[name])} in the ledger, {_show(current[name])} in the table"
            for name in difference.changed[:5]
        )
        message = f"{field_list(difference.changed)} changed behind the application's back: {details}"
        altered = self.history.migrations_for(record_type, difference.changed)
        if altered:
            message += (
                f" (migration {', '.join(altered)} touched these fields: a data migration must ledger the values it "
                "changes with ledger_migration_append)"
            )
        if difference.added or difference.removed:
            message += (
                f"; besides, {self.history.describe(record_type, difference.added, difference.removed)}"
            )
        return message


@transaction.atomic
def ledger_schema_rebaseline(
    *, actor: Any | None, reason: str, dry_run: bool = False, chunk: int = 2000
) -> RebaselineReport:
    """Re-baseline every regulated record whose row differs from its last ledger state only in its set of fields.

    Decision 0010; EU GMP Annex 11 §10, 21 CFR 11.10(e). For each such row, one entry (action `migrate`, event
    `schema:rebaseline`) with the row's full state; its reason is `reason` (the change-control reference)
    followed by the fields added and removed and the applied migrations that changed them, and its `extra`
    names them and the entry it continues. A row where a field present in both states differs, a row without
    any entry, or an unreadable last entry is refused and listed, never re-baselined. Holds the head-row lock
    for the whole pass, so no append interleaves; `dry_run` appends nothing. Idempotent: a second run finds
    nothing to do.
    """
    if not reason.strip():
        raise ValidationFailed(
            _("Give the reason for the schema re-baseline (the change-control reference of the upgrade)."),
            field="reason",
        )
    if not dry_run:
        LedgerHead.objects.select_for_update().get_or_create(pk=1)
    report = RebaselineReport(reason=reason.strip(), dry_run=dry_run)
    work = _Rebaseline(report, actor_json(actor), chunk)
    for source in replay_sources():
        work.source(source)
    return report


def ledger_migration_append(
    *, row: models.Model, migration: str, event: str, reason: str, extra: dict[str, Any] | None = None
) -> LedgerEntry:
    """Ledger the values a data migration changed in one regulated row (decision 0010; X-3).

    Call it from the migration's `RunPython` function for every regulated row it changes, after saving the row,
    inside the migration's transaction (the default, `atomic = True`). `row` may be a historical model
    instance (`apps.get_model(...)`), which has no `ledger_state()`: its state is read as `ledger verify`
    reads the row, from the instance's columns at this point of the migration history, minus the current
    model's `ledger_exclude` (through the adapter for `accounts.user`). The entry's action is `migrate`, its
    actor the system, its `extra` names `migration` ("app_label.0007_name"). Give the migration a dependency
    on `("ledger", "0007_migrate_action")`. Columns added by later migrations of the same upgrade are left to
    `ledger rebaseline` as usual.
    """
    if not migration.strip():
        raise ValueError("name the data migration (app_label.0007_name) whose change this entry ledgers")
    record_type = row._meta.label_lower
    return append_state(
        who=actor_json(None),
        record_type=record_type,
        record_id=str(row.pk),
        state=record_state(record_type, row),
        action=MIGRATE_ACTION,
        event=event,
        reason=reason,
        extra={"migration": migration, **(extra or {})},
    )
