"""install.py fails clearly on a lock that does not match what is served, and installs a good one.

A tiny wheel is built here and served from a local directory
(--no-index --find-links), so the test needs no network.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

INSTALL = Path(__file__).with_name("install.py")


def make_wheel(directory: Path) -> Path:
    wheel = directory / "tinydist-1.0-py3-none-any.whl"
    files = {
        "tinydist/__init__.py": b"VALUE = 42\n",
        "tinydist-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinydist\nVersion: 1.0\n",
        "tinydist-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, content in files.items():
        digest = (
            base64.urlsafe_b64encode(hashlib.sha256(content).digest())
            .rstrip(b"=")
            .decode()
        )
        record.append(f"{name},sha256={digest},{len(content)}")
    record.append("tinydist-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        archive.writestr("tinydist-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def run_install(tmp_path: Path, sha256: str) -> subprocess.CompletedProcess[str]:
    lock = tmp_path / "requirements_lock.txt"
    lock.write_text(f"tinydist==1.0 \\\n    --hash=sha256:{sha256}\n")
    command = [
        sys.executable, str(INSTALL), "--lock", str(lock), "--target", str(tmp_path / "site"),
        "--no-index", "--find-links", str(tmp_path / "wheels"), "--no-cache-dir",
    ]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False
    )


def test_hash_mismatch_names_package_and_lock(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    make_wheel(tmp_path / "wheels")
    result = run_install(tmp_path, "0" * 64)
    assert result.returncode == 1
    assert "hash mismatch" in result.stderr
    assert "tinydist==1.0" in result.stderr
    assert str(tmp_path / "requirements_lock.txt") in result.stderr
    assert "bazel run //:requirements.update" in result.stderr
    assert not (tmp_path / "site" / "tinydist").exists()


def test_matching_hash_installs(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    wheel = make_wheel(tmp_path / "wheels")
    result = run_install(tmp_path, hashlib.sha256(wheel.read_bytes()).hexdigest())
    assert result.returncode == 0, result.stderr
    assert (
        tmp_path / "site" / "tinydist" / "__init__.py"
    ).read_text() == "VALUE = 42\n"
