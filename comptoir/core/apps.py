from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "comptoir.core"
    label = "core"

    def ready(self) -> None:
        from comptoir.core.templating.i18n import install_literal_translate
        from comptoir.core.templating.urls import install_url_shapes

        install_literal_translate()
        install_url_shapes()
