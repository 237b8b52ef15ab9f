from django.urls import path

from comptoir.solicitations import views

urlpatterns = [
    path("tickets/<int:ticket_id>/solicit/", views.solicitation_new, name="solicitation_new"),
    path(
        "tickets/<int:ticket_id>/solicit/recipients/",
        views.recipient_suggestions_view,
        name="solicitation_recipients",
    ),
    path(
        "solicitations/<int:solicitation_id>/reply/",
        views.solicitation_reply_view,
        name="solicitation_reply",
    ),
]
