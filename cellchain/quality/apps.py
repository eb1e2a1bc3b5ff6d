from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "cellchain.quality"
    label = "quality"
    verbose_name = _("Deviations and notifications")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Deviations"), "quality:deviations", "quality.view_deviations", 700))
        register_menu(MenuItem(_("Notifications"), "quality:notifications", "signed_in", 710))
        register_menu(
            MenuItem(_("Safety reports"), "quality:safety_reports", "quality.view_safety_reports", 705)
        )
        register_menu(
            MenuItem(_("Notification e-mails"), "quality:email_outbox", "quality.view_email_outbox", 915)
        )

        from cellchain.core.worklist import register_worklist
        from cellchain.quality import worklist

        register_worklist("quality.disposition_deviation", worklist.open_deviations, 700)
        register_worklist("signed_in", worklist.unread_notifications, 710)

        # Adverse events from hospitals' installations (issue 12 item 2, T-7.10; decision 0024).
        from cellchain.clinic.reporting.messages import register_kinds

        register_kinds()
