from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "comptoir.dashboard"
    verbose_name = "Dashboard"
