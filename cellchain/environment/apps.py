from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnvironmentConfig(AppConfig):
    name = "cellchain.environment"
    label = "environment"
    verbose_name = _("Clean zones and environmental monitoring")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Environment"), "environment:index", "environment.view", 335))
