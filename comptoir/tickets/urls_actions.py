from django.urls import path

from comptoir.tickets import views_actions as v

urlpatterns = [
    path("tickets/<int:ticket_id>/assign/", v.assign, name="ticket_assign"),
    path("tickets/<int:ticket_id>/contact/search/", v.contact_search, name="ticket_contact_search"),
    path("tickets/<int:ticket_id>/contact/link/", v.contact_link, name="ticket_contact_link"),
    path(
        "tickets/<int:ticket_id>/contact/create/",
        v.contact_create_from_sender,
        name="ticket_contact_create",
    ),
    path("tickets/<int:ticket_id>/contact/unlink/", v.contact_unlink, name="ticket_contact_unlink"),
    path("tickets/<int:ticket_id>/subject/", v.subject, name="ticket_subject"),
    path("tickets/<int:ticket_id>/transfer/", v.transfer, name="ticket_transfer"),
    path("tickets/<int:ticket_id>/take-back/", v.take_back, name="ticket_take_back"),
    path("tickets/<int:ticket_id>/qualify/", v.qualify, name="ticket_qualify"),
    path("tickets/<int:ticket_id>/close/", v.close, name="ticket_close"),
    path("tickets/<int:ticket_id>/reopen/", v.reopen, name="ticket_reopen"),
]
