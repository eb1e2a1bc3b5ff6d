from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ManufacturingConfig(AppConfig):
    name = "cellchain.manufacturing"
    label = "manufacturing"
    verbose_name = _("Manufacturing")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Batches"), "manufacturing:batches", "manufacturing.view", 300))
        register_menu(MenuItem(_("Apheresis intake"), "manufacturing:intakes", "manufacturing.view", 310))
        register_menu(MenuItem(_("Products"), "manufacturing:products", "manufacturing.view", 320))
        register_menu(MenuItem(_("Areas"), "manufacturing:areas", "manufacturing.view", 330))

        from cellchain.core.worklist import register_worklist
        from cellchain.manufacturing import worklist

        register_worklist("manufacturing.execute", worklist.batches_in_process, 300)
        register_worklist("manufacturing.intake", worklist.intakes_waiting, 310)
        register_worklist("manufacturing.manage_facility", worklist.equipment_due, 330)
        register_worklist("manufacturing.execute", worklist.materials_expiring, 340)
