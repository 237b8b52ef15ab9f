from django.urls import path

from comptoir.search import views

urlpatterns = [path("search/", views.search, name="search")]
