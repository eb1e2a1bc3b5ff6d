from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "cellchain.core"
    label = "core"
    verbose_name = "Core"
