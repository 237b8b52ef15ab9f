from django.apps import AppConfig


class WebformChannelConfig(AppConfig):
    name = "comptoir.channels.webform"
    label = "webform"
    verbose_name = "Web form"
