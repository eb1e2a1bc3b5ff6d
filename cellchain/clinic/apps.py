from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "cellchain.clinic"
    label = "clinic"
