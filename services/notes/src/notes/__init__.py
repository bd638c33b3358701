"""notes: a Django project, shipped as it is by the library (services/wsgi_service).

    notes.settings   the settings, read from the environment (SECRET_KEY,
                     ALLOWED_HOSTS, DEBUG, NOTES_DATABASE); a bad or missing
                     one exits 2 naming it
    notes.urls       the site: the board app and the admin
    notes.wsgi       `application`, what the images serve (notes.wsgi:application)
    notes.board      the app: a Note model, a page (a template) and a JSON API
    python -m notes  Django's manage.py: `migrate`, `check --deploy`, ...

Nothing in it knows about the library: the images serve
`notes.wsgi:application` (images/services.bzl) and the library adds the
health, version and metrics endpoints, the access log and the rest around it.
"""
