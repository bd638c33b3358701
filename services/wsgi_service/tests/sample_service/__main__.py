"""python -m sample_service, as a real service's entry point is written."""

import sys

from wsgi_service import main

import sample_service.app

if __name__ == "__main__":
    sys.exit(main.run("sample_service", sample_service.app.create_app))
