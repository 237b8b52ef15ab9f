from django.urls import path

from comptoir.channels.email import views

urlpatterns = [
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply_view, name="ticket_reply"),
    path("tickets/<int:ticket_id>/presence/", views.ticket_presence, name="ticket_presence"),
    path("messages/<int:message_id>/original/", views.message_original, name="message_original"),
]
