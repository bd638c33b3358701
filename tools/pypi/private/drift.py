"""What differs between a lock and what it should be, one line per distribution.

- `differences(old, new)`: the committed lock against a fresh resolution;
- `inconsistencies(requirements, pins, targets)`: the committed lock against
  requirements.in and the target platforms, without the network.
"""

from __future__ import annotations

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from lockfile import REQUIREMENTS_IN, Pin
from targets import Target
from wheel_choice import ANY


def differences(old: list[Pin], new: list[Pin]) -> list[str]:
    before = {pin.name: pin for pin in old}
    after = {pin.name: pin for pin in new}
    found = []
    for name in sorted(before.keys() | after.keys()):
        a, b = before.get(name), after.get(name)
        if a is None:
            found.append(f"{name}: not in the lock; the resolution adds {b.version}")
        elif b is None:
            found.append(f"{name}: the lock pins {a.version}; no longer needed")
        else:
            found.extend(f"{name}: {change}" for change in _changes(a, b))
    return found


def _changes(a: Pin, b: Pin) -> list[str]:
    if a.version != b.version:
        return [f"the lock pins {a.version}, the resolution gives {b.version}"]
    changes = []
    if a.marker != b.marker:
        changes.append(f"marker {a.marker!r} in the lock, now {b.marker!r}")
    if a.via != b.via:
        changes.append(
            f"the lock says it is required by {', '.join(a.via) or 'nothing'}; "
            f"now by {', '.join(b.via) or 'nothing'}"
        )
    for platform in sorted(a.wheels.keys() | b.wheels.keys()):
        old, new = a.wheels.get(platform), b.wheels.get(platform)
        if old != new:
            changes.append(
                f"wheel for {platform}: the lock has "
                f"{old.filename if old else 'none'}, now {new.filename if new else 'none'}"
                + (
                    " (same file, another sha256)"
                    if old and new and old.url == new.url
                    else ""
                )
            )
    return changes


def requirements(text: str, path: str = "requirements.in") -> list[Requirement]:
    """The requirements of a requirements.in (names, specifiers, markers; no options)."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            found.append(Requirement(line))
        except InvalidRequirement as err:
            raise ValueError(f"{path}:{number}: {err}") from None
    return found


def inconsistencies(
    wanted: list[Requirement], pins: list[Pin], targets: list[Target]
) -> list[str]:
    """Where the lock does not satisfy requirements.in on every target platform."""
    found = []
    by_name = {pin.name: pin for pin in pins}
    named = set()
    for req in wanted:
        name = canonicalize_name(req.name)
        named.add(name)
        needed = [
            t
            for t in targets
            if req.marker is None or req.marker.evaluate(t.marker_environment)
        ]
        pin = by_name.get(name)
        if not needed:
            continue
        if pin is None:
            found.append(
                f"{name}: requirements.in names it ({req}); the lock does not pin it"
            )
        elif not req.specifier.contains(pin.version, prereleases=True):
            found.append(
                f"{name}: requirements.in asks for {req}; the lock pins {pin.version}"
            )
    target_names = {t.name for t in targets}
    for pin in sorted(pins, key=lambda p: p.name):
        if REQUIREMENTS_IN in pin.via and pin.name not in named:
            found.append(
                f"{pin.name}: pinned for requirements.in, which no longer names it"
            )
        for platform in sorted(set(pin.wheels) - target_names - {ANY}):
            found.append(
                f"{pin.name}: the lock has a wheel for {platform}, not a target platform"
            )
        if ANY in pin.wheels:
            continue
        for target in targets:
            needed = pin.marker is None or Marker(pin.marker).evaluate(
                target.marker_environment
            )
            if needed and target.name not in pin.wheels:
                found.append(
                    f"{pin.name} {pin.version}: the lock has no wheel for {target.name}"
                )
    return found
