"""shelf: a small Flask app, shipped as it is by the library (services/wsgi_service).

Nothing in it knows about the library: an app factory (Flask's convention),
a blueprint of books with a JSON API, a Jinja template and a static file.
The images serve it as `shelf:create_app()` (images/services.bzl); the
library adds the health, version and metrics endpoints, the access log and
the rest around it.
"""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)
    # The answers are the data's own: no Flask session, so no secret key.
    app.json.sort_keys = True

    from shelf.books import books

    app.register_blueprint(books)
    return app
