"""Entry point: python -m items. Exit statuses: wsgi_service.main.run."""

import sys

from wsgi_service import main

import items.app

if __name__ == "__main__":
    # items.app.create_app is looked up here, at start, not at import.
    sys.exit(main.run("items", items.app.create_app))
