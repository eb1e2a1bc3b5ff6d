from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    name = "cellchain.journeys"
    label = "journeys"
    verbose_name = _("Journeys")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Journeys"), "journeys:list", "journeys.view", 20))

        from cellchain.core.worklist import register_worklist
        from cellchain.journeys import worklist

        register_worklist("journeys.collect", worklist.collections_today, 20)

        from cellchain.journeys import messages

        messages.register_kinds()
