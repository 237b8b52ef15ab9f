from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    name = "comptoir.administration"
    verbose_name = "Administration"
