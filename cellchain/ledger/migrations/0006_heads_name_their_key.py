"""Heads signed before key rotation existed: name the key that signed them and register it (decision 0008).

Each such head gets `key_id` = SHA-256 of the public key stored with it (derived data, as in 0004: the append-only
trigger of the head table is lifted for these statements and put back). The key of the newest of them, the key
the installation signs with now, becomes the first key of the key history, with a ledger entry, so that
`ledger verify` right after the migration checks the old heads against it. A head whose stored key is another
one (it failed verification before this change too) keeps that key id and is reported as signed by an unknown
key.
"""

import datetime as dt
import hashlib

from django.db import migrations

HEADS = ("ledger_signedtreehead",)
REASON = (
    "signing key of the heads issued before key rotation existed (migration 0006); it signed {count} head(s)"
)


class _Record:
    """The key row as `ledger_append` reads a record: the historical model has no ledger methods."""

    def __init__(self, row):
        self.row, self.pk = row, row.pk

    @staticmethod
    def ledger_record_type():
        return "ledger.ledgersigningkey"

    def ledger_state(self):
        from cellchain.ledger.state import row_state

        return row_state(self.row)


def _moment(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def forwards(apps, schema_editor):
    from cellchain.ledger import triggers
    from cellchain.ledger.services import ledger_append

    head_model = apps.get_model("ledger", "SignedTreeHead")
    key_model = apps.get_model("ledger", "LedgerSigningKey")
    connection = schema_editor.connection
    unnamed = list(
        head_model.objects.filter(key_id__isnull=True).order_by("size").values_list("id", "public_key", "time")
    )
    if unnamed:
        triggers.uninstall(connection, HEADS)
        with connection.cursor() as cursor:
            for pk, public_key, _time in unnamed:
                cursor.execute(
                    "UPDATE ledger_signedtreehead SET key_id = %s WHERE id = %s",
                    [hashlib.sha256(bytes(public_key)).hexdigest(), pk],
                )
        triggers.install(connection, HEADS)
    if not unnamed or key_model.objects.exists():
        return
    current = bytes(unnamed[-1][1])
    signed = [time for _pk, public_key, time in unnamed if bytes(public_key) == current]
    reason = REASON.format(count=len(signed))
    key = key_model.objects.create(
        key_id=hashlib.sha256(current).hexdigest(),
        public_key=current,
        state="active",
        activated_at=_moment(signed[0]),
        activation_reason=reason,
        retirement_reason="",
        void_reason="",
    )
    ledger_append(
        actor=None,
        record=_Record(key),
        action="create",
        event="ledger_key:register",
        reason=reason,
        extra={"migration": "ledger.0006", "heads": len(signed)},
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_signing_key_history")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
