from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from comptoir.api.urls import api
from comptoir.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("comptoir.accounts.urls")),
    path("", include("comptoir.tickets.urls")),
    path("", include("comptoir.contacts.urls")),
    path("", include("comptoir.channels.email.urls")),
    path("", include("comptoir.channels.webform.urls")),
    path("", include("comptoir.search.urls")),
    path("", include("comptoir.dashboard.urls")),
    path("", include("comptoir.administration.urls")),
    path("", include("comptoir.waiting.urls")),
    path("", include("comptoir.responses.urls")),
    path("", include("comptoir.solicitations.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
