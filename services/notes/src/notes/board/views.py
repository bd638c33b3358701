"""The page (a template) and the JSON API of the notes.

    GET  /                       the notes, rendered by board/index.html
    GET  /api/notes              {"notes": [{"id": 1, "text": "..."}, ...]}
    POST /api/notes              {"text": "..."} -> 201 and the note, Location /api/notes/ID
    GET  /api/notes/ID           the note, or 404

Errors are JSON: {"error": ..., "detail": ...}. The API takes no cookies
(it is not a form), hence no CSRF token; the admin keeps Django's.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from notes.board.models import MAX_TEXT, Note


def error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "error": code}, status=status)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "board/index.html", {"notes": Note.objects.all()})


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def notes(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return JsonResponse({"notes": [n.as_json() for n in Note.objects.all()]})
    if request.content_type != "application/json":
        return error(415, "unsupported_media_type", "the body must be application/json")
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, ValueError):
        return error(400, "bad_request", "the body is not JSON")
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return error(
            400,
            "bad_request",
            f'expected {{"text": "..."}}: 1 to {MAX_TEXT} characters, not only spaces',
        )
    note = Note.objects.create(text=text)
    response = JsonResponse(note.as_json(), status=201)
    response["Location"] = f"/api/notes/{note.id}"
    return response


@csrf_exempt
@require_GET
def note(request: HttpRequest, note_id: int) -> HttpResponse:
    found = Note.objects.filter(id=note_id).first()
    if found is None:
        return error(404, "not_found", f"no note {note_id}")
    return JsonResponse(found.as_json())
