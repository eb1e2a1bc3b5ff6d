import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor):
    from cellchain.ledger import triggers

    triggers.install(schema_editor.connection, triggers.WITNESS_TABLES)


def uninstall(apps, schema_editor):
    from cellchain.ledger import triggers

    triggers.uninstall(schema_editor.connection, triggers.WITNESS_TABLES)


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0002_append_only_triggers"),
    ]

    operations = [
        migrations.CreateModel(
            name="WitnessedHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("voided_at", models.DateTimeField(blank=True, null=True, verbose_name="voided at")),
                ("void_reason", models.TextField(blank=True, verbose_name="reason for voiding")),
                ("log_id", models.CharField(max_length=100, verbose_name="partner log id")),
                ("size", models.BigIntegerField(verbose_name="tree size")),
                ("root", models.BinaryField(max_length=32, verbose_name="root hash")),
                ("time", models.CharField(max_length=40, verbose_name="time (RFC 3339 UTC)")),
                ("signature", models.BinaryField(max_length=64, verbose_name="partner's Ed25519 signature")),
                ("public_key", models.BinaryField(max_length=32, verbose_name="partner's public key")),
                ("witness_id", models.CharField(max_length=100, verbose_name="our witness id")),
                ("countersignature", models.BinaryField(max_length=64, verbose_name="our Ed25519 countersignature")),
                ("countersigned_at", models.DateTimeField(verbose_name="countersigned at")),
                ("consistency_proof", models.TextField(blank=True, verbose_name="consistency proof (JSON list of base64 hashes)")),
                ("consistent_with", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="ledger.witnessedhead", verbose_name="shown consistent with")),
            ],
            options={
                "verbose_name": "witnessed partner head",
                "ordering": ["log_id", "size"],
                "abstract": False,
                "constraints": [models.UniqueConstraint(fields=("log_id", "size"), name="witnessed_head_one_per_size")],
            },
        ),
        migrations.CreateModel(
            name="HeadCountersignature",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("voided_at", models.DateTimeField(blank=True, null=True, verbose_name="voided at")),
                ("void_reason", models.TextField(blank=True, verbose_name="reason for voiding")),
                ("witness_id", models.CharField(max_length=100, verbose_name="witness id")),
                ("public_key", models.BinaryField(max_length=32, verbose_name="witness's public key")),
                ("signature", models.BinaryField(max_length=64, verbose_name="witness's Ed25519 signature")),
                ("received_at", models.DateTimeField(verbose_name="received at")),
                ("head", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="countersignatures", to="ledger.signedtreehead", verbose_name="our signed head")),
            ],
            options={
                "verbose_name": "countersignature of our head",
                "ordering": ["head__size", "witness_id"],
                "abstract": False,
                "constraints": [models.UniqueConstraint(fields=("head", "witness_id"), name="countersignature_one_per_witness")],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
