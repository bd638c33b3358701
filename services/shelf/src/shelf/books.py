"""The books: an HTML page (a Jinja template) and a JSON API."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template

books = Blueprint("books", __name__)

# A fixed catalogue: the app's own data, read-only like the image.
BOOKS = {
    1: {"id": 1, "title": "The Pragmatic Programmer", "year": 1999},
    2: {
        "id": 2,
        "title": "Structure and Interpretation of Computer Programs",
        "year": 1985,
    },
    3: {"id": 3, "title": "Le Petit Prince", "year": 1943},
}


@books.get("/")
def index() -> str:
    return render_template("index.html", books=list(BOOKS.values()))


@books.get("/api/books")
def list_books():  # type: ignore[no-untyped-def]
    return jsonify(books=list(BOOKS.values()))


@books.get("/api/books/<int:book_id>")
def show_book(book_id: int):  # type: ignore[no-untyped-def]
    book = BOOKS.get(book_id)
    if book is None:
        abort(404)
    return jsonify(book)


@books.app_errorhandler(404)
def not_found(error):  # type: ignore[no-untyped-def]
    return jsonify(error="not_found", detail="no such page"), 404
