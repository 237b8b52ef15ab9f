from django.urls import path

from comptoir.channels.email import views

urlpatterns = [
    path("tickets/<int:ticket_id>/reply/", views.ticket_reply_view, name="ticket_reply"),
]
