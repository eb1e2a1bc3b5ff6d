from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    name = "cellchain.journeys"
    label = "journeys"
    verbose_name = _("Journeys")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Journeys"), "journeys:list", "journeys.view", 20))
        register_menu(MenuItem(_("Eligibility checklists"), "journeys:checklists", "journeys.checklist", 21))
        register_menu(
            MenuItem(_("Collection sites"), "journeys:collection_sites", "journeys.certify_site", 22)
        )

        from cellchain.core.worklist import register_worklist
        from cellchain.journeys import worklist

        register_worklist("journeys.collect", worklist.collections_today, 20)

        from cellchain.exchange import kinds
        from cellchain.journeys.services import holds

        # T-6.4-h: a hold placed at one installation stops the steps at the partner's too.
        kinds.register(
            holds.HOLD_KIND, validate=holds.hold_message_validate, receive=holds.hold_message_receive
        )
        from cellchain.journeys import messages

        messages.register_kinds()
