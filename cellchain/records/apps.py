from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordsConfig(AppConfig):
    name = "cellchain.records"
    label = "records"
    verbose_name = _("Records retention and archive")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Archive"), "records:index", "records.view", 720))
        register_menu(MenuItem(_("Scanned records"), "records:scans", "records.view", 721))
