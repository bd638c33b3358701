"""A service's start-up imports are the ones its list names, each with a reason.

IMPORTED is what the build-time run of the service imported before its first
request (less a bare interpreter's own modules), one module a line; LISTED is
tests/startup/SERVICE.txt, one top-level package a line with the reason it is
on the start path:

    waitress  the HTTP server

A package that is imported but not listed fails (keep it off the start path:
import it where it is used; or list it, saying why); so does one listed but no
longer imported (take it off the list), and a line without a reason.
"""

from __future__ import annotations

import os
from pathlib import Path

SERVICE = os.environ["SERVICE"]
LIST = f"tests/startup/{SERVICE}.txt"


def read_list(text: str) -> dict[str, str]:
    """{top-level package: reason}; comments and blank lines are skipped."""
    listed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        package, _, reason = line.strip().partition(" ")
        assert reason.strip(), f"{LIST}:{number}: {package} has no reason"
        assert package not in listed, f"{LIST}:{number}: {package} is listed twice"
        listed[package] = reason.strip()
    return listed


def imported_packages(text: str) -> dict[str, list[str]]:
    """{top-level package: its modules imported}."""
    packages: dict[str, list[str]] = {}
    for module in text.split():
        packages.setdefault(module.partition(".")[0], []).append(module)
    return packages


def test_start_up_imports_only_what_the_list_names() -> None:
    imported = imported_packages(Path(os.environ["IMPORTED"]).read_text())
    listed = read_list(Path(os.environ["LISTED"]).read_text())
    assert imported, "the probe recorded no start-up modules"
    new = sorted(imported.keys() - listed.keys())
    gone = sorted(listed.keys() - imported.keys())
    problems = []
    if new:
        problems.append(
            f"{SERVICE} now imports at start-up what {LIST} does not list: "
            + "; ".join(f"{p} ({', '.join(imported[p])})" for p in new)
            + ". Keep them off the start path (import them where they are used),"
            f" or add each to {LIST} with the reason it must be there."
        )
    if gone:
        problems.append(
            f"{LIST} lists what {SERVICE} no longer imports at start-up: "
            + ", ".join(gone)
            + f". Take them off {LIST}."
        )
    assert not problems, "\n".join(problems)


def test_a_list_line_without_a_reason_is_refused() -> None:
    try:
        read_list("waitress\n")
    except AssertionError as err:
        assert "waitress has no reason" in str(err)
    else:
        raise AssertionError("a package without a reason was accepted")
    assert read_list("# c\n\nwaitress  the HTTP server\n") == {
        "waitress": "the HTTP server"
    }
    assert imported_packages("a\na.b\nc\n") == {"a": ["a", "a.b"], "c": ["c"]}
