"""Each kind of structure test, run against one platform's image.

File and metadata tests read the image itself (rootfs.Image); command tests
run in a container (command_runtime.Container). Every check reports what was
expected and what was found, in the words of the original tool where it has
them.
"""

from __future__ import annotations

import re
import string
import subprocess
import time
from dataclasses import dataclass, field

from command_runtime import Container
from rootfs import DIRECTORY, REGULAR, SYMLINK, Entry, Image
from schema import (
    CommandTest,
    EnvVar,
    FileContentTest,
    FileExistenceTest,
    LicenseTest,
    MetadataTest,
    format_permissions,
)

# Words in a license file that fail a license test, as in the original tool.
FORBIDDEN_LICENSES = ("AGPL", "WTFPL")
DEBIAN_DOC = "/usr/share/doc"
_KIND_NAMES = {REGULAR: "a file", DIRECTORY: "a directory", SYMLINK: "a symlink"}


@dataclass
class Result:
    name: str  # As the original prints it: "File Existence Test: <name>".
    errors: list[str] = field(default_factory=list)
    skipped: str = ""  # Why, if the test could not run here.
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.errors and not self.skipped

    def error(self, message: str) -> None:
        self.errors.append(message)


def _describe(entry: Entry) -> str:
    kind = _KIND_NAMES.get(entry.kind, f"a special file ({entry.kind})")
    return f"{kind} -> {entry.linkname}" if entry.kind == SYMLINK else kind


# ---------------------------------------------------------------------------


def file_existence(test: FileExistenceTest, image: Image) -> Result:
    result = Result(f"File Existence Test: {test.name}")
    entry = image.tree.lstat(test.path)
    if entry is None:
        if test.should_exist:
            result.error(f"File {test.path} should exist but does not")
        return result
    if not test.should_exist:
        result.error(f"File {test.path} should not exist but does ({_describe(entry)})")
        return result
    if test.permissions is not None:
        expected = test.permissions
        if (entry.kind, entry.mode) != (expected.kind, expected.mode):
            actual = format_permissions(entry.kind, entry.mode, expected.go_style)
            result.error(
                f"{test.path} has incorrect permissions. Expected: {expected.text}, Actual: {actual}"
            )
    if test.uid is not None and entry.uid != test.uid:
        result.error(
            f"{test.path} has incorrect user ownership. Expected: {test.uid}, Actual: {entry.uid}"
        )
    if test.gid is not None and entry.gid != test.gid:
        result.error(
            f"{test.path} has incorrect group ownership. Expected: {test.gid}, Actual: {entry.gid}"
        )
    if test.executable_by is not None:
        bits = {"owner": 0o100, "group": 0o010, "other": 0o001, "any": 0o111}[
            test.executable_by
        ]
        if not entry.mode & bits:
            result.error(
                f"{test.path} is not executable by {test.executable_by}: "
                f"its permissions are {format_permissions(entry.kind, entry.mode, False)}"
            )
    return result


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def file_content(test: FileContentTest, image: Image) -> Result:
    result = Result(f"File Content Test: {test.name}")
    entry = image.tree.stat(test.path)
    if entry is None:
        result.error(f"File {test.path} should exist but does not")
        return result
    if entry.kind != REGULAR:
        result.error(
            f"{test.path} is {_describe(entry)}, not a file; a content test reads a file"
        )
        return result
    contents = _text(entry.read())
    for pattern in test.expected_contents:
        if not pattern.search(contents):
            result.error(
                f"Expected string '{pattern.pattern}' not found in {test.path} ({entry.size} bytes)"
            )
    for pattern in test.excluded_contents:
        if match := pattern.search(contents):
            result.error(
                f"Excluded string '{pattern.pattern}' found in {test.path}: {match.group(0)!r}"
            )
    return result


# ---------------------------------------------------------------------------


def _check_pairs(
    result: Result, what: str, expected: list[EnvVar], actual: dict[str, str]
) -> None:
    for pair in expected:
        if pair.key not in actual:
            result.error(
                f"{what} {pair.key} not found; the image has: {', '.join(sorted(actual)) or 'none'}"
            )
        elif pair.is_regex and not re.search(pair.value, actual[pair.key]):
            result.error(
                f"{what} {pair.key} is {actual[pair.key]!r}, which does not match regex {pair.value!r}"
            )
        elif not pair.is_regex and actual[pair.key] != pair.value:
            result.error(
                f"{what} {pair.key} is {actual[pair.key]!r}, expected {pair.value!r}"
            )


def _has_port(ports: list[str], wanted: str) -> bool:
    """ "8080" is exposed by 8080/tcp or 8080/udp; "8080/udp" only by itself."""
    if "/" in wanted:
        return wanted in ports
    return any(port.partition("/")[0] == wanted for port in ports)


