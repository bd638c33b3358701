"""Serve any WSGI application: python -m wsgi_service [package.module:app].

The application is the argument, else $WSGI_APP (loader.py says how it is
named); everything else is configured as for every service (config.py).
"""

import os
import sys

from wsgi_service import loader, main

if __name__ == "__main__":
    spec = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(loader.VARIABLE, "")
    if not spec:
        print(
            f"config error: no application: give it as an argument or in"
            f" {loader.VARIABLE} ({loader.EXAMPLE})",
            file=sys.stderr,
        )
        sys.exit(main.EXIT_CONFIG)
    sys.exit(main.serve_app(spec))
