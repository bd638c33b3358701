from django.contrib import admin

from notes.board.models import Note


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["id", "text"]
    search_fields = ["text"]
