from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResponsesConfig(AppConfig):
    name = "comptoir.responses"
    label = "responses"
    verbose_name = _("Response templates")

    def ready(self) -> None:
        from comptoir.responses import picker

        picker.connect()
