from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DossiersConfig(AppConfig):
    name = "cellchain.dossiers"
    label = "dossiers"
    verbose_name = _("Inspection dossiers")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Inspection dossiers"), "dossiers:list", "dossiers.view", 820))
