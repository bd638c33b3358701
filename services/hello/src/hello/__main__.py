"""Entry point: python -m hello. Exit statuses: wsgi_service.main.run."""

import sys

from wsgi_service import main

import hello.app

if __name__ == "__main__":
    # hello.app.create_app is looked up here, at start, not at import.
    sys.exit(main.run("hello", hello.app.create_app))
