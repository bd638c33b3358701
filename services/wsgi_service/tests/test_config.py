"""Configuration from the environment: defaults, good values, bad values, exit 2."""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import pytest
from sample_service.app import create_app
from service_testing import child_env
from wsgi_service import main
from wsgi_service.config import (
    ConfigError,
    FrozenSettingsError,
    ServerConfig,
    Settings,
    integer,
    load_config,
    load_settings,
    setting,
)
from wsgi_service.connections import RESERVED_FDS

Config = ServerConfig


def test_defaults() -> None:
    config = load_config({})
    assert config == Config(
        host="0.0.0.0",
        port=8080,
        threads=4,
        log_level="info",
        log_format="json",
        shutdown_grace_seconds=10.0,
        max_connections=900,
        request_header_timeout_seconds=10.0,
        idle_timeout_seconds=75,
        max_request_header_bytes=16384,
        max_request_body_bytes=65536,
    )
    # Below the common container limit of 1024 open files, with room to spare.
    assert config.max_connections + RESERVED_FDS <= 1024


def test_config_is_frozen() -> None:
    with pytest.raises(FrozenSettingsError):
        load_config({}).port = 1  # type: ignore[misc]


def test_unrelated_variables_are_ignored() -> None:
    assert load_config({"PATH": "/bin", "HOME": "/root", "port": "x"}) == Config()


@pytest.mark.parametrize(
    ("name", "raw", "field", "value"),
    [
        ("PORT", "1", "port", 1),
        ("PORT", "65535", "port", 65535),
        ("PORT", "0", "port", 0),
        ("PORT", "08080", "port", 8080),
        ("HOST", "127.0.0.1", "host", "127.0.0.1"),
        ("HOST", "::", "host", "::"),
        ("HOST", "::1", "host", "::1"),
        ("HOST", "fe80::1:2", "host", "fe80::1:2"),
        ("HOST", "localhost", "host", "localhost"),
        (
            "HOST",
            "my-service.default.svc.cluster.local",
            "host",
            "my-service.default.svc.cluster.local",
        ),
        ("HOST", "example.com.", "host", "example.com."),
        ("HOST", "a" * 63, "host", "a" * 63),
        ("THREADS", "1", "threads", 1),
        ("THREADS", "64", "threads", 64),
        ("SWITCH_INTERVAL_US", "10", "switch_interval_us", 10),
        ("SWITCH_INTERVAL_US", "100000", "switch_interval_us", 100_000),
        ("LOG_LEVEL", "debug", "log_level", "debug"),
        ("LOG_LEVEL", "WARNING", "log_level", "warning"),
        ("LOG_LEVEL", "Error", "log_level", "error"),
        ("LOG_FORMAT", "text", "log_format", "text"),
        ("LOG_FORMAT", "JSON", "log_format", "json"),
        ("SHUTDOWN_GRACE_SECONDS", "0", "shutdown_grace_seconds", 0.0),
        ("SHUTDOWN_GRACE_SECONDS", "2.5", "shutdown_grace_seconds", 2.5),
        ("SHUTDOWN_GRACE_SECONDS", "300", "shutdown_grace_seconds", 300.0),
        ("SHUTDOWN_GRACE_SECONDS", "300.0", "shutdown_grace_seconds", 300.0),
        ("MAX_CONNECTIONS", "1", "max_connections", 1),
        ("MAX_CONNECTIONS", "65536", "max_connections", 65536),
        ("REQUEST_HEADER_TIMEOUT_SECONDS", "1", "request_header_timeout_seconds", 1.0),
        (
            "REQUEST_HEADER_TIMEOUT_SECONDS",
            "2.5",
            "request_header_timeout_seconds",
            2.5,
        ),
        ("IDLE_TIMEOUT_SECONDS", "1", "idle_timeout_seconds", 1),
        ("IDLE_TIMEOUT_SECONDS", "3600", "idle_timeout_seconds", 3600),
        ("MAX_REQUEST_HEADER_BYTES", "1024", "max_request_header_bytes", 1024),
        ("MAX_REQUEST_BODY_BYTES", "0", "max_request_body_bytes", 0),
    ],
)
def test_good_values(name: str, raw: str, field: str, value: object) -> None:
    config = load_config({name: raw})
    assert getattr(config, field) == value
    assert type(getattr(config, field)) is type(value)


