"""The site: the board (a page and a JSON API) and Django's admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("notes.board.urls")),
    path("admin/", admin.site.urls),
]
