"""Refuse UPDATE and DELETE on ledger tables at the database level (issue 3 item 7)."""

from django.db import migrations


def install(apps, schema_editor):
    from cellchain.ledger import triggers

    triggers.install(schema_editor.connection, triggers.FIRST_TABLES)


def uninstall(apps, schema_editor):
    from cellchain.ledger import triggers

    triggers.uninstall(schema_editor.connection, triggers.FIRST_TABLES)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