PORT_RULE = "expected an integer from 0 to 65535 (0 picks a free port)"
HOST_RULE = "expected an IPv4 or IPv6 address or a hostname"
THREADS_RULE = "expected an integer from 1 to 64"
LEVEL_RULE = "expected one of debug, info, warning, error"
FORMAT_RULE = "expected one of json, text"
GRACE_RULE = "expected a number of seconds from 0 to 300, like 10 or 2.5"
CONNECTIONS_RULE = "expected an integer from 1 to 65536"
HEADER_TIMEOUT_RULE = "expected a number of seconds from 1 to 300, like 10 or 2.5"
IDLE_RULE = "expected an integer from 1 to 3600"
HEADER_BYTES_RULE = "expected an integer from 1024 to 1048576"
BODY_BYTES_RULE = "expected an integer from 0 to 67108864"


@pytest.mark.parametrize(
    ("name", "raw", "rule"),
    [
        ("PORT", "abc", PORT_RULE),
        ("PORT", "", PORT_RULE),
        ("PORT", "-1", PORT_RULE),
        ("PORT", "65536", PORT_RULE),
        ("PORT", "+80", PORT_RULE),
        ("PORT", " 80", PORT_RULE),
        ("PORT", "80 ", PORT_RULE),
        ("PORT", "8_080", PORT_RULE),
        ("PORT", "80.0", PORT_RULE),
        ("PORT", "\u0668\u0660", PORT_RULE),  # Arabic-Indic digits
        ("PORT", "9" * 5000, PORT_RULE),
        ("HOST", "", HOST_RULE),
        ("HOST", "not a host", HOST_RULE),
        ("HOST", "-leading.example", HOST_RULE),
        ("HOST", "trailing-.example", HOST_RULE),
        ("HOST", "under_score", HOST_RULE),
        ("HOST", "a..b", HOST_RULE),
        ("HOST", "a" * 64, HOST_RULE),
        ("HOST", ("a" * 60 + ".") * 5, HOST_RULE),
        ("HOST", "256.0.0.1", HOST_RULE),
        ("HOST", "1.2.3", HOST_RULE),
        ("HOST", "::g", HOST_RULE),
        ("HOST", "http://example.com", HOST_RULE),
        ("HOST", "example.com:80", HOST_RULE),
        ("HOST", "*", HOST_RULE),
        ("HOST", "ex\u00e4mple.com", HOST_RULE),
        ("THREADS", "0", THREADS_RULE),
        ("THREADS", "65", THREADS_RULE),
        ("THREADS", "four", THREADS_RULE),
        ("THREADS", "", THREADS_RULE),
        ("SWITCH_INTERVAL_US", "9", "expected an integer from 10 to 100000"),
        ("SWITCH_INTERVAL_US", "0.1", "expected an integer from 10 to 100000"),
        ("LOG_LEVEL", "verbose", LEVEL_RULE),
        ("LOG_LEVEL", "warn", LEVEL_RULE),
        ("LOG_LEVEL", "", LEVEL_RULE),
        ("LOG_LEVEL", " info", LEVEL_RULE),
        ("LOG_FORMAT", "logfmt", FORMAT_RULE),
        ("LOG_FORMAT", "", FORMAT_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "-1", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "301", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "300.5", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "nan", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "inf", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "1e2", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "10s", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", ".5", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "5.", GRACE_RULE),
        ("SHUTDOWN_GRACE_SECONDS", "", GRACE_RULE),
        ("MAX_CONNECTIONS", "0", CONNECTIONS_RULE),
        ("MAX_CONNECTIONS", "65537", CONNECTIONS_RULE),
        ("MAX_CONNECTIONS", "many", CONNECTIONS_RULE),
        ("REQUEST_HEADER_TIMEOUT_SECONDS", "0", HEADER_TIMEOUT_RULE),
        ("REQUEST_HEADER_TIMEOUT_SECONDS", "0.5", HEADER_TIMEOUT_RULE),
        ("REQUEST_HEADER_TIMEOUT_SECONDS", "301", HEADER_TIMEOUT_RULE),
        ("REQUEST_HEADER_TIMEOUT_SECONDS", "inf", HEADER_TIMEOUT_RULE),
        ("IDLE_TIMEOUT_SECONDS", "0", IDLE_RULE),
        ("IDLE_TIMEOUT_SECONDS", "2.5", IDLE_RULE),
        ("MAX_REQUEST_HEADER_BYTES", "1023", HEADER_BYTES_RULE),
        ("MAX_REQUEST_HEADER_BYTES", "16k", HEADER_BYTES_RULE),
        ("MAX_REQUEST_BODY_BYTES", "67108865", BODY_BYTES_RULE),
        ("MAX_REQUEST_BODY_BYTES", "-1", BODY_BYTES_RULE),
    ],
)
def test_bad_values(name: str, raw: str, rule: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({name: raw})
    message = str(caught.value)
    assert message.startswith(f"{name}=")
    assert message.endswith(f" is not allowed: {rule}")
    assert "\n" not in message


def test_message_quotes_the_value() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"PORT": "abc"})
    assert str(caught.value) == f"PORT='abc' is not allowed: {PORT_RULE}"


