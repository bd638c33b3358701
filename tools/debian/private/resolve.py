"""Resolve the Debian package manifest into a lock file.

    resolve.py --manifest images/debian_packages.toml \
               --output images/debian_packages.lock.json \
               [--mirror URL] [--security-mirror URL] [--keyring FILE] [--check]

Reads the package sets of the manifest, downloads the suites' Release and
Packages indices, resolves Depends and Pre-Depends the way apt would for a
fresh install (one candidate version per package: the highest of all
suites), and writes every chosen .deb with its sha256, size and URLs. The
lock is deterministic: the same mirror state gives the same bytes.

With --check nothing is written: the exit status is 1 when a pin would
change (a package, version, checksum, group or skipped dependency), so CI
can tell when Debian has published updates. A Release that was only
re-signed (Debian does so at least weekly) moves the snapshot timestamps
but no pin; the old snapshot URLs stay valid, so that is not a failure.

Exit status: 0 done (or up to date), 1 the lock is stale (--check), 2 error.

This file is the command line; each concern has its module beside it:
manifest.py (the TOML input), archive.py (InRelease and Packages, over
deb822.py), resolver.py (apt's choices, over versions.py and relations.py)
and lockfile.py (the JSON output and --check). Only the Python standard
library is used, so this runs wherever Python does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from archive import (
    DEFAULT_MIRROR,
    DEFAULT_SECURITY_MIRROR,
    Fetch,
    fetch_packages,
    fetch_release,
    fetch_url,
)
from lockfile import Json, build_lock, check, serialize_lock, skipped_lines, summary
from manifest import Manifest, load_manifest
from resolve_error import ResolveError
from resolver import Index, Resolution, Resolver, conflict_warnings, unused_excludes

DEFAULT_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


def workspace_path(path: str) -> Path:
    """Relative paths are taken from the workspace root under `bazel run`,
    which starts programs in their runfiles directory."""
    root = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    return Path(root, path) if root and not Path(path).is_absolute() else Path(path)


def choose_keyring(requested: str | None) -> Path | None:
    if requested:
        keyring = workspace_path(requested)
        if not keyring.is_file() or shutil.which("gpgv") is None:
            raise ResolveError(f"--keyring {keyring} needs that file and gpgv on PATH")
        return keyring
    if DEFAULT_KEYRING.is_file() and shutil.which("gpgv"):
        return DEFAULT_KEYRING
    return None


def resolve_all(
    manifest: Manifest, mirrors: dict[str, str], keyring: Path | None, fetch: Fetch
) -> tuple[Json, list[str]]:
    releases = {
        suite.name: fetch_release(suite, mirrors[suite.archive], keyring, fetch)
        for suite in manifest.suites
    }
    resolutions: dict[str, Resolution] = {}
    notes: list[str] = []
    for arch in manifest.architectures:
        packages = [
            package
            for suite in manifest.suites
            for component in manifest.components
            for package in fetch_packages(releases[suite.name], component, arch, fetch)
        ]
        index = Index(packages)
        resolution = Resolver(index, arch, manifest.exclude).resolve(manifest.sets)
        resolutions[arch] = resolution
        notes += resolution.notes + conflict_warnings(index, arch, resolution.chosen)
        notes += unused_excludes(index, arch, manifest.exclude)
    return build_lock(manifest, releases, resolutions), notes


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True, help="the package sets (TOML)")
    parser.add_argument("--output", required=True, help="the lock file to write (JSON)")
    parser.add_argument("--mirror", default=DEFAULT_MIRROR, help="the 'debian' archive")
    parser.add_argument(
        "--security-mirror",
        default=DEFAULT_SECURITY_MIRROR,
        help="the 'debian-security' archive",
    )
    parser.add_argument(
        "--keyring",
        help=f"keyring for gpgv to verify InRelease files (default: {DEFAULT_KEYRING} if present)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the lock would change",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    manifest_path, output = workspace_path(args.manifest), workspace_path(args.output)
    manifest = load_manifest(manifest_path)
    keyring = choose_keyring(args.keyring)
    if keyring:
        print(f"verifying InRelease signatures with gpgv and {keyring}")
    else:
        print(
            "warning: gpgv or a Debian keyring is missing: InRelease signatures are NOT "
            "verified (Packages files are still checked against InRelease)",
            file=sys.stderr,
        )
    mirrors = {
        "debian": args.mirror.rstrip("/"),
        "debian-security": args.security_mirror.rstrip("/"),
    }
    lock, notes = resolve_all(manifest, mirrors, keyring, fetch_url)
    for note in notes:
        print(f"note: {note}")
    for line in skipped_lines(lock):
        print(line)
    print("\n".join(summary(lock)))
    text = serialize_lock(lock)
    if args.check:
        return check(output, text, lock)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(output.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(output)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ResolveError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
