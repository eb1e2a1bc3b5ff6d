from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "cellchain.exchange"
    label = "exchange"
    verbose_name = _("Exchange with partner installations")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu
        from cellchain.exchange import kinds, witnessing

        kinds.register(
            witnessing.WITNESS_KIND,
            validate=witnessing.countersignature_validate,
            receive=witnessing.countersignature_apply,
        )
        register_menu(MenuItem(_("Partners"), "exchange:partners", "exchange.view", 780))
