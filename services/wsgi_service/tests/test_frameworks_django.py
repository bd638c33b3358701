"""frameworks.py on a Django project: resolver_match.route labels its requests."""

from __future__ import annotations

import django
import pytest
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_GET
from service_testing import make_harness

from wsgi_service.middleware import ROUTE_KEY


@require_GET
def item(request, item_id: int) -> JsonResponse:
    return JsonResponse({"id": item_id})


def fails(request) -> HttpResponse:
    return HttpResponse(status=503)


def page(request, slug: str) -> HttpResponse:
    return HttpResponse(slug)


nested = [path("pages/<slug:slug>/", page)]
urlpatterns = [
    path("items/<int:item_id>", item),
    path("down", fails),
    path("site/", include(nested)),
    path("", lambda request: HttpResponse("home")),
]


@pytest.fixture(scope="module")
def django_app():
    settings.configure(
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        SECRET_KEY="only-for-this-test",
        STATIC_URL="/static/",
        INSTALLED_APPS=[],
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def routes(harness) -> list[tuple[str, str, int]]:
    return [
        (r["path"], r["route"], r["status"])
        for r in harness.log_records()
        if r["msg"] == "request"
    ]


def test_the_route_is_djangos_pattern_never_the_path(django_app) -> None:
    harness = make_harness(lambda runtime, environ: django_app, "sample_service")
    assert harness.request("/items/7").status == 200
    assert harness.request("/items/8", method="POST").status == 405
    assert harness.request("/site/pages/about/").status == 200
    assert harness.request("/").status == 200
    assert harness.request("/down").status == 503
    assert harness.request("/no/such/path").status == 404
    # Not served (no such file, no WhiteNoise here): unmatched, not a static route.
    assert harness.request("/static/missing.css").status == 404
    assert routes(harness) == [
        ("/items/7", "/items/<int:item_id>", 200),
        ("/items/8", "/items/<int:item_id>", 405),
        # An include()d pattern: the whole route, prefix and all.
        ("/site/pages/about/", "/site/pages/<slug:slug>/", 200),
        ("/", "/", 200),
        ("/down", "/down", 503),
        ("/no/such/path", "unmatched", 404),
        ("/static/missing.css", "unmatched", 404),
    ]
    assert harness.sample(
        "http_requests_total", route="/items/<int:item_id>", status="405"
    )


def test_a_file_served_before_resolving_counts_under_static_url(django_app) -> None:
    # What WhiteNoise's middleware does: answer a static path before Django
    # resolves it. The label is STATIC_URL's, never the file's path.
    from wsgi_service import frameworks

    class Handler(type(django_app)):
        def get_response(self, request):
            if request.environ["PATH_INFO"].startswith("/static/"):
                return HttpResponse("body { }", content_type="text/css")
            return super().get_response(request)

    handler = Handler()
    frameworks.adapt(handler)
    environ = {"PATH_INFO": "/static/site.3f2a.css"}
    request = type("Request", (), {"environ": environ})()
    assert handler.get_response(request).status_code == 200
    assert environ[ROUTE_KEY] == "/static/<path:path>"


def test_an_app_that_is_not_django_is_left_alone(django_app) -> None:
    from wsgi_service import frameworks

    def plain(environ, start_response):
        return []

    frameworks.adapt(plain)
    assert not hasattr(plain, "resolve_request")
