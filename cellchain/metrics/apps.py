from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "cellchain.metrics"
    label = "metrics"
    verbose_name = _("Quality metrics")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Metrics"), "metrics:overview", "metrics.view", 720))
