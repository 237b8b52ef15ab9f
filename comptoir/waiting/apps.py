from django.apps import AppConfig


class WaitingConfig(AppConfig):
    name = "comptoir.waiting"
    verbose_name = "Waiting messages"

    def ready(self) -> None:
        # The periodic sweep registers itself with Huey when its module is imported.
        from django.utils.translation import gettext_lazy as _

        from comptoir.accounts.rights import Right
        from comptoir.administration.registry import associated_item
        from comptoir.waiting import tasks  # noqa: F401

        associated_item(
            label=_("Waiting messages"),
            workspace_url="waiting_workspace",
            queue_url="waiting_queue",
            right=Right.MANAGE_WAITING_MESSAGES,
        )
