from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "cellchain.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from cellchain.accounts import middleware  # noqa: F401  (connects the sign-in session stamp)
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Approved products"), "core:approved_products", "core.view_reference", 990))
        register_menu(MenuItem(_("People and roles"), "accounts:people", "accounts.view_people", 900))
        register_menu(MenuItem(_("My account"), "accounts:profile", "signed_in", 950))

        from cellchain.accounts import worklist
        from cellchain.core.worklist import register_worklist

        register_worklist("signed_in", worklist.my_qualifications, 960)
        register_worklist("accounts.manage_people", worklist.site_qualifications, 910)
