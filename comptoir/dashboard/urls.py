from django.urls import path

from comptoir.dashboard import views

urlpatterns = [path("dashboard/", views.dashboard, name="dashboard")]
