"""The lock file (images/debian_packages.lock.json): writing it, and comparing two.

The lock is canonical JSON (sorted keys, two-space indent): the same
resolution gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from archive import SNAPSHOT_URL, Release
from manifest import Manifest
from resolver import Chosen, Resolution

# A lock file, or a part of one, as JSON data.
Json = dict[str, Any]

LOCK_VERSION = 1


def lock_entry(chosen: Chosen, arch: str, release: Release) -> Json:
    package = chosen.package
    archive = release.suite.archive
    entry: Json = {
        "arch": arch,
        "architecture": package.architecture,
        "depends": list(chosen.depends),
        "filename": package.filename,
        "group": chosen.group,
        "name": package.name,
        "section": package.section,
        "sha256": package.sha256,
        "size": package.size,
        "source": package.source,
        "suite": package.suite,
        "urls": [
            f"{SNAPSHOT_URL}/{archive}/{release.snapshot}/{package.filename}",
            f"{release.base_url}/{package.filename}",
        ],
        "version": package.version,
    }
    if package.priority:
        entry["priority"] = package.priority
    return entry


def build_lock(
    manifest: Manifest,
    releases: dict[str, Release],
    resolutions: dict[str, Resolution],
) -> Json:
    group_order = {s.name: i for i, s in enumerate(manifest.sets)}
    packages = [
        lock_entry(chosen, arch, releases[chosen.package.suite])
        for arch, resolution in resolutions.items()
        for chosen in resolution.chosen.values()
    ]
    packages.sort(key=lambda e: (e["arch"], group_order[e["group"]], e["name"]))
    skipped = sorted(
        (
            dataclasses.asdict(s)
            for arch in resolutions
            for s in resolutions[arch].skipped
        ),
        key=lambda s: (s["arch"], s["needed_by"], s["dependency"]),
    )
    return {
        "version": LOCK_VERSION,
        # The newest suite's snapshot: the earliest one holding every suite
        # in the state this lock was resolved from.
        "snapshot": max(r.snapshot for r in releases.values()),
        "suites": {
            name: {
                "archive": r.suite.archive,
                "date": r.date_text,
                "snapshot": r.snapshot,
            }
            for name, r in releases.items()
        },
        "packages": packages,
        "skipped": skipped,
    }


def serialize_lock(lock: Json) -> str:
    return json.dumps(lock, indent=2, sort_keys=True) + "\n"


def _by_key(lock: Json) -> dict[tuple[str, str], Json]:
    return {(e["arch"], e["name"]): e for e in lock.get("packages", [])}


def describe_changes(old: Json, new: Json) -> list[str]:
    """One line per added, removed or changed package, for --check."""
    before, after = _by_key(old), _by_key(new)
    lines = []
    for key in sorted(before.keys() | after.keys()):
        arch, name = key
        if key not in after:
            lines.append(f"- {arch} {name} {before[key]['version']}")
        elif key not in before:
            lines.append(
                f"+ {arch} {name} {after[key]['version']} ({after[key]['group']})"
            )
        elif before[key] != after[key]:
            old_version, new_version = before[key]["version"], after[key]["version"]
            what = (
                f"{old_version} -> {new_version}"
                if old_version != new_version
                else "metadata"
            )
            lines.append(f"~ {arch} {name} {what}")
    if old.get("skipped") != new.get("skipped"):
        lines.append("~ skipped dependencies changed")
    if old.get("suites") != new.get("suites"):
        lines.append("~ suite Release dates changed")
    return lines


def skipped_lines(lock: Json) -> list[str]:
    """The skipped dependencies, each once with the arches it applies to."""
    arches: dict[tuple[str, str, str], list[str]] = {}
    for entry in lock["skipped"]:
        key = (entry["needed_by"], entry["dependency"], entry["reason"])
        arches.setdefault(key, []).append(entry["arch"])
    return [
        f"skipped ({', '.join(archs)}): {needed_by} -> {dependency}: {reason}"
        for (needed_by, dependency, reason), archs in arches.items()
    ]


def summary(lock: Json) -> list[str]:
    packages = lock["packages"]
    counts: dict[tuple[str, str], list[int]] = {}
    for entry in packages:
        total = counts.setdefault((entry["arch"], entry["group"]), [0, 0])
        total[0] += 1
        total[1] += entry["size"]
    lines = [
        f"  {arch:6} {group:8} {count:3} packages {size / 1e6:7.1f} MB"
        for (arch, group), (count, size) in counts.items()
    ]
    # Architecture: all packages appear once per arch but are one file.
    files = {e["sha256"]: e["size"] for e in packages}
    lines.append(
        f"  total  {len(packages)} entries, {len(files)} files, "
        f"{sum(files.values()) / 1e6:.1f} MB to download"
    )
    return lines


def check(output: Path, text: str, lock: Json) -> int:
    try:
        current = output.read_text(encoding="utf-8")
    except FileNotFoundError:
        print(f"{output} does not exist; run without --check to create it")
        return 1
    if current == text:
        print(f"{output} is up to date")
        return 0
    try:
        old = json.loads(current)
    except json.JSONDecodeError:
        print(f"{output} is not valid JSON; regenerate it")
        return 1
    if pins(old) == pins(lock):
        print(
            f"{output} pins are up to date; only Release dates (and so snapshot "
            "timestamps) moved, which needs no new lock"
        )
        return 0
    print(f"{output} would change:")
    print("\n".join(describe_changes(old, lock) or ["formatting only"]))
    return 1


def pins(lock: Json) -> Json:
    """What a lock pins, without what moves each time Debian re-signs a
    Release: its Date and the snapshot timestamps derived from it (a
    snapshot URL, once valid, stays valid)."""
    return {
        "version": lock.get("version"),
        "packages": [{**e, "urls": e["urls"][1:]} for e in lock.get("packages", [])],
        "skipped": lock.get("skipped"),
    }
