from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "cellchain.assessment"
    label = "assessment"
    verbose_name = _("Site self-assessment")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Self-assessment"), "assessment:index", "assessment.view", 720))
        register_menu(
            MenuItem(_("Compliance report"), "assessment:compliance_index", "assessment.report", 721)
        )

        from cellchain.assessment import worklist
        from cellchain.core.worklist import register_worklist

        register_worklist("assessment.answer", worklist.reviews_due, 720)
        register_worklist("assessment.answer", worklist.unanswered, 721)
