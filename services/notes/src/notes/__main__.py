"""Django's manage.py: `python -m notes migrate`, `python -m notes check --deploy`.

The images' second entrypoint: the migrate Job (docs/deploy/migrate-job.yaml)
runs `/usr/bin/python3.13 -m notes migrate --no-input` on the database
volume before the service serves from it. A bad setting exits 2, naming it,
as the service does.
"""

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notes.settings")
    from django.core.management import execute_from_command_line

    from wsgi_service.config import ConfigError

    try:
        execute_from_command_line(argv)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(["python -m notes", *sys.argv[1:]]))
