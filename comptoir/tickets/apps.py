from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "comptoir.tickets"
    label = "tickets"

    def ready(self) -> None:
        # The ticket page caches its action choices; every process must drop them on change.
        from comptoir.tickets import action_choices

        action_choices.connect()
