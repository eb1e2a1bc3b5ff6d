from django.apps import AppConfig


class ManufacturingConfig(AppConfig):
    name = "cellchain.manufacturing"
    label = "manufacturing"
