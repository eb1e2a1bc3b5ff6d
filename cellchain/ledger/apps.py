from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "cellchain.ledger"
    label = "ledger"
    verbose_name = _("Record ledger")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Audit trail"), "ledger:trail", "ledger.view_trail", 800))
        register_menu(MenuItem(_("Ledger status"), "ledger:status", "ledger.view_trail", 810))

        from cellchain.ledger import heads, services

        # A head every N entries or T seconds, checked after each committed append (issue 3 item 3).
        services.after_append_committed(heads.issue_head_if_due)

        from django.db.models.signals import post_migrate

        from cellchain.ledger.schema import remind_after_migrate

        # Once per `migrate` (sent for this app only): name the re-baseline a schema change made due (0010).
        post_migrate.connect(remind_after_migrate, sender=self, dispatch_uid="ledger-rebaseline-reminder")
