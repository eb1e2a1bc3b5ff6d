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

        from cellchain.clinic import worklist
        from cellchain.core.worklist import register_worklist

        register_worklist("clinic.infuse", worklist.infusions_today, 520)
        register_worklist(("clinic.prepare", "clinic.infuse"), worklist.thawed_units, 521)
        register_worklist("clinic.report", worklist.reports_due, 522)
        register_worklist("clinic.observe", worklist.monitoring_missed, 523)
        register_worklist("clinic.follow_up", worklist.follow_up_missed, 524)

        from cellchain.clinic import incoming

        incoming.register_kinds()  # manufacturer -> hospital EPCIS messages (issue 12 item 2, decision 0022)
