from django.urls import path

from comptoir.administration import views

urlpatterns = [
    path("administration/", views.administration_index, name="administration"),
    path(
        "administration/workspaces/<int:workspace_id>/",
        views.administration_workspace,
        name="administration_workspace",
    ),
    path(
        "administration/queues/<int:queue_id>/",
        views.administration_queue,
        name="administration_queue",
    ),
]
