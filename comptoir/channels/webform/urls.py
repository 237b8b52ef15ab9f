"""Public web-form pages, addressed by the form's public key (no login, no ids)."""

from django.urls import URLPattern, path

from comptoir.channels.webform import views

urlpatterns: list[URLPattern] = [
    path("webform/<str:key>/", views.form_view, name="webform"),
    path("webform/<str:key>/thanks/<str:token>/", views.thanks_view, name="webform_thanks"),
]
