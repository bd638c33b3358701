#!/usr/bin/env python3
"""Write a JSON object whose values are templates expanded from Bazel's workspace status.

    stamp_json.py --status stable-status.txt --output FILE --value KEY=TEMPLATE...

A template names status keys in braces, e.g. "{STABLE_VERSION}". The output is
canonical (sorted keys, two-space indent, final newline), so equal status gives
equal bytes. A key the status lacks is an error naming it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

_KEY = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


class StampError(Exception):
    pass


def read_status(path: Path) -> dict[str, str]:
    """Bazel's status file: one "KEY VALUE" per line (the value may hold spaces)."""
    status = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(" ")
        if key:
            status[key] = value
    return status


def expand(template: str, status: dict[str, str], what: str) -> str:
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in status:
            raise StampError(
                f"{what}: {{{key}}} is not a workspace status key (known: "
                f"{', '.join(sorted(status)) or 'none'}); is "
                "--workspace_status_command=tools/stamping/workspace_status.sh set "
                "(.bazelrc sets it)?"
            )
        return status[key]

    return _KEY.sub(one, template)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--status", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--value", action="append", default=[], metavar="KEY=TEMPLATE")
    args = parser.parse_args(argv)
    status = read_status(args.status)
    try:
        values = {}
        for item in args.value:
            key, _, template = item.partition("=")
            values[key] = expand(template, status, f"value {key!r}")
    except StampError as err:
        print(f"stamp_json: {err}", file=sys.stderr)
        return 1
    args.output.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
