from django.urls import include, path

from comptoir.tickets import views, views_read

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:ticket_id>/read/", views_read.ticket_read, name="ticket_mark_read"),
    path("tickets/<int:ticket_id>/unread/", views_read.ticket_unread, name="ticket_mark_unread"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment_download"),
    path("", include("comptoir.tickets.urls_actions")),
]
