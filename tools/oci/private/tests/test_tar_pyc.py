"""tar_pyc.py: .pyc files for the Python sources inside tars, laid out as in the image."""

from __future__ import annotations

import io
import marshal
import sys
import tarfile
from pathlib import Path

import pytest
from testlib import run_tool

PREFIX = "usr/lib/python3.13"
SOURCES = {
    "alpha.py": "def f(x):\n    return x['key'] + 1\n",
    "pkg/__init__.py": "",
    "pkg/beta.py": "VALUE = [n * 2 for n in range(3)]\n",
}


def make_data_tar(path: Path) -> Path:
    """A Debian-like data tar: sources under ./PREFIX, a symlinked module, a non-.py file."""
    with tarfile.open(path, "w") as tar:
        for rel, text in SOURCES.items():
            data = text.encode()
            info = tarfile.TarInfo(f"./{PREFIX}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"./{PREFIX}/sitecustomize.py")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/python3.13/sitecustomize.py"
        tar.addfile(link)
        readme = tarfile.TarInfo(f"./{PREFIX}/README.txt")
        tar.addfile(readme, io.BytesIO(b""))
    return path


def compile_tar(tmp_path: Path, *extra: object, ok: bool = True):  # type: ignore[no-untyped-def]
    data = make_data_tar(tmp_path / "data.tar")
    out = tmp_path / "pyc.tar"
    args = ["--python", sys.executable, "--prefix", PREFIX, "--tar", data]
    return run_tool("tar_pyc", *args, "--output", out, *extra, ok=ok), out


def pycs(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def tag() -> str:
    return sys.implementation.cache_tag


def test_every_source_is_compiled_at_its_image_path(tmp_path: Path) -> None:
    _, out = compile_tar(tmp_path)
    assert sorted(pycs(out)) == [
        f"{PREFIX}/__pycache__/alpha.{tag()}.pyc",
        f"{PREFIX}/pkg/__pycache__/__init__.{tag()}.pyc",
        f"{PREFIX}/pkg/__pycache__/beta.{tag()}.pyc",
    ]


def test_only_compiles_the_listed_sources(tmp_path: Path) -> None:
    listing = tmp_path / "only.txt"
    # sitecustomize.py is a symlink: listed, accepted, not compiled.
    listing.write_text("pkg/beta.py\nsitecustomize.py\n")
    _, out = compile_tar(tmp_path, "--only", listing)
    assert list(pycs(out)) == [f"{PREFIX}/pkg/__pycache__/beta.{tag()}.pyc"]


def test_only_names_what_the_tars_lack(tmp_path: Path) -> None:
    listing = tmp_path / "only.txt"
    listing.write_text("alpha.py\ngamma.py\n")
    result, _ = compile_tar(tmp_path, "--only", listing, ok=False)
    assert "gamma.py" in result.stderr and "alpha.py" not in result.stderr


@pytest.mark.parametrize("line", ["/abs.py", "../up.py", "notes.txt"])
def test_only_rejects_paths_outside_the_prefix(tmp_path: Path, line: str) -> None:
    listing = tmp_path / "only.txt"
    listing.write_text(line + "\n")
    result, _ = compile_tar(tmp_path, "--only", listing, ok=False)
    assert repr(line) in result.stderr


@pytest.mark.parametrize(
    ("mode", "flags"), [("checked-hash", 0b11), ("unchecked-hash", 0b01)]
)
def test_invalidation_mode_is_in_the_header(
    tmp_path: Path, mode: str, flags: int
) -> None:
    _, out = compile_tar(tmp_path, "--invalidation", mode)
    data = pycs(out)[f"{PREFIX}/__pycache__/alpha.{tag()}.pyc"]
    assert int.from_bytes(data[4:8], "little") == flags  # PEP 552


def test_no_debug_ranges_drops_column_positions(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, full = compile_tar(tmp_path / "a")
    _, bare = compile_tar(tmp_path / "b", "--no-debug-ranges")
    name = f"{PREFIX}/__pycache__/alpha.{tag()}.pyc"
    with_ranges, without = pycs(full)[name], pycs(bare)[name]
    assert len(without) < len(with_ranges)
    positions = {
        label: list(marshal.loads(data[16:]).co_consts[0].co_positions())
        for label, data in (("full", with_ranges), ("bare", without))
    }
    # Line numbers stay; columns (what tracebacks underline) are gone.
    assert all(col is not None for _, _, col, _ in positions["full"] if col != -1)
    assert {(line, col) for line, _, col, _ in positions["bare"]} <= {
        (line, None) for line, _, _, _ in positions["full"]
    }
