from django.apps import AppConfig


class QcConfig(AppConfig):
    name = "cellchain.qc"
    label = "qc"
