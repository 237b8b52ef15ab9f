from django.urls import path

from comptoir.contacts import views

urlpatterns = [
    path("contacts/", views.contact_list_view, name="contact_list"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact_detail"),
]
