"""keygen: a password-protected cosign key pair, never overwriting one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import keygen


def public_key(key: Path, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["cosign", "public-key", "--key", str(key)],
        env={**os.environ, "COSIGN_PASSWORD": password},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_key_pair_opens_with_its_password_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COSIGN_PASSWORD", "s3cret")
    key, pub = keygen.keygen(tmp_path / "keys")
    assert key.stat().st_mode & 0o777 == 0o600
    opened = public_key(key, "s3cret")
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == pub.read_text().strip()
    assert public_key(key, "wrong").returncode != 0


def test_existing_key_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "s3cret")
    (tmp_path / "cosign.key").write_text("mine")
    with pytest.raises(keygen.KeygenError, match="exists; move it away first"):
        keygen.keygen(tmp_path)
    assert (tmp_path / "cosign.key").read_text() == "mine"
    assert not (tmp_path / "cosign.pub").exists()


@pytest.mark.parametrize("password", [None, ""])
def test_a_password_is_required(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str | None) -> None:  # fmt: skip
    if password is None:
        monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("COSIGN_PASSWORD", password)
    with pytest.raises(keygen.KeygenError, match="COSIGN_PASSWORD is"):
        keygen.keygen(tmp_path)
    assert list(tmp_path.iterdir()) == []
