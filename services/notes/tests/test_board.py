"""The board's tests with Django's TestCase and test client (run_django_tests.py)."""

import json

from django.contrib.auth.models import User
from django.test import TestCase

from notes.board.models import Note


class PageTest(TestCase):
    def test_the_page_renders_every_note_with_the_template(self) -> None:
        Note.objects.create(text="first <b>note</b>")
        Note.objects.create(text="second")
        reply = self.client.get("/")
        self.assertEqual(reply.status_code, 200)
        self.assertTemplateUsed(reply, "board/index.html")
        page = reply.content.decode()
        self.assertIn("<title>Notes</title>", page)
        # Escaped by the template engine.
        self.assertIn("<li>first &lt;b&gt;note&lt;/b&gt;</li>", page)
        self.assertIn("<li>second</li>", page)
        # The manifest's hashed name of the collected stylesheet.
        self.assertRegex(page, r'href="/static/board/style\.[0-9a-f]{12}\.css"')

    def test_an_empty_board_says_so(self) -> None:
        self.assertContains(self.client.get("/"), "No notes yet.")

    def test_the_page_takes_only_get(self) -> None:
        self.assertEqual(self.client.post("/").status_code, 405)


class ApiTest(TestCase):
    def post(self, body: object, content_type: str = "application/json"):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.client.post("/api/notes", data=data, content_type=content_type)

    def test_a_note_is_stored_then_read_back(self) -> None:
        reply = self.post({"text": "Zoë's note"})
        self.assertEqual(reply.status_code, 201)
        note = reply.json()
        self.assertEqual(note["text"], "Zoë's note")
        self.assertEqual(reply["Location"], f"/api/notes/{note['id']}")
        self.assertEqual(Note.objects.get(id=note["id"]).text, "Zoë's note")
        self.assertEqual(self.client.get(reply["Location"]).json(), note)
        self.assertEqual(self.client.get("/api/notes").json(), {"notes": [note]})

    def test_bad_bodies_are_json_errors_and_store_nothing(self) -> None:
        cases = [
            ({"text": ""}, "application/json", 400),
            ({"text": "   "}, "application/json", 400),
            ({"text": "x" * 501}, "application/json", 400),
            ({"title": "no text"}, "application/json", 400),
            (["text"], "application/json", 400),
            ("{not json", "application/json", 400),
            (b"\xff\xfe", "application/json", 400),
            ("text=hi", "application/x-www-form-urlencoded", 415),
        ]
        for body, content_type, status in cases:
            with self.subTest(body=body):
                reply = self.post(body, content_type)
                self.assertEqual(reply.status_code, status)
                self.assertEqual(set(reply.json()), {"error", "detail"}, reply.content)
        self.assertEqual(Note.objects.count(), 0)

    def test_a_missing_note_is_404(self) -> None:
        reply = self.client.get("/api/notes/99")
        self.assertEqual(reply.status_code, 404)
        self.assertEqual(reply.json(), {"detail": "no note 99", "error": "not_found"})

    def test_other_methods_are_405(self) -> None:
        self.assertEqual(self.client.delete("/api/notes").status_code, 405)
        self.assertEqual(self.client.put("/api/notes/1").status_code, 405)


class AdminTest(TestCase):
    def test_the_admin_lists_notes_to_a_superuser(self) -> None:
        User.objects.create_superuser("admin", "admin@example.com", "a-long-password")
        Note.objects.create(text="seen in the admin")
        self.assertEqual(self.client.get("/admin/").status_code, 302)
        self.client.login(username="admin", password="a-long-password")
        reply = self.client.get("/admin/board/note/")
        self.assertContains(reply, "seen in the admin")

    def test_the_login_page_renders_with_its_static_files(self) -> None:
        reply = self.client.get("/admin/login/")
        self.assertEqual(reply.status_code, 200)
        self.assertRegex(
            reply.content.decode(), r"/static/admin/css/base\.[0-9a-f]{12}\.css"
        )
