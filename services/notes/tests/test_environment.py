"""notes' settings from the environment: what is required, what is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from notes import environment
from wsgi_service.config import ConfigError

KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"
GOOD = {"SECRET_KEY": KEY, "ALLOWED_HOSTS": "notes.example.com"}


def test_the_required_and_the_defaults() -> None:
    settings = environment.load(GOOD)
    assert settings.secret_key == KEY
    assert settings.allowed_hosts == ("notes.example.com",)
    assert settings.debug is False
    assert settings.database == "/tmp/notes.sqlite3"


def test_every_variable_read(tmp_path: Path) -> None:
    settings = environment.load(
        dict(
            GOOD,
            ALLOWED_HOSTS="notes.example.com, .example.org,127.0.0.1,::1",
            DEBUG="true",
            NOTES_DATABASE=str(tmp_path / "db.sqlite3"),
        )
    )
    assert settings.allowed_hosts == (
        "notes.example.com",
        ".example.org",
        "127.0.0.1",
        "::1",
    )
    assert settings.debug is True
    assert settings.database == str(tmp_path / "db.sqlite3")
    assert environment.load(dict(GOOD, ALLOWED_HOSTS="*")).allowed_hosts == ("*",)


@pytest.mark.parametrize(
    "missing, message",
    [
        (
            "SECRET_KEY",
            "SECRET_KEY is required and not set: give the site's secret key",
        ),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS is required and not set: give the host names"),
    ],
)
def test_a_missing_required_variable_is_named(missing: str, message: str) -> None:
    environ = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ConfigError, match=message):
        environment.load(environ)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("SECRET_KEY", "short", "expected at least 50 characters"),
        ("SECRET_KEY", "a" * 60, "5 of them different"),
        ("SECRET_KEY", "django-insecure-" + KEY, "not django-insecure"),
        ("ALLOWED_HOSTS", "", "'' is not a host name"),
        ("ALLOWED_HOSTS", "ok.example.com,bad host", "'bad host' is not a host name"),
        ("ALLOWED_HOSTS", "http://notes.example.com", "is not a host name"),
        ("DEBUG", "maybe", "expected true or false"),
        ("NOTES_DATABASE", "notes.sqlite3", "expected the absolute path of a file"),
        ("NOTES_DATABASE", "/data/", "expected the absolute path of a file"),
        ("NOTES_DATABASE", "/no/such/dir/notes.sqlite3", "/no/such/dir does not exist"),
    ],
)
def test_a_bad_value_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=name) as caught:
        environment.load(dict(GOOD, **{name: value}))
    assert message in str(caught.value)


def test_the_secret_key_is_never_quoted_back() -> None:
    secret = "s3cr3t-but-too-short"
    with pytest.raises(ConfigError) as caught:
        environment.load(dict(GOOD, SECRET_KEY=secret))
    assert secret not in str(caught.value)
    assert "its value is not shown" in str(caught.value)


def test_manage_exits_2_naming_the_variable() -> None:
    environ = {k: v for k, v in os.environ.items() if k not in GOOD}
    result = subprocess.run(
        [sys.executable, "-m", "notes", "check"],
        env=dict(environ, ALLOWED_HOSTS="notes.example.com"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert result.stderr.startswith("config error: SECRET_KEY is required and not set")
