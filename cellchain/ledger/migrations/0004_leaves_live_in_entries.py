"""Level 0 of the Merkle tree is each entry's `leaf_hash`; drop its duplicate rows from the node table.

The rows removed are derived data (the same 32 bytes as `ledger_ledgerentry.leaf_hash`), so no history is lost;
the append-only trigger is lifted for this one statement and put back. `ledger verify` checks the result.
"""

from django.db import migrations

TABLE = ("ledger_ledgernode",)


def forwards(apps, schema_editor):
    from cellchain.ledger import triggers

    connection = schema_editor.connection
    triggers.uninstall(connection, TABLE)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_ledgernode WHERE level = 0")
    triggers.install(connection, TABLE)


def backwards(apps, schema_editor):
    from cellchain.ledger import triggers

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO ledger_ledgernode (level, "index", hash) SELECT 0, seq, leaf_hash FROM ledger_ledgerentry'
        )
    triggers.install(connection, TABLE)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_witnessing")]
    operations = [migrations.RunPython(forwards, backwards)]
