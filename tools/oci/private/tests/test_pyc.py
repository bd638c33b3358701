"""pyc.py: deterministic, checked-hash .pyc files for the image's interpreter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testlib import find_python, run_tool

# The host interpreter always; the image's (3.13) where the host has it.
PYTHONS = [pytest.param(sys.executable, id="host")]
if python313 := find_python("3.13"):
    PYTHONS.append(pytest.param(python313, id="3.13"))
else:
    PYTHONS.append(
        pytest.param(
            None, id="3.13", marks=pytest.mark.skip(reason="no python3.13 on this host")
        )
    )

# Sources whose marshal output is sensitive to hashing and interning: frozenset
# constants, many small code objects, repeated strings.
SOURCES = {
    "pkg/__init__.py": "",
    "pkg/mod.py": (
        "VALUE = 1\n"
        "NAMES = frozenset({'alpha', 'beta', 'gamma', 'delta', 'epsilon'})\n"
        "def check(x):\n"
        "    return x in {'alpha', 'beta', 'gamma', 'delta', 'epsilon'}\n"
        "def fail():\n"
        "    raise RuntimeError('boom')\n"
        "class K:\n"
        "    def m(self):\n"
        "        return [lambda y: y + i for i in range(3)]\n"
    ),
    "pkg/sub/deep.py": "import collections\nPoint = collections.namedtuple('P', 'x y')\n",
}


def _target(python: str, code: str, *args: str, cwd: Path | None = None) -> str:
    """Run code in the target interpreter (its magic number and hash key differ)."""
    out = subprocess.run(
        [python, "-S", "-c", code, *args],
        env={"PYTHONDONTWRITEBYTECODE": "1"},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _write_sources(root: Path) -> list[Path]:
    paths = []
    for rel, text in SOURCES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def _compile(
    python: str, src_root: Path, out: Path, *extra: object
) -> dict[str, bytes]:
    files = _write_sources(src_root)
    run_tool(
        "pyc",
        "--python",
        python,
        "--src-root",
        src_root,
        "--output-dir",
        out,
        "--image-prefix",
        "/app",
        *extra,
        *files,
    )
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.pyc"))}


@pytest.mark.parametrize("python", PYTHONS)
def test_byte_identical_across_runs(tmp_path: Path, python: str) -> None:
    first = _compile(python, tmp_path / "a", tmp_path / "out1", "--jobs", "1")
    second = _compile(python, tmp_path / "b", tmp_path / "out2", "--jobs", "3")
    tag = _target(python, "import sys; print(sys.implementation.cache_tag)")
    assert sorted(first) == [
        f"pkg/__pycache__/__init__.{tag}.pyc",
        f"pkg/__pycache__/mod.{tag}.pyc",
        f"pkg/sub/__pycache__/deep.{tag}.pyc",
    ]
    assert first == second
    for path in (tmp_path / "out1").rglob("*.pyc"):
        assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("python", PYTHONS)
def test_header_is_checked_hash_of_the_source(tmp_path: Path, python: str) -> None:
    pycs = _compile(python, tmp_path / "src", tmp_path / "out")
    tag = _target(python, "import sys; print(sys.implementation.cache_tag)")
    data = pycs[f"pkg/__pycache__/mod.{tag}.pyc"]
    source = tmp_path / "src" / "pkg" / "mod.py"
    magic = _target(
        python, "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"
    )
    source_hash = _target(
        python,
        "import importlib.util, sys; "
        "print(importlib.util.source_hash(open(sys.argv[1], 'rb').read()).hex())",
        str(source),
    )
    assert data[:4].hex() == magic
    assert int.from_bytes(data[4:8], "little") == 0b11  # PEP 552: hash-based, checked.
    assert data[8:16].hex() == source_hash


@pytest.mark.parametrize("python", PYTHONS)
def test_code_objects_name_image_paths(tmp_path: Path, python: str) -> None:
    pycs = _compile(python, tmp_path / "src", tmp_path / "out")
    tag = _target(python, "import sys; print(sys.implementation.cache_tag)")
    pyc = tmp_path / "out" / f"pkg/__pycache__/mod.{tag}.pyc"
    assert pyc.read_bytes() == pycs[f"pkg/__pycache__/mod.{tag}.pyc"]
    names = _target(
        python,
        "import marshal, sys, types\n"
        "code = marshal.loads(open(sys.argv[1], 'rb').read()[16:])\n"
        "def walk(c):\n"
        "    yield c.co_filename\n"
        "    for k in c.co_consts:\n"
        "        if isinstance(k, types.CodeType):\n"
        "            yield from walk(k)\n"
        "print(sorted(set(walk(code))))",
        str(pyc),
    )
    assert names == "['/app/pkg/mod.py']"
    assert str(tmp_path).encode() not in pyc.read_bytes()


def _image_tree(tmp_path: Path, python: str, invalidation: str) -> Path:
    """Sources and .pyc files laid out as in the image (…/pkg/__pycache__/…)."""
    out = tmp_path / f"out-{invalidation}"
    _compile(python, tmp_path / "src", out, "--invalidation", invalidation)
    root = tmp_path / f"root-{invalidation}"
    shutil.copytree(tmp_path / "src", root)
    shutil.copytree(out, root, dirs_exist_ok=True)
    return root


@pytest.mark.parametrize("python", PYTHONS)
def test_import_uses_the_pyc_and_checked_hash_sees_edits(
    tmp_path: Path, python: str
) -> None:
    root = _image_tree(tmp_path, python, "checked-hash")
    verbose = subprocess.run(
        [python, "-S", "-v", "-c", "import pkg.mod"],
        env={"PYTHONDONTWRITEBYTECODE": "1"},
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    assert "code object from '" in verbose and "pkg/__pycache__/mod." in verbose
    # Editing the source invalidates a checked-hash pyc: the new value is seen...
    mod = root / "pkg" / "mod.py"
    mod.write_text(mod.read_text().replace("VALUE = 1", "VALUE = 2"))
    assert _target(python, "import pkg.mod; print(pkg.mod.VALUE)", cwd=root) == "2"
    # ...while an unchecked-hash pyc keeps the stale code (why it is not the default).
    stale = _image_tree(tmp_path, python, "unchecked-hash")
    mod = stale / "pkg" / "mod.py"
    mod.write_text(mod.read_text().replace("VALUE = 1", "VALUE = 2"))
    assert _target(python, "import pkg.mod; print(pkg.mod.VALUE)", cwd=stale) == "1"


def test_explicit_image_paths_and_spec_out(tmp_path: Path) -> None:
    gen = tmp_path / "bazel-out" / "gen.py"
    gen.parent.mkdir()
    gen.write_text("X = 1\n")
    out = tmp_path / "out"
    spec = tmp_path / "pyc.json"
    run_tool(
        "pyc", "--python", sys.executable, "--output-dir", out, "--image-prefix", "/app",
        "--spec-out", spec, f"{gen}=lib/generated.py",
    )  # fmt: skip
    tag = sys.implementation.cache_tag
    pyc = out / f"lib/__pycache__/generated.{tag}.pyc"
    assert json.loads(spec.read_bytes()) == {
        "entries": [
            {
                "path": f"app/lib/__pycache__/generated.{tag}.pyc",
                "source": str(pyc),
                "mode": "0644",
            }
        ]
    }
    # The fragment is a valid layer spec.
    run_tool(
        "layer", "--spec", spec, "--output", tmp_path / "l.tgz", "--descriptor",
        tmp_path / "l.json", "--listing", tmp_path / "l.txt",
    )  # fmt: skip
    assert (
        f"app/lib/__pycache__/generated.{tag}.pyc\tfile\t0644"
        in (tmp_path / "l.txt").read_text()
    )


def test_optimize_level_names_the_file(tmp_path: Path) -> None:
    pycs = _compile(
        sys.executable, tmp_path / "src", tmp_path / "out", "--optimize", "2"
    )
    assert f"pkg/__pycache__/mod.{sys.implementation.cache_tag}.opt-2.pyc" in pycs


def test_errors(tmp_path: Path) -> None:
    bad = tmp_path / "src" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("def broken(:\n")
    common = ["--python", sys.executable, "--output-dir", tmp_path / "out"]
    result = run_tool("pyc", *common, "--src-root", tmp_path / "src", bad, ok=False)
    assert "cannot compile" in result.stderr and "bad.py" in result.stderr
    assert "SyntaxError" in result.stderr or "invalid syntax" in result.stderr

    outside = tmp_path / "elsewhere.py"
    outside.write_text("")
    result = run_tool("pyc", *common, "--src-root", tmp_path / "src", outside, ok=False)
    assert "is not below the image prefix" in result.stderr

    result = run_tool("pyc", *common, outside, ok=False)
    assert "give --src-root or name the path as SRC=REL" in result.stderr

    result = run_tool("pyc", *common, f"{outside}=a.py", f"{outside}=a.py", ok=False)
    assert "two sources for 'a.py'" in result.stderr

    result = run_tool(
        "pyc", *common, "--image-prefix", "app", f"{outside}=a.py", ok=False
    )
    assert "--image-prefix" in result.stderr

    result = run_tool(
        "pyc", "--python", "/nonexistent/python", "--output-dir", tmp_path / "o",
        f"{outside}=a.py", ok=False,
    )  # fmt: skip
    assert "cannot run target Python" in result.stderr


def test_spec_written_by_pyc_needs_no_cwd(tmp_path: Path) -> None:
    # Relative --output-dir gives relative sources in the spec, as Bazel paths are.
    src = tmp_path / "m.py"
    src.write_text("")
    run_tool(
        "pyc", "--python", sys.executable, "--output-dir", "out", "--spec-out", "s.json",
        "m.py=m.py", cwd=tmp_path,
    )  # fmt: skip
    spec = json.loads((tmp_path / "s.json").read_bytes())
    assert not spec["entries"][0]["source"].startswith("/")


def test_no_files_gives_an_empty_output(tmp_path: Path) -> None:
    # A layer without .py files still runs the action; its outputs must exist.
    run_tool(
        "pyc", "--python", sys.executable, "--output-dir", tmp_path / "out",
        "--spec-out", tmp_path / "s.json",
    )  # fmt: skip
    assert list((tmp_path / "out").iterdir()) == []
    assert json.loads((tmp_path / "s.json").read_bytes()) == {"entries": []}
