from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QcConfig(AppConfig):
    name = "cellchain.qc"
    label = "qc"
    verbose_name = _("Quality control and release")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("QC and release"), "qc:batches", "qc.view", 400))

        from cellchain.core.worklist import register_worklist
        from cellchain.qc import worklist

        register_worklist("qc.enter_results", worklist.batches_to_test, 400)
        register_worklist("qc.review", worklist.batches_to_review, 401)
        register_worklist("qc.release", worklist.batches_to_release, 402)
