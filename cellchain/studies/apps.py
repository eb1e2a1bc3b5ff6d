from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudiesConfig(AppConfig):
    """Clinical study records at the clinic: statistical reports, source-document checklists and the subject
    code directory (T-10.9, T-10.10)."""

    name = "cellchain.studies"
    label = "studies"
    verbose_name = _("Clinical study records")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Statistical reports"), "studies:index", "studies.view", 550))
        register_menu(MenuItem(_("Source documents"), "studies:checklists", "studies.view", 551))
        register_menu(
            MenuItem(_("Subject code directories"), "studies:directories", "studies.directory", 552)
        )
