"""Every standard-library module imports in //images:hello, on $ARCH.

walk.py runs inside a hardened container of the image (read-only root, no
capabilities, user 65532) and imports the whole standard library in one
process; the test fails on any module that does not import, unless SKIP
names it with its reason. SKIP must stay true: each name in it is a module
the image really has. A few modules are also used, not just imported, where
importing proves little about the library behind them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from container import run_once, unpack
from image_platforms import ref
from skips import emulation_or_skip

PYTHON = "/usr/bin/python3.13"
ARCH = os.environ["ARCH"]
# The walk compiles most of the standard library (the image carries bytecode
# only for what the service imports at start-up): about 3 s natively, 12 s
# under qemu-user on the project's machines.
TIMEOUT = {"amd64": 60.0, "arm64": 240.0}[ARCH]

# Not imported, with the reason. Each is in the image, and none imports in
# distroless's python3-debian13 either (its own import-everything test skips
# the same modules).
SKIP = {
    # Windows only.
    "_pyrepl.windows_console": "Windows only (imports msvcrt)",
    "asyncio.windows_events": "Windows only",
    "asyncio.windows_utils": "Windows only",
    "encodings.mbcs": "Windows only (codecs.mbcs_encode exists on Windows alone)",
    "encodings.oem": "Windows only (codecs.oem_encode exists on Windows alone)",
    "multiprocessing.popen_spawn_win32": "Windows only (imports msvcrt)",
    # Apple platforms only.
    "_ios_support": "iOS and macOS only: loads the Objective-C runtime",
    # Programs rather than modules: importing one runs it, and it exits.
    "unittest.__main__": "`python -m unittest`: runs the tests it finds, then exits",
    "venv.__main__": "`python -m venv`: makes a virtual environment, then exits",
    # Need what neither image has: Debian ships these in packages distroless
    # leaves out too.
    "dbm.gnu": "needs _gdbm, in Debian's python3.13-gdbm",
    "turtle": "needs tkinter, in Debian's python3.13-tk",
    "_distutils_system_mod": "Debian's hook for distutils, which Python 3.13 removed",
    # Finds libncursesw with ctypes.util.find_library, which reads
    # /etc/ld.so.cache through ldconfig -p; the image has no cache yet.
    "_pyrepl._minimal_curses": "ctypes.util.find_library finds nothing without /etc/ld.so.cache",
}

# `test`, CPython's own regression tests ("for internal use by Python only"),
# and the extension modules only they import are not in the image at all
# (images/config.bzl: DEBIAN_EXCLUDES).
LEFT_OUT = ("test", "_test", "_ctypes_test", "_xxtestfuzz", "xxlimited", "xxsubtype")

# Imports alone prove little here: the library must also work.
USE = """
import curses, dbm.ndbm, readline, sqlite3, sys
connection = sqlite3.connect(":memory:")
print("sqlite", connection.execute("select sqlite_version()").fetchone()[0])
with dbm.ndbm.open("/tmp/walk", "c") as db:
    db[b"key"] = b"value"
with dbm.ndbm.open("/tmp/walk", "r") as db:
    print("ndbm", db[b"key"].decode())
print("readline", readline._READLINE_LIBRARY_VERSION)
print("curses", ".".join(map(str, curses.ncurses_version)))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with emulation_or_skip(ARCH):
        yield unpack(
            Path(os.environ["IMAGE"]), ref(ARCH), tmp_path_factory.mktemp(ARCH) / "b"
        )


@pytest.fixture(scope="module")
def walk(bundle: Path) -> dict[str, object]:
    source = Path(os.environ["WALK"]).read_text()
    result = run_once(bundle, [PYTHON, "-c", source, *sorted(SKIP)], None, TIMEOUT)
    assert result.returncode == 0, result.stderr[-4000:]
    data: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return data


def test_every_module_imports(walk: dict[str, object]) -> None:
    failed = walk["failed"]
    assert failed == {}, "these modules do not import:\n" + "\n".join(
        f"  {name}: {error}" for name, error in sorted(failed.items())  # type: ignore[attr-defined]
    )


def test_the_walk_covers_the_standard_library(walk: dict[str, object]) -> None:
    imported = set(walk["imported"])  # type: ignore[arg-type]
    # What distroless users reach for, and what the bases once left out.
    for name in (
        "asyncio",
        "ctypes",
        "curses",
        "dbm.ndbm",
        "decimal",
        "ensurepip",
        "hashlib",
        "lzma",
        "readline",
        "sqlite3",
        "ssl",
        "uuid",
        "venv",
        "xml.etree.ElementTree",
        "zoneinfo",
    ):
        assert name in imported, name
    assert len(imported) > 500, len(imported)


def test_every_skip_is_a_module_of_the_image(walk: dict[str, object]) -> None:
    assert sorted(walk["skipped"]) == sorted(SKIP)  # type: ignore[arg-type]


def test_the_test_suite_is_left_out(walk: dict[str, object]) -> None:
    names = [*walk["imported"], *walk["failed"], *walk["skipped"]]  # type: ignore[misc]
    found = [name for name in names if name.split(".")[0].startswith(LEFT_OUT)]
    assert found == []


def test_the_libraries_behind_the_modules_work(bundle: Path) -> None:
    result = run_once(bundle, [PYTHON, "-c", USE], None, TIMEOUT)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["sqlite"].startswith("3."), lines
    assert lines["ndbm"] == "value", lines
    assert lines["readline"].startswith("8."), lines
    assert lines["curses"].startswith("6."), lines
