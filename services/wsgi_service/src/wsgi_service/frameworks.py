"""What the middleware learns from the framework an app is written with.

Metrics and the access log label a request with the route it matched, never
the raw path (middleware.ROUTE_KEY). ServiceApp says so itself; for a
framework's app, adapt() asks the framework:
- Flask: the request's url_rule ("/api/books/<int:book_id>"), read when
  Flask starts a request (its request_started signal); for a method the rule
  does not allow (405), the rule the path matches with an allowed one; a
  path no rule matches has none, and counts as unmatched.
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
