from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CapaConfig(AppConfig):
    name = "cellchain.capa"
    label = "capa"
    verbose_name = _("CAPA and change control")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("CAPA"), "capa:index", "capa.view", 715))
        register_menu(MenuItem(_("Change control"), "capa:changes", "capa.view_changes", 716))

        from cellchain.capa import worklist
        from cellchain.core.worklist import register_worklist

        register_worklist("capa.complete_action", worklist.my_actions, 705)
