"""shelf's own tests, with Flask's test client: the app alone, no library."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from shelf import create_app


@pytest.fixture
def client() -> FlaskClient:
    return create_app().test_client()


def test_index_renders_the_template_with_every_book(client: FlaskClient) -> None:
    reply = client.get("/")
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert "<title>Shelf</title>" in page
    assert "<li>Le Petit Prince (1943)</li>" in page
    assert 'href="/static/style.css"' in page


def test_static_file(client: FlaskClient) -> None:
    reply = client.get("/static/style.css")
    assert reply.status_code == 200
    assert reply.mimetype == "text/css"


def test_json_api(client: FlaskClient) -> None:
    assert len(client.get("/api/books").get_json()["books"]) == 3
    assert client.get("/api/books/3").get_json() == {
        "id": 3,
        "title": "Le Petit Prince",
        "year": 1943,
    }
    missing = client.get("/api/books/99")
    assert missing.status_code == 404
    assert missing.get_json() == {"detail": "no such page", "error": "not_found"}
    assert client.post("/api/books").status_code == 405
