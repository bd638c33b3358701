"""The services that ship: one entry each, and nothing about a service anywhere else.

From this table come every service's images (images/BUILD.bazel: NAME,
NAME_debug, NAME_slim), //images:push, //images:all_images, the list the
release reads (//images:images_list), and their structure and smoke tests
(tests/structure, tests/smoke). Adding a service is a folder under services/
plus one entry here (README.md, "Adding a service"). The fields are
service() and request() in service_table.bzl.
"""

load(":config.bzl", "SOURCE_URL")
load(":service_table.bzl", "request", "service")

# The answers of the library (services/wsgi_service) that every service on it
# gives: a JSON error, with Allow on a 405.
_NOT_GET = {"detail": "this path allows GET, HEAD", "error": "method_not_allowed"}

def _bad_request(detail):
    return {"detail": detail, "error": "bad_request"}

# What notes' smoke tests store, then read back from its database.
_NOTE = {"text": "Zoë's first note"}

# What items' smoke tests store: non-ASCII, which orjson writes as it is.
_LAMP = {"name": "Zoë's lamp", "price": "19.99", "tags": ["light"]}

SERVICES = [
    service(
        name = "hello",
        library = "//services/hello:hello_lib",
        module = "hello",
        port = 8080,
        labels = {
            "org.opencontainers.image.licenses": "Apache-2.0",
            "org.opencontainers.image.revision": "unknown",
            "org.opencontainers.image.source": SOURCE_URL,
            "org.opencontainers.image.title": "hello",
            "org.opencontainers.image.version": "0.0.0-dev",
        },
        # --stamp (a release): from tools/stamping/workspace_status.sh, and the
        # image is `created` at the commit time. Unstamped: the placeholders above.
        stamp_labels = {
            "org.opencontainers.image.revision": "{STABLE_GIT_REVISION}",
            "org.opencontainers.image.version": "{STABLE_VERSION}",
        },
        routes = ["/"],
        requests = [
            request("GET", "/", 200, json = {"message": "Hello, world!"}),
            request("GET", "/?name=Ada", 200, json = {"message": "Hello, Ada!"}),
            request("GET", "/?name=%C3%89mile", 200, json = {"message": "Hello, Émile!"}),
            request("GET", "/?name=", 400, json = _bad_request("query parameter 'name' must not be empty")),
            request("GET", "/?name=a&name=b", 400, json = _bad_request("query parameter 'name' must be given at most once")),
            request("GET", "/?name=%ZZ", 400, json = _bad_request("the query string is not valid percent-encoded UTF-8")),
            request("GET", "/?name=" + "x" * 65, 400, json = _bad_request("query parameter 'name' must be at most 64 characters")),
            request("POST", "/", 405, json = _NOT_GET, headers = {"Allow": "GET, HEAD"}, body = ""),
            request("DELETE", "/", 405, json = _NOT_GET, headers = {"Allow": "GET, HEAD"}),
        ],
    ),
    service(
        name = "items",
        library = "//services/items:items_lib",
        module = "items",
        port = 8080,
        labels = {
            "org.opencontainers.image.licenses": "Apache-2.0",
            "org.opencontainers.image.revision": "unknown",
            "org.opencontainers.image.source": SOURCE_URL,
            "org.opencontainers.image.title": "items",
            "org.opencontainers.image.version": "0.0.0-dev",
        },
        stamp_labels = {
            "org.opencontainers.image.revision": "{STABLE_GIT_REVISION}",
            "org.opencontainers.image.version": "{STABLE_VERSION}",
        },
        routes = ["/items", "/items/{item_id}"],
        # In this order: the valid POST stores item 1. pydantic-core validates
        # each body and orjson writes each answer, both compiled, for the
        # image's platform (arm64's under qemu-user in the smoke tests).
        requests = [
            request("POST", "/items", 201, json = dict(id = 1, **_LAMP), headers = {"Location": "/items/1"}, body = json.encode(_LAMP), content_type = "application/json"),
            request("GET", "/items/1", 200, json = dict(id = 1, **_LAMP)),
            request("GET", "/items/2", 404, json = {"detail": "no item '2'", "error": "not_found"}),
            request("POST", "/items", 422, body = json.encode({"colour": "red", "name": "", "price": "-1"}), content_type = "application/json"),
            request("POST", "/items", 415, json = {"detail": "the body must be application/json", "error": "unsupported_media_type"}, body = "name=lamp", content_type = "application/x-www-form-urlencoded"),
            request("GET", "/items/abc", 404, json = {"detail": "no item 'abc'", "error": "not_found"}),
        ],
    ),
    # A Flask app, shipped as it is: the images serve shelf:create_app() with
    # the library around it (python -m wsgi_service, WSGI_APP).
    service(
        name = "shelf",
        library = "//services/shelf:shelf_lib",
        module = "shelf",
        app = "shelf:create_app()",
        port = 8080,
        labels = {
            "org.opencontainers.image.licenses": "Apache-2.0",
            "org.opencontainers.image.revision": "unknown",
            "org.opencontainers.image.source": SOURCE_URL,
            "org.opencontainers.image.title": "shelf",
            "org.opencontainers.image.version": "0.0.0-dev",
        },
        stamp_labels = {
            "org.opencontainers.image.revision": "{STABLE_GIT_REVISION}",
            "org.opencontainers.image.version": "{STABLE_VERSION}",
        },
        # Flask's rules, which label its requests.
        routes = ["/", "/api/books", "/api/books/<int:book_id>", "/static/<path:filename>"],
        # The template renders, the static file is served, the JSON API answers.
        requests = [
            request("GET", "/", 200, headers = {"Content-Type": "text/html; charset=utf-8"}),
            request("GET", "/static/style.css", 200, headers = {"Content-Type": "text/css; charset=utf-8"}),
            request("GET", "/api/books", 200),
            request("GET", "/api/books/3", 200, json = {"id": 3, "title": "Le Petit Prince", "year": 1943}),
            request("GET", "/api/books/99", 404, json = {"detail": "no such page", "error": "not_found"}),
            request("POST", "/api/books", 405, body = ""),
        ],
    ),
    # A Django project, shipped as it is: the images serve notes.wsgi:application
    # with the library around it; `python -m notes migrate` (its manage.py) is
    # the Job a deployment runs first (docs/deploy/migrate-job.yaml).
    service(
        name = "notes",
        library = "//services/notes:notes_lib",
        module = "notes",
        app = "notes.wsgi:application",
        port = 8080,
        labels = {
            "org.opencontainers.image.licenses": "Apache-2.0",
            "org.opencontainers.image.revision": "unknown",
            "org.opencontainers.image.source": SOURCE_URL,
            "org.opencontainers.image.title": "notes",
            "org.opencontainers.image.version": "0.0.0-dev",
        },
        stamp_labels = {
            "org.opencontainers.image.revision": "{STABLE_GIT_REVISION}",
            "org.opencontainers.image.version": "{STABLE_VERSION}",
        },
        # Its static files, collected at build time (collectstatic), in a
        # layer of their own at /app/static; WhiteNoise serves them.
        layers = ["//services/notes:static_layer"],
        # SQLite on a volume: the root is read-only.
        env = {"NOTES_DATABASE": "/data/notes.sqlite3"},
        volumes = ["/data"],
        # What a deployment's Secret and ConfigMap give it; test values here,
        # never in the image.
        deploy_env = {
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECRET_KEY": "smoke-tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        },
        # Run to its end on the volume before the service starts.
        jobs = {"migrate": ["notes", "migrate", "--no-input"]},
        # Django's routes (resolver_match.route), and WhiteNoise's files.
        routes = ["/", "/api/notes", "/api/notes/<int:note_id>", "/admin/login/", "/static/<path:path>"],
        # In this order: a note is written to the database, read back, and
        # rendered by the template; the collected stylesheet is served; the
        # admin's login page renders. The probe sends them too, so the slim
        # image keeps what Django imports by name for each.
        requests = [
            request("POST", "/api/notes", 201, json = dict(id = 1, **_NOTE), headers = {"Location": "/api/notes/1"}, body = json.encode(_NOTE), content_type = "application/json"),
            request("GET", "/api/notes/1", 200, json = dict(id = 1, **_NOTE)),
            request("GET", "/api/notes", 200, json = {"notes": [dict(id = 1, **_NOTE)]}),
            request("GET", "/", 200, headers = {"Content-Type": "text/html; charset=utf-8"}),
            request("GET", "/static/board/style.css", 200),
            request("GET", "/admin/login/", 200, headers = {"Content-Type": "text/html; charset=utf-8", "X-Frame-Options": "DENY"}),
            request("GET", "/api/notes/99", 404, json = {"detail": "no note 99", "error": "not_found"}),
            request("POST", "/api/notes", 415, json = {"detail": "the body must be application/json", "error": "unsupported_media_type"}, body = "text=hi", content_type = "application/x-www-form-urlencoded"),
            request("POST", "/api/notes", 400, json = {"detail": "the body is not JSON", "error": "bad_request"}, body = "{not json", content_type = "application/json"),
        ],
    ),
]