def test_message_stays_one_short_line_for_hostile_values() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"LOG_LEVEL": "x\ny\r\x1b" + "z" * 500})
    message = str(caught.value)
    assert "\n" not in message
    assert "\r" not in message
    assert "\x1b" not in message
    assert message.startswith("LOG_LEVEL='x\\ny\\r\\x1b")
    assert len(message) < 200


def test_first_bad_variable_is_named_even_when_others_are_fine() -> None:
    with pytest.raises(ConfigError, match=r"^THREADS='0'"):
        load_config({"PORT": "8080", "THREADS": "0", "LOG_LEVEL": "info"})


class OwnSettings(Settings):
    """A service's own settings, declared as the server's are."""

    workers: int = setting("OWN_WORKERS", 2, integer(1, 8))
    fixed: str = "not from the environment"


def test_a_service_declares_its_own_settings() -> None:
    assert load_settings(OwnSettings, {}) == OwnSettings(workers=2)
    assert load_settings(OwnSettings, {"OWN_WORKERS": "8", "fixed": "x"}).workers == 8
    with pytest.raises(ConfigError) as caught:
        load_settings(OwnSettings, {"OWN_WORKERS": "9"})
    assert str(caught.value) == (
        "OWN_WORKERS='9' is not allowed: expected an integer from 1 to 8"
    )


def run_module(
    env: dict[str, str], preexec_fn=None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sample_service"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        preexec_fn=preexec_fn,
    )


def test_bad_config_exits_2_with_one_line_on_stderr() -> None:
    result = run_module(child_env(PORT="abc"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"config error: PORT='abc' is not allowed: {PORT_RULE}\n")


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("HOST", "bad host"),
        ("THREADS", "100"),
        ("LOG_LEVEL", "loud"),
        ("LOG_FORMAT", "xml"),
        ("SHUTDOWN_GRACE_SECONDS", "forever"),
        ("MAX_CONNECTIONS", "0"),
        ("REQUEST_HEADER_TIMEOUT_SECONDS", "soon"),
        ("IDLE_TIMEOUT_SECONDS", "never"),
        ("MAX_REQUEST_HEADER_BYTES", "1"),
        ("MAX_REQUEST_BODY_BYTES", "lots"),
        # The service's own setting, read by its create_app.
        ("SAMPLE_GREETING", "Hi!"),
    ],
)
def test_each_variable_exits_2_when_bad(name: str, raw: str) -> None:
    result = run_module(child_env(**{name: raw}))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"config error: {name}={raw!r} is not allowed: expected "
    )


def _open_files_limit(limit: int):
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return preexec


def test_more_connections_than_open_files_exits_2() -> None:
    result = run_module(
        child_env(MAX_CONNECTIONS="1000"), preexec_fn=_open_files_limit(1024)
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "config error: MAX_CONNECTIONS=1000 is not allowed: this process may open"
        f" at most 1024 files (RLIMIT_NOFILE) and keeps {RESERVED_FDS} for itself;"
        f" expected at most {1024 - RESERVED_FDS}, or raise the limit\n"
    )


def test_malformed_build_info_fails_start_up(tmp_path, monkeypatch) -> None:
    path = tmp_path / "build_info.json"
    path.write_text("{oops")
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    status = main.run(
        "sample_service",
        create_app,
        {"PORT": "0", "HOST": "127.0.0.1"},
        build_info_path=str(path),
    )
    assert status == 1
    (record,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert record["level"] == "error"
    assert record["msg"] == "invalid build info"
    assert str(path) in record["error"]
    assert "not valid JSON" in record["error"]


def test_settings_compare_by_value_and_refuse_what_they_do_not_have() -> None:
    a, b = OwnSettings(workers=3), OwnSettings(workers=3)
    assert a == b and hash(a) == hash(b) and a != OwnSettings()
    assert repr(a) == "OwnSettings(workers=3)"
    with pytest.raises(TypeError, match="OwnSettings has no setting 'threads'"):
        OwnSettings(threads=2)
    with pytest.raises(FrozenSettingsError):
        del a.workers


def test_load_settings_names_a_class_that_is_not_settings() -> None:
    class Plain:
        workers: int = setting("OWN_WORKERS", 2, integer(1, 8))

    with pytest.raises(TypeError, match="is not a Settings class"):
        load_settings(Plain, {})
