from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "cellchain.logistics"
    label = "logistics"
    verbose_name = _("Shipping and receipt")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Shipments"), "logistics:shipments", "logistics.view", 500))
        register_menu(MenuItem(_("Hospital storage"), "logistics:storage", "logistics.storage_view", 510))

        from cellchain.core.worklist import register_worklist
        from cellchain.logistics import worklist

        register_worklist("logistics.receive", worklist.receipts_expected, 500)
        register_worklist("logistics.ship", worklist.shipments_to_send, 501)
        register_worklist("logistics.devices", worklist.devices_due, 510)
        register_worklist("logistics.stock", worklist.stock_expiring, 511)
