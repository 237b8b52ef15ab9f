from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "comptoir.channels.email"
    label = "mail"
    verbose_name = "Email"
