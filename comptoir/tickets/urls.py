from django.urls import include, path

from comptoir.tickets import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket_detail"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment_download"),
    path("", include("comptoir.tickets.urls_actions")),
]
