"""requirements_lock.txt: a hashed pip requirements file, annotated with each wheel.

    annotated-types==0.8.0 \\
        --hash=sha256:f072...
        # via pydantic
        # wheel any: https://files.pythonhosted.org/.../annotated_types-0.8.0-py3-none-any.whl#sha256=f072...
    orjson==3.13.0 \\
        --hash=sha256:b081... \\
        --hash=sha256:cbed...
        # via -r requirements.in
        # wheel linux_aarch64: https://.../orjson-3.13.0-cp313-cp313-manylinux_2_17_aarch64.manylinux2014_aarch64.whl#sha256=b081...
        # wheel linux_x86_64: https://.../orjson-3.13.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl#sha256=cbed...

pip installs it as it is (`pip install --require-hashes --no-deps -r`), the
release's SBOM reads its pins, and the `pip` module extension reads the
`# via` and `# wheel` lines (tools/pypi/private/lock.bzl parses the same
format): one wheel per target platform, `any` for the pure-Python wheel that
serves every platform without one of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wheel_choice import ANY, File

REQUIREMENTS_IN = "-r requirements.in"


class LockFormatError(ValueError):
    """A lock file line this format does not allow."""


@dataclass(frozen=True)
class Pin:
    """One distribution of the lock."""

    name: str
    version: str
    marker: str | None = None
    via: tuple[str, ...] = ()
    wheels: Mapping[str, File] = field(default_factory=dict)

    def platforms(self) -> list[str]:
        """The lock's platform names for this pin's wheels, `any` first."""
        return sorted(self.wheels, key=lambda name: (name != ANY, name))


def render(header: list[str], pins: list[Pin]) -> str:
    lines = [f"# {line}".rstrip() for line in header]
    if lines:
        lines.append("")
    for pin in sorted(pins, key=lambda p: p.name):
        marker = f" ; {pin.marker}" if pin.marker else ""
        lines.append(f"{pin.name}=={pin.version}{marker} \\")
        hashes = sorted({wheel.sha256 for wheel in pin.wheels.values()})
        for i, sha256 in enumerate(hashes):
            lines.append(
                f"    --hash=sha256:{sha256}" + (" \\" if i < len(hashes) - 1 else "")
            )
        if pin.via:
            lines.append("    # via " + ", ".join(pin.via))
        for platform in pin.platforms():
            wheel = pin.wheels[platform]
            lines.append(f"    # wheel {platform}: {wheel.url}#sha256={wheel.sha256}")
    return "\n".join(lines) + "\n"


def parse(text: str, path: str = "requirements_lock.txt") -> list[Pin]:
    """The pins of a lock this module wrote; LockFormatError names the bad line."""
    pins: list[Pin] = []
    current: dict | None = None
    hashes: set[str] = set()
    start = ""

    def finish() -> None:
        if current is None:
            return
        wheel_hashes = {wheel.sha256 for wheel in current["wheels"].values()}
        if hashes != wheel_hashes:
            raise LockFormatError(
                f"{start}: {current['name']}: the --hash values are not the sha256 of "
                "its `# wheel` lines; regenerate the lock"
            )
        pins.append(Pin(**current))

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        where = f"{path}:{number}"
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            finish()
            hashes, start = set(), where
            spec, _, marker = line.removesuffix("\\").strip().partition(" ; ")
            name, sep, version = spec.partition("==")
            if not sep or not name or not version:
                raise LockFormatError(f"{where}: expected NAME==VERSION, got {line!r}")
            current = {"name": name, "version": version, "marker": marker or None}
            current["wheels"] = {}
            current["via"] = ()
            continue
        body = line.strip().removesuffix("\\").strip()
        if current is None:
            raise LockFormatError(f"{where}: {body!r} before the first requirement")
        if body.startswith("--hash=sha256:"):
            hashes.add(body.removeprefix("--hash=sha256:"))
            continue
        if body.startswith("# via "):
            current["via"] = tuple(body.removeprefix("# via ").split(", "))
        elif body.startswith("# wheel "):
            platform, sep, url = body.removeprefix("# wheel ").partition(": ")
            url, sep2, sha256 = url.partition("#sha256=")
            if not sep or not sep2 or len(sha256) != 64:
                raise LockFormatError(
                    f"{where}: expected '# wheel PLATFORM: URL#sha256=HASH', got {body!r}"
                )
            current["wheels"][platform] = File(url, sha256)
        elif not body.startswith("#"):
            raise LockFormatError(f"{where}: unexpected line {body!r}")
    finish()
    return pins
