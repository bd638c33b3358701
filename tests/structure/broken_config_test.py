"""Breaking an expectation fails the structure test, and says what was expected and found.

broken.yaml is wrong about //images:hello in every test; the runner must exit
1 with every test failed, each with the message asserted here.
"""

from __future__ import annotations

import io
import os

import pytest
import runner


def results(output: str) -> dict[str, tuple[str, list[str]]]:
    """Test name -> (PASS/FAIL/SKIP, its Error: lines)."""
    found: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in output.splitlines():
        if line.startswith("=== RUN: "):
            name = line.removeprefix("=== RUN: ")
            found[name] = ("", [])
        elif line.startswith("--- ") and name:
            found[name] = (line.removeprefix("--- "), found[name][1])
        elif line.startswith("Error: ") and name:
            found[name][1].append(line.removeprefix("Error: "))
    return found


@pytest.fixture(scope="module")
def run() -> tuple[int, str]:
    out = io.StringIO()
    code = runner.main(
        [
            "--image",
            os.environ["IMAGE"],
            "--platform",
            "linux/amd64",
            os.environ["CONFIG"],
        ],
        out=out,
    )
    print(out.getvalue())  # Shown when the test fails.
    return code, out.getvalue()


def test_exits_1_with_every_test_failed(run: tuple[int, str]) -> None:
    code, output = run
    assert code == 1
    assert "Passes: 0  Failures: 10  Total tests: 10" in output
    assert output.splitlines()[-1] == "FAIL"
    assert {status for status, _ in results(output).values()} == {"FAIL"}


EXPECTED = {
    "Metadata Test": [
        "Env var PYTHONPATH is '/app:/app/site-packages', expected '/usr/lib/python3/dist-packages'",
        "Image Entrypoint ['/usr/bin/python3.13', '-m', 'hello'] does not match expected Entrypoint: "
        "['/bin/sh', '-c', 'python3 -m hello']",
        "Port 80 not found in config; it exposes: 8080/tcp",
        "Image user '65532:65532' does not match expected user: '0:0'",
    ],
    "File Existence Test: a shell": ["File /bin/sh should exist but does not"],
    "File Existence Test: busybox": ["File /busybox/sh should exist but does not"],
    "File Existence Test: no python": [
        "File /usr/bin/python3.13 should not exist but does (a file)"
    ],
    "File Existence Test: a world-readable home": [
        "/home/nonroot has incorrect permissions. Expected: drwxr-xr-x, Actual: drwx------",
        "/home/nonroot has incorrect user ownership. Expected: 0, Actual: 65532",
    ],
    "File Existence Test: app code executable": [
        "/app/hello/__main__.py is not executable by owner: its permissions are -rw-r--r--"
    ],
    "File Content Test: root can log in": [
        "Expected string '(?m)^root:x:0:0:root:/root:/bin/bash$' not found in /etc/passwd (149 bytes)",
        "Excluded string 'nonroot' found in /etc/passwd: 'nonroot'",
    ],
    "Command Test: Python 3.12": [
        "Expected string '^Python 3\\.12' not found in output"
    ],
    "Command Test: runs as root": ["Expected string '^0$' not found in output"],
}


@pytest.mark.parametrize("name", EXPECTED)
def test_each_failure_says_what_was_expected_and_found(
    run: tuple[int, str], name: str
) -> None:
    assert results(run[1])[name] == ("FAIL", EXPECTED[name])


def test_a_missing_shell_fails_the_command_test(run: tuple[int, str]) -> None:
    status, errors = results(run[1])["Command Test: a shell runs"]
    assert status == "FAIL"
    assert "Expected string '^ok$' not found in output" in errors
