from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SolicitationsConfig(AppConfig):
    name = "comptoir.solicitations"
    label = "solicitations"
    verbose_name = _("Solicitations")
