"""install_wheel.py: a wheel's files land where pip --target would put them."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import installer

SCRIPT = Path(__file__).parent.parent / "install_wheel.py"
# Where the installer package is: install_wheel.py puts it on sys.path itself.
INSTALLER = Path(installer.__file__).parent.parent

FILES = {
    "demo/__init__.py": b"def main():\n    return 0\n",
    "demo/_speedups.cpython-313-x86_64-linux-gnu.so": b"\x7fELF not really",
    "demo-1.0.data/purelib/demo_extra.py": b"EXTRA = 1\n",
    "demo-1.0.data/scripts/demo-tool": b"#!python\nprint('tool')\n",
    "demo-1.0.data/data/share/demo/readme.txt": b"data\n",
    "demo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    "demo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: cp313-cp313-linux_x86_64\n",
    "demo-1.0.dist-info/entry_points.txt": b"[console_scripts]\ndemo = demo:main\n",
}


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{name},sha256={digest.decode()},{len(data)}"


def make_wheel(
    directory: Path, files: dict[str, bytes], record: dict[str, bytes]
) -> Path:
    wheel = directory / "demo-1.0-cp313-cp313-linux_x86_64.whl"
    lines = [record_line(name, data) for name, data in record.items()]
    lines.append("demo-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("demo-1.0.dist-info/RECORD", "\n".join(lines) + "\n")
    return wheel


def install(wheel: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-B", str(SCRIPT), "--installer", str(INSTALLER),
         "--wheel", str(wheel), "--interpreter", "/usr/bin/python3.13", "--dest", str(dest)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_installs_like_pip_target(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, FILES, FILES)
    dest = tmp_path / "repo"
    result = install(wheel, dest)
    assert result.returncode == 0, result.stderr
    site = dest / "site-packages"
    assert (site / "demo/__init__.py").read_bytes() == FILES["demo/__init__.py"]
    assert (site / "demo/_speedups.cpython-313-x86_64-linux-gnu.so").exists()
    # .data/purelib joins the importable root; data and scripts do not.
    assert (site / "demo_extra.py").read_text() == "EXTRA = 1\n"
    assert (dest / "data/share/demo/readme.txt").read_text() == "data\n"
    assert not list(site.glob("*.data"))
    # Scripts get the interpreter; entry points get a launcher.
    assert (dest / "bin/demo-tool").read_text().startswith("#!/usr/bin/python3.13\n")
    launcher = (dest / "bin/demo").read_text()
    assert (
        launcher.startswith("#!/usr/bin/python3.13\n")
        and "from demo import main" in launcher
    )
    assert (dest / "bin/demo").stat().st_mode & 0o111
    dist_info = site / "demo-1.0.dist-info"
    assert (
        dist_info / "INSTALLER"
    ).read_text() == "bazel-python-containers tools/pypi\n"
    record = (dist_info / "RECORD").read_text().splitlines()
    # Files of the other lib scheme are recorded relative to it, as `./` (installer's way).
    assert "./" + record_line("demo_extra.py", b"EXTRA = 1\n") in record
    assert record_line("demo/__init__.py", FILES["demo/__init__.py"]) in record
    assert any(line.startswith("../bin/demo,sha256=") for line in record)
    assert "demo-1.0.dist-info/RECORD,," in record


def test_a_file_that_does_not_match_the_wheels_record_fails(tmp_path: Path) -> None:
    tampered = {**FILES, "demo/__init__.py": b"import os; os.system('evil')\n"}
    wheel = make_wheel(tmp_path, tampered, FILES)
    result = install(wheel, tmp_path / "repo")
    assert result.returncode == 1
    assert "installing demo-1.0-cp313-cp313-linux_x86_64.whl failed" in result.stderr
    assert "demo/__init__.py" in result.stderr


def test_a_wheel_holding_a_build_file_is_refused(tmp_path: Path) -> None:
    files = {**FILES, "demo/data/BUILD": b"not for Bazel\n"}
    result = install(make_wheel(tmp_path, files, files), tmp_path / "repo")
    assert result.returncode == 1
    assert "contains Bazel BUILD files (site-packages/demo/data/BUILD)" in result.stderr


def test_same_wheel_same_bytes(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, FILES, FILES)
    trees = []
    for name in ("a", "b"):
        assert install(wheel, tmp_path / name).returncode == 0
        root = tmp_path / name
        trees.append(
            {
                str(p.relative_to(root)): p.read_bytes()
                for p in sorted(root.rglob("*"))
                if p.is_file()
            }
        )
    assert trees[0] == trees[1]
