from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "cellchain.documents"
    label = "documents"
    verbose_name = _("Controlled documents")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Documents"), "documents:index", "documents.view", 717))

        from cellchain.core.worklist import register_worklist
        from cellchain.documents import worklist

        register_worklist("documents.manage", worklist.reviews_due, 706)
        register_worklist("documents.acknowledge", worklist.my_training, 707)
