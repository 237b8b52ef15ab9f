from django.urls import path

from comptoir.responses import views, views_public

urlpatterns = [
    path("responses/templates/", views.template_list_view, name="template_list"),
    path("responses/templates/new/", views.template_new, name="template_new"),
    path("responses/templates/<int:template_id>/", views.template_edit, name="template_edit"),
    path(
        "responses/templates/<int:template_id>/active/",
        views.template_active,
        name="template_active",
    ),
    path(
        "responses/templates/<int:template_id>/delete/",
        views.template_delete_view,
        name="template_delete",
    ),
    path(
        "responses/templates/<int:template_id>/render",
        views.template_render_view,
        name="template_render",
    ),
    path(
        "responses/attachments/<int:template_attachment_id>/",
        views.template_attachment_download,
        name="template_attachment_download",
    ),
    path(
        "responses/tickets/<int:ticket_id>/templates/",
        views.ticket_templates,
        name="ticket_templates",
    ),
    path(
        "responses/tickets/<int:ticket_id>/history-links/",
        views.ticket_history_links,
        name="ticket_history_links",
    ),
    path(
        "responses/history-links/<int:history_link_id>/revoke/",
        views.history_link_revoke_view,
        name="history_link_revoke",
    ),
    path("h/<str:token>/", views_public.history_link_page, name="history_link_page"),
    path(
        "h/<str:token>/a/<int:attachment_id>/",
        views_public.history_link_attachment,
        name="history_link_attachment",
    ),
]
