"""Signatures name the fields they covered; older signatures get theirs from the ledger (11.70; decision 0010).

See `cellchain.signatures.backfill` for where the fields come from and why each row is ledgered.
"""

from django.db import migrations, models


def backfill(apps, schema_editor):
    # Imported here: the helper reads the ledger with this migration's historical models.
    from cellchain.signatures.backfill import backfill_content_fields

    backfill_content_fields(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0007_migrate_action"),
        ("signatures", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="signature",
            name="content_fields",
            field=models.JSONField(blank=True, null=True, verbose_name="fields of the content signed"),
        ),
        # Reversing drops the column; the ledger keeps the migrate entries (append-only).
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
