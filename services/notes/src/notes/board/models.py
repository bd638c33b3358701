from django.db import models

MAX_TEXT = 500


class Note(models.Model):
    text = models.CharField(max_length=MAX_TEXT)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text}
