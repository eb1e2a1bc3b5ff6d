from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QcConfig(AppConfig):
    name = "cellchain.qc"
    label = "qc"
    verbose_name = _("Quality control and release")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("QC and release"), "qc:batches", "qc.view", 400))
