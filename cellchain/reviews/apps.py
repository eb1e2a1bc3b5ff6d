from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "cellchain.reviews"
    label = "reviews"
    verbose_name = _("Quality reviews")

    def ready(self) -> None:
        from cellchain.core.navigation import MenuItem, register_menu

        register_menu(MenuItem(_("Quality reviews"), "reviews:index", "reviews.view", 730))
