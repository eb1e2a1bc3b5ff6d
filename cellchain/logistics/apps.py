from django.apps import AppConfig


class LogisticsConfig(AppConfig):
    name = "cellchain.logistics"
    label = "logistics"
