from django.urls import path

from comptoir.waiting import views

urlpatterns = [
    path(
        "administration/workspaces/<int:workspace_id>/waiting-messages/",
        views.waiting_workspace,
        name="waiting_workspace",
    ),
    path(
        "administration/workspaces/<int:workspace_id>/waiting-messages/new/",
        views.waiting_message_add,
        name="waiting_message_add",
    ),
    path(
        "administration/waiting-messages/<int:waiting_message_id>/",
        views.waiting_message_edit,
        name="waiting_message_edit",
    ),
    path(
        "administration/waiting-messages/<int:waiting_message_id>/delete/",
        views.waiting_message_delete,
        name="waiting_message_delete",
    ),
    path(
        "administration/queues/<int:queue_id>/waiting-messages/",
        views.waiting_queue,
        name="waiting_queue",
    ),
]
