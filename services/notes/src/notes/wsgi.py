"""The WSGI application the images serve: notes.wsgi:application."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notes.settings")

# Loads the settings (a bad one raises ConfigError: the service exits 2,
# naming it) and every installed app, before the server listens.
application = get_wsgi_application()
