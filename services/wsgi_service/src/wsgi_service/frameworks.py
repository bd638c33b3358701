"""What the middleware learns from the framework an app is written with.

Metrics and the access log label a request with the route it matched, never
the raw path (middleware.ROUTE_KEY). ServiceApp says so itself; for a
framework's app, adapt() asks the framework:
- Flask: the request's url_rule ("/api/books/<int:book_id>"), read when
  Flask starts a request (its request_started signal); for a method the rule
  does not allow (405), the rule the path matches with an allowed one; a
  path no rule matches has none, and counts as unmatched.
- Django: the request's resolver_match.route ("api/notes/<int:note_id>",
  shown with a leading / as "/api/notes/<int:note_id>"), read when the
  handler resolves the request's path; a path no pattern matches (Resolver404)
  has none, and counts as unmatched. A static file the handler's middleware
  serves before resolving (WhiteNoise) is counted under STATIC_URL +
  "<path:path>" ("/static/<path:path>").
Any other app may set environ[ROUTE_KEY] itself; else its requests share one
label (middleware.OTHER_ROUTE). A framework is looked for only if the app's
code has imported it: nothing is imported here for an app that is not one.
"""

from __future__ import annotations

import sys

from wsgi_service.middleware import ROUTE_KEY

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def adapt(app: Any) -> None:
    """Make app report the route of each request, if its framework knows it."""
    flask = sys.modules.get("flask")
    if flask is not None and isinstance(app, flask.Flask):
        _adapt_flask(app, flask)
        return
    handlers = sys.modules.get("django.core.handlers.base")
    if handlers is not None and isinstance(app, handlers.BaseHandler):
        _adapt_django(app)


def _adapt_flask(app: Any, flask: Any) -> None:
    def started(sender: Any, **_: Any) -> None:
        request = flask.request
        rule = request.url_rule
        allowed = getattr(request.routing_exception, "valid_methods", None)
        if rule is None and allowed:
            # 405: werkzeug matched the path, not the method.
            adapter = sender.url_map.bind_to_environ(request.environ)
            rule, _ = adapter.match(method=allowed[0], return_rule=True)
        if rule is not None:
            request.environ[ROUTE_KEY] = rule.rule

    # weak=False: the receiver lives as long as the app, not this call.
    flask.request_started.connect(started, app, weak=False)


def _adapt_django(app: Any) -> None:
    from django.conf import settings

    resolve_request = app.resolve_request
    get_response = app.get_response
    # STATIC_URL as a path ("/static/"); None if it is on another host.
    static_url = settings.STATIC_URL or ""
    static = static_url if static_url.startswith("/") else None

    def resolve(request: Any) -> Any:
        match = resolve_request(request)  # Resolver404: no route, unmatched.
        request.environ[ROUTE_KEY] = "/" + match.route
        return match

    def respond(request: Any) -> Any:
        response = get_response(request)
        environ = request.environ
        if (
            static is not None
            and ROUTE_KEY not in environ
            and response.status_code < 400
            and environ.get("PATH_INFO", "").startswith(static)
        ):
            environ[ROUTE_KEY] = static + "<path:path>"
        return response

    # The handler calls both through self: the instance's own come first.
    # (WSGIRequest.environ is the environ the middleware passed.)
    app.resolve_request = resolve
    app.get_response = respond
