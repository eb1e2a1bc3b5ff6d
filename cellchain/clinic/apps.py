from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicConfig(AppConfig):
    name = "cellchain.clinic"
    label = "clinic"
    verbose_name = _("Clinical use")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Clinic"), "clinic:home", "clinic.view", 500))
        register_menu(MenuItem(_("AE reporting"), "clinic:reporting", "clinic.view", 510))
        register_menu(MenuItem(_("Follow-up"), "clinic:follow_up", "clinic.view", 520))
        register_menu(MenuItem(_("Protocol deviations"), "clinic:deviations", "clinic.view", 530))
        register_menu(MenuItem(_("Risk plans"), "clinic:risk_plans", "clinic.view", 540))
