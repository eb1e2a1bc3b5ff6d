from django.apps import AppConfig


class JourneysConfig(AppConfig):
    name = "cellchain.journeys"
    label = "journeys"
