from django.urls import path

from notes.board import views

urlpatterns = [
    path("", views.index, name="index"),
    path("api/notes", views.notes, name="notes"),
    path("api/notes/<int:note_id>", views.note, name="note"),
]