def metadata(test: MetadataTest, image: Image) -> Result:
    result = Result("Metadata Test")
    config = image.runtime
    env = image.env()
    _check_pairs(result, "Env var", test.env_vars, env)
    for key in test.unbound_env_vars:
        if key in env:
            result.error(f"Env var {key} should not be set but is {env[key]!r}")
    _check_pairs(result, "Label", test.labels, config.get("Labels") or {})
    for what, expected, actual in (
        ("Entrypoint", test.entrypoint, config.get("Entrypoint") or []),
        ("Cmd", test.cmd, config.get("Cmd") or []),
    ):
        if expected is not None and expected != actual:
            result.error(
                f"Image {what} {actual} does not match expected {what}: {expected}"
            )
    ports = sorted(config.get("ExposedPorts") or {})
    for port in test.exposed_ports:
        if not _has_port(ports, port):
            result.error(
                f"Port {port} not found in config; it exposes: {', '.join(ports) or 'none'}"
            )
    for port in test.unexposed_ports:
        if _has_port(ports, port):
            result.error(f"Port {port} should not be exposed but is")
    volumes = sorted(config.get("Volumes") or {})
    for volume in test.volumes:
        if volume not in volumes:
            result.error(
                f"Volume {volume} not found in config; it has: {', '.join(volumes) or 'none'}"
            )
    for volume in test.unmounted_volumes:
        if volume in volumes:
            result.error(f"Volume {volume} should not be in config but is")
    if test.workdir and test.workdir != config.get("WorkingDir", ""):
        result.error(
            f"Image workdir {config.get('WorkingDir', '')!r} does not match expected workdir: {test.workdir!r}"
        )
    if test.user and test.user != config.get("User", ""):
        result.error(
            f"Image user {config.get('User', '')!r} does not match expected user: {test.user!r}"
        )
    return result


# ---------------------------------------------------------------------------


def _check_license(result: Result, image: Image, path: str) -> None:
    entry = image.tree.stat(path)
    if entry is None or entry.kind != REGULAR:
        result.error(f"License file {path} should exist but does not")
        return
    contents = _text(entry.read()).upper()
    for word in FORBIDDEN_LICENSES:
        if word in contents:
            result.error(f"Invalid license in {path}: it contains {word}")


def licenses(test: LicenseTest, image: Image) -> Result:
    result = Result("License Test")
    if test.debian:
        packages = [e for e in image.tree.listdir(DEBIAN_DOC) if e.kind == DIRECTORY]
        if not packages:
            result.error(f"{DEBIAN_DOC} holds no package directories")
        for package in packages:
            _check_license(result, image, f"{package.path}/copyright")
    for path in test.files:
        _check_license(result, image, path)
    return result


# ---------------------------------------------------------------------------


def command_env(
    image: Image, global_vars: list[EnvVar], test_vars: list[EnvVar]
) -> dict[str, str]:
    """The image's environment, then globalEnvVars, then the test's envVars, each
    expanding $VAR and ${VAR} from what is set before it (unset: empty; $$ is $)."""
    env = image.env()
    for var in [*global_vars, *test_vars]:
        env[var.key] = string.Template(var.value).safe_substitute(_Default(env))
    return env


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return ""


def command(
    test: CommandTest, env: dict[str, str], container: Container, timeout: float
) -> Result:
    """Runs `command` + `args` in place of the image's entrypoint, as the original does."""
    result = Result(f"Command Test: {test.name}")
    argv = [test.command, *test.args]
    started = time.monotonic()
    try:
        process = container.run(argv, env, timeout)
    except subprocess.TimeoutExpired:
        result.error(f"{argv} did not finish within {timeout:g}s")
        return result
    except (
        Exception
    ) as e:  # The runtime's own failure (runc, umoci): this test fails, the others run.
        result.error(f"could not run {argv}: {e}")
        return result
    finally:
        result.duration = time.monotonic() - started
    result.stdout = (
        _text(process.stdout or b"")
        if isinstance(process.stdout, bytes)
        else process.stdout or ""
    )
    result.stderr = (
        _text(process.stderr or b"")
        if isinstance(process.stderr, bytes)
        else process.stderr or ""
    )
    for pattern in test.expected_error:
        if not pattern.search(result.stderr):
            result.error(f"Expected string '{pattern.pattern}' not found in error")
    for pattern in test.excluded_error:
        if pattern.search(result.stderr):
            result.error(f"Excluded string '{pattern.pattern}' found in error")
    for pattern in test.expected_output:
        if not pattern.search(result.stdout):
            result.error(f"Expected string '{pattern.pattern}' not found in output")
    for pattern in test.excluded_output:
        if pattern.search(result.stdout):
            result.error(f"Excluded string '{pattern.pattern}' found in output")
    if process.returncode != test.exit_code:
        result.error(
            f"Test '{test.name}' exited with incorrect error code. "
            f"Expected: {test.exit_code}, Actual: {process.returncode}"
        )
    return result
