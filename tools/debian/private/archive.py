"""A Debian archive: its signed InRelease files and its Packages indices.

    suite = Suite("trixie", "debian")
    release = fetch_release(suite, DEFAULT_MIRROR, keyring, fetch_url)
    packages = fetch_packages(release, "main", "amd64", fetch_url)

Every Packages file is checked against the sha256 and size its InRelease
lists; with a keyring, the InRelease signature is checked with gpgv.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import hashlib
import lzma
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

import deb822
from resolve_error import ResolveError

DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
SNAPSHOT_URL = "https://snapshot.debian.org/archive"
ARCHIVES = ("debian", "debian-security")

# snapshot.debian.org imports each archive a few times a day, some time after
# the mirror publishes; a snapshot URL at time T serves the newest import at
# or before T. Six hours after a Release's Date the import that contains it
# has run, so that moment (rounded down to the hour, to keep URLs tidy)
# names a snapshot holding every file the Release lists.
SNAPSHOT_DELAY = datetime.timedelta(hours=6)


@dataclasses.dataclass(frozen=True)
class Package:
    """One binary package as listed in a Packages index."""

    name: str
    version: str
    architecture: str
    multi_arch: str
    depends: str
    pre_depends: str
    provides: str
    conflicts: str
    breaks: str
    filename: str
    size: int
    sha256: str
    source: str
    section: str
    priority: str
    suite: str


def package_from_fields(fields: Mapping[str, str], suite: str) -> Package:
    name = fields["Package"]
    # Source may carry the source version in parentheses: "busybox (1:1.37.0-6)".
    source = fields.get("Source", name).split(" ")[0]
    return Package(
        name=name,
        version=fields["Version"],
        architecture=fields["Architecture"],
        multi_arch=fields.get("Multi-Arch", "no"),
        depends=fields.get("Depends", ""),
        pre_depends=fields.get("Pre-Depends", ""),
        provides=fields.get("Provides", ""),
        conflicts=fields.get("Conflicts", ""),
        breaks=fields.get("Breaks", ""),
        filename=fields["Filename"],
        size=int(fields["Size"]),
        sha256=fields["SHA256"],
        source=source,
        section=fields.get("Section", ""),
        priority=fields.get("Priority", ""),
        suite=suite,
    )


def parse_packages(text: str, suite: str) -> list[Package]:
    packages = []
    for fields in _paragraphs(text, f"{suite}: Packages"):
        try:
            packages.append(package_from_fields(fields, suite))
        except KeyError as missing:
            name = fields.get("Package", "?")
            raise ResolveError(
                f"{suite}: package {name} has no {missing} field"
            ) from None
    return packages


def _paragraphs(text: str, where: str) -> list[deb822.Paragraph]:
    try:
        return list(deb822.parse(text))
    except deb822.Deb822Error as error:
        raise ResolveError(f"{where}: {error}") from None


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    archive: str


Fetch = Callable[[str], bytes]


def fetch_url(url: str, attempts: int = 3) -> bytes:
    """Downloads url; network errors and server errors are retried, as
    mirrors behind a CDN fail now and then."""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                data: bytes = response.read()
                return data
        except urllib.error.HTTPError as error:
            if error.code < 500 or attempt == attempts:
                raise ResolveError(
                    f"cannot download {url}: HTTP {error.code} {error.reason}. "
                    "Check the mirror URL (--mirror / --security-mirror) and the "
                    "suite names in the manifest."
                ) from None
        except (urllib.error.URLError, OSError) as error:
            if attempt == attempts:
                reason = getattr(error, "reason", error)
                raise ResolveError(
                    f"cannot download {url}: {reason}. Check that the mirror is "
                    "reachable (--mirror / --security-mirror) and the proxy "
                    "settings (http_proxy)."
                ) from None
        time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def clearsigned_text(inrelease: bytes, keyring: Path | None, url: str) -> str:
    """The signed text of an InRelease file. With gpgv and a keyring the
    signature is verified and only what it covers is returned."""
    if keyring is not None:
        return _verified_text(inrelease, keyring, url)
    text = inrelease.decode("utf-8")
    match = re.search(
        # Armor headers are single lines: [^\n] keeps the match linear (with
        # DOTALL, ".+" would backtrack exponentially over a large Release).
        r"-----BEGIN PGP SIGNED MESSAGE-----\n(?:[^\n]+\n)*\n(.*?)\n-----BEGIN PGP SIGNATURE-----",
        text,
        re.DOTALL,
    )
    if not match:
        raise ResolveError(f"{url}: not a clear-signed InRelease file")
    # OpenPGP dash-escapes signed lines that start with a dash.
    return re.sub(r"^- ", "", match[1], flags=re.MULTILINE) + "\n"


def _verified_text(inrelease: bytes, keyring: Path, url: str) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        signed = Path(scratch, "InRelease")
        signed.write_bytes(inrelease)
        content = Path(scratch, "Release")
        result = subprocess.run(
            [
                "gpgv",
                "--keyring",
                str(keyring.resolve()),
                "--output",
                str(content),
                str(signed),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ResolveError(
                f"{url}: signature check with {keyring} failed:\n{result.stderr}"
            )
        return content.read_text(encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class Release:
    suite: Suite
    base_url: str
    date: datetime.datetime
    date_text: str
    sha256: dict[str, tuple[str, int]]
    by_hash: bool

    @property
    def snapshot(self) -> str:
        return snapshot_timestamp(self.date)


def snapshot_timestamp(date: datetime.datetime) -> str:
    if date.tzinfo is None:  # a Date of "-0000" parses naive; it is UTC
        date = date.replace(tzinfo=datetime.UTC)
    moment = (date.astimezone(datetime.UTC) + SNAPSHOT_DELAY).replace(
        minute=0, second=0, microsecond=0
    )
    return moment.strftime("%Y%m%dT%H%M%SZ")


def parse_release(text: str, suite: Suite, base_url: str) -> Release:
    where = f"{base_url}/dists/{suite.name}/InRelease"
    fields: Mapping[str, str] = next(iter(_paragraphs(text, where)), {})
    if "Date" not in fields or "SHA256" not in fields:
        raise ResolveError(f"{where} lacks Date or SHA256")
    checksums = {}
    for line in fields["SHA256"].split("\n"):
        if line.strip():
            digest, size, name = line.split()
            checksums[name] = (digest, int(size))
    return Release(
        suite=suite,
        base_url=base_url,
        date=email.utils.parsedate_to_datetime(fields["Date"]),
        date_text=fields["Date"],
        sha256=checksums,
        by_hash=fields.get("Acquire-By-Hash", "no") == "yes",
    )


def fetch_release(
    suite: Suite, base_url: str, keyring: Path | None, fetch: Fetch
) -> Release:
    url = f"{base_url}/dists/{suite.name}/InRelease"
    return parse_release(clearsigned_text(fetch(url), keyring, url), suite, base_url)


def fetch_packages(
    release: Release, component: str, arch: str, fetch: Fetch
) -> list[Package]:
    """Downloads one Packages.xz and checks it against the Release file."""
    name = f"{component}/binary-{arch}/Packages.xz"
    dists = f"{release.base_url}/dists/{release.suite.name}"
    if name not in release.sha256:
        raise ResolveError(f"{dists}/InRelease does not list {name}")
    digest, size = release.sha256[name]
    # By-hash names never change content, so a mirror update between our
    # InRelease and Packages downloads cannot hand us a mismatched pair.
    if release.by_hash:
        url = f"{dists}/{component}/binary-{arch}/by-hash/SHA256/{digest}"
    else:
        url = f"{dists}/{name}"
    data = fetch(url)
    if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
        raise ResolveError(f"{url}: sha256 or size differs from {dists}/InRelease")
    text = lzma.decompress(data).decode("utf-8")
    return parse_packages(text, release.suite.name)
