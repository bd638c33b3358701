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

Only the Python standard library is used, so this runs wherever Python does.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import difflib
import email.utils
import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

# A lock file, or a part of one, as JSON data.
Json = dict[str, Any]

LOCK_VERSION = 1
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
DEFAULT_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
SNAPSHOT_URL = "https://snapshot.debian.org/archive"
ARCHIVES = ("debian", "debian-security")

# snapshot.debian.org imports each archive a few times a day, some time after
# the mirror publishes; a snapshot URL at time T serves the newest import at
# or before T. Six hours after a Release's Date the import that contains it
# has run, so that moment (rounded down to the hour, to keep URLs tidy)
# names a snapshot holding every file the Release lists.
SNAPSHOT_DELAY = datetime.timedelta(hours=6)

# Order of Priority values, most important first: among several providers
# of a virtual package the most important wins, as apt prefers it too.
PRIORITY_RANK = {
    "required": 0,
    "important": 1,
    "standard": 2,
    "optional": 3,
    "extra": 4,
}


class ResolveError(Exception):
    """A problem the user must fix; the message says what and where."""


# --------------------------------------------------------------------------
# Debian version comparison (Debian Policy 5.6.12)
# --------------------------------------------------------------------------

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def split_version(version: str) -> tuple[int, str, str]:
    """Splits [epoch:]upstream[-revision] into its three parts."""
    # dpkg splits the epoch off at the first colon.
    epoch_text, colon, rest = version.partition(":")
    if not colon:
        epoch_text, rest = "0", version
    if not epoch_text.isdigit():
        raise ValueError(f"invalid epoch in version {version!r}")
    # The revision is after the last hyphen: upstream may contain hyphens.
    upstream, hyphen, revision = rest.rpartition("-")
    if not hyphen:
        upstream, revision = rest, ""
    if not upstream:
        raise ValueError(f"empty upstream version in {version!r}")
    return int(epoch_text), upstream, revision


def _char_order(char: str) -> int:
    """Sort weight of one non-digit character: '~' before the end of the
    string, the end before letters, letters before everything else."""
    if char == "~":
        return -1
    if char == "":
        return 0
    if char in LETTERS:
        return ord(char)
    return ord(char) + 256


def _compare_non_digits(left: str, right: str) -> int:
    for index in range(max(len(left), len(right))):
        left_order = _char_order(left[index] if index < len(left) else "")
        right_order = _char_order(right[index] if index < len(right) else "")
        if left_order != right_order:
            return -1 if left_order < right_order else 1
    return 0


def _take(text: str, start: int, digits: bool) -> int:
    """Index after the run of digits (or of non-digits) starting at start."""
    end = start
    while end < len(text) and (text[end] in DIGITS) == digits:
        end += 1
    return end


def compare_fragment(left: str, right: str) -> int:
    """Compares two upstream versions or two revisions: alternating runs of
    non-digits (compared with the order above) and digits (compared as
    numbers, an empty run counting as zero)."""
    i = j = 0
    while i < len(left) or j < len(right):
        i_end, j_end = _take(left, i, False), _take(right, j, False)
        result = _compare_non_digits(left[i:i_end], right[j:j_end])
        if result:
            return result
        i, j = i_end, j_end
        i_end, j_end = _take(left, i, True), _take(right, j, True)
        left_number = int(left[i:i_end] or "0")
        right_number = int(right[j:j_end] or "0")
        if left_number != right_number:
            return -1 if left_number < right_number else 1
        i, j = i_end, j_end
    return 0


def compare_versions(left: str, right: str) -> int:
    """Returns <0, 0 or >0 as left sorts before, with or after right."""
    left_epoch, left_upstream, left_revision = split_version(left)
    right_epoch, right_upstream, right_revision = split_version(right)
    if left_epoch != right_epoch:
        return -1 if left_epoch < right_epoch else 1
    return compare_fragment(left_upstream, right_upstream) or compare_fragment(
        left_revision, right_revision
    )


RELATION_OPERATORS: dict[str, Callable[[int], bool]] = {
    "<<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    "=": lambda c: c == 0,
    ">=": lambda c: c >= 0,
    ">>": lambda c: c > 0,
}

# Policy 7.1: the obsolete single '<' and '>' mean '<=' and '>='.
OBSOLETE_OPERATORS = {"<": "<=", ">": ">="}


def version_satisfies(version: str, operator: str, wanted: str) -> bool:
    return RELATION_OPERATORS[operator](compare_versions(version, wanted))


# --------------------------------------------------------------------------
# Control files (deb822) and package relationships
# --------------------------------------------------------------------------


def parse_deb822(text: str) -> Iterator[dict[str, str]]:
    """Yields the paragraphs of a control file as {field: value}; the lines
    of a multi-line value are joined with newlines."""
    paragraph: dict[str, str] = {}
    field = ""
    for line in text.splitlines():
        if not line.strip():
            if paragraph:
                yield paragraph
            paragraph, field = {}, ""
        elif line[0] in " \t":
            if not field:
                raise ValueError(f"continuation line before any field: {line!r}")
            paragraph[field] += "\n" + line.strip()
        elif not line.startswith("#"):
            field, _, value = line.partition(":")
            paragraph[field] = value.strip()
    if paragraph:
        yield paragraph


@dataclasses.dataclass(frozen=True)
class Atom:
    """One possibility in a relationship: name[:arch] [(op version)]."""

    name: str
    arch: str | None = None
    operator: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        text = self.name + (f":{self.arch}" if self.arch else "")
        if self.operator:
            text += f" ({self.operator} {self.version})"
        return text


ATOM_RE = re.compile(
    r"(?P<name>[a-z0-9][a-z0-9+.-]*)(?::(?P<arch>[a-z0-9-]+))?"
    r"\s*(?:\(\s*(?P<op><<|<=|>=|>>|=|<|>)\s*(?P<version>[^\s)]+)\s*\))?"
)


def parse_atom(text: str) -> Atom:
    match = ATOM_RE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"cannot parse relationship {text.strip()!r}")
    operator = match["op"]
    if operator:
        operator = OBSOLETE_OPERATORS.get(operator, operator)
    return Atom(match["name"], match["arch"], operator, match["version"])


def parse_relations(text: str) -> list[list[Atom]]:
    """Parses a Depends-style field: a list of alternatives lists."""
    return [
        [parse_atom(alternative) for alternative in group.split("|")]
        for group in text.split(",")
        if group.strip()
    ]


def format_alternatives(group: list[Atom]) -> str:
    return " | ".join(str(atom) for atom in group)


# --------------------------------------------------------------------------
# Package indices
# --------------------------------------------------------------------------


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


def package_from_fields(fields: dict[str, str], suite: str) -> Package:
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
    for fields in parse_deb822(text):
        try:
            packages.append(package_from_fields(fields, suite))
        except KeyError as missing:
            name = fields.get("Package", "?")
            raise ResolveError(
                f"{suite}: package {name} has no {missing} field"
            ) from None
    return packages


class Index:
    """The installable candidates for one architecture: for each name the
    highest version of all suites, and who provides which virtual name."""

    def __init__(self, packages: Iterable[Package]) -> None:
        self.candidates: dict[str, Package] = {}
        for package in packages:
            current = self.candidates.get(package.name)
            # On equal versions the first suite wins: the main archive keeps
            # a file longer than the security archive does.
            if (
                current is None
                or compare_versions(package.version, current.version) > 0
            ):
                self.candidates[package.name] = package
        self.providers: dict[str, list[tuple[Package, str | None]]] = {}
        for name in sorted(self.candidates):
            package = self.candidates[name]
            for group in parse_relations(package.provides):
                for atom in group:
                    self.providers.setdefault(atom.name, []).append(
                        (package, atom.version)
                    )

    def satisfiers(self, atom: Atom, arch: str) -> list[Package]:
        """Candidates that satisfy atom: the real package first, then the
        providers (a versioned dependency needs a versioned Provides)."""
        if atom.arch not in (None, "any", "native", arch):
            return []
        found = []
        real = self.candidates.get(atom.name)
        # Multi-Arch spec: name:any is only satisfied by Multi-Arch: allowed.
        if (
            real
            and self._version_ok(real.version, atom)
            and (atom.arch != "any" or real.multi_arch == "allowed")
        ):
            found.append(real)
        for provider, provided_version in self.providers.get(atom.name, []):
            # An unversioned Provides never satisfies a versioned dependency.
            versioned_ok = atom.operator is None or (
                provided_version is not None
                and self._version_ok(provided_version, atom)
            )
            if versioned_ok and provider not in found:
                found.append(provider)
        return found

    @staticmethod
    def _version_ok(version: str, atom: Atom) -> bool:
        if atom.operator is None or atom.version is None:
            return True
        return version_satisfies(version, atom.operator, atom.version)

    def explain(self, atom: Atom, arch: str) -> str:
        """Why no candidate satisfies atom, for error messages."""
        real = self.candidates.get(atom.name)
        providers = [p.name for p, _ in self.providers.get(atom.name, [])]
        if atom.arch not in (None, "any", "native", arch):
            return f"{atom}: only {arch} packages are resolved"
        if real and atom.operator:
            return f"{atom}: the candidate is {real.name} {real.version} ({real.suite})"
        if real and atom.arch == "any":
            return f"{atom}: {real.name} is Multi-Arch: {real.multi_arch}, not allowed"
        if providers:
            return f"{atom}: provided only without a matching version by {', '.join(providers)}"
        return f"{atom}: no such package"


# --------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Suite:
    name: str
    archive: str


@dataclasses.dataclass(frozen=True)
class PackageSet:
    name: str
    packages: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Manifest:
    suites: tuple[Suite, ...]
    components: tuple[str, ...]
    architectures: tuple[str, ...]
    sets: tuple[PackageSet, ...]
    exclude: dict[str, str]


def _require(condition: bool, path: Path, message: str) -> None:
    if not condition:
        raise ResolveError(f"{path}: {message}")


def _string_list(value: object, path: Path, where: str) -> tuple[str, ...]:
    _require(
        isinstance(value, list) and all(isinstance(v, str) for v in value),
        path,
        f"{where} must be a list of strings",
    )
    assert isinstance(value, list)
    _require(len(set(value)) == len(value), path, f"{where} lists a name twice")
    return tuple(value)


def load_manifest(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ResolveError(f"{path}: {error}") from None
    debian = data.get("debian", {})
    suites = tuple(
        Suite(entry.get("name", ""), entry.get("archive", ""))
        for entry in debian.get("suites", [])
    )
    _require(bool(suites), path, "[debian] suites is empty")
    for suite in suites:
        _require(
            suite.archive in ARCHIVES,
            path,
            f"suite {suite.name!r}: archive must be one of {', '.join(ARCHIVES)}",
        )
    sets = tuple(
        PackageSet(
            entry.get("name", ""), _string_list(entry.get("packages"), path, "packages")
        )
        for entry in data.get("sets", [])
    )
    _require(bool(sets), path, "no [[sets]]")
    _require(
        len({s.name for s in sets}) == len(sets), path, "two sets have the same name"
    )
    exclude = data.get("exclude", {})
    _require(
        all(isinstance(reason, str) and reason for reason in exclude.values()),
        path,
        "every [exclude] entry needs a reason string",
    )
    for package_set in sets:
        for name in package_set.packages:
            _require(
                name not in exclude,
                path,
                f"set {package_set.name!r} lists {name}, which [exclude] forbids",
            )
    return Manifest(
        suites=suites,
        components=_string_list(debian.get("components"), path, "[debian] components"),
        architectures=_string_list(
            debian.get("architectures"), path, "[debian] architectures"
        ),
        sets=sets,
        exclude=dict(exclude),
    )


# --------------------------------------------------------------------------
# Resolution
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Chosen:
    package: Package
    group: str
    depends: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Skipped:
    arch: str
    dependency: str
    needed_by: str
    reason: str


@dataclasses.dataclass
class Resolution:
    chosen: dict[str, Chosen]
    skipped: list[Skipped]
    notes: list[str]


class Resolver:
    """Resolves the manifest's sets, in order, for one architecture.

    Each set is resolved on top of the packages earlier sets chose, so a
    package belongs to the first set whose closure pulls it in.
    """

    def __init__(self, index: Index, arch: str, exclude: dict[str, str]) -> None:
        self.index = index
        self.arch = arch
        self.exclude = exclude
        self.chosen: dict[str, Package] = {}
        self.groups: dict[str, str] = {}
        self.edges: dict[str, set[str]] = {}
        # How each package was reached, for errors: set name, then names.
        self.chains: dict[str, tuple[str, ...]] = {}
        self.skipped: list[Skipped] = []
        self.notes: list[str] = []

    def resolve(self, sets: Iterable[PackageSet]) -> Resolution:
        for package_set in sets:
            queue: deque[Package] = deque()
            for name in package_set.packages:
                package = self._root(package_set.name, name)
                self._choose(package, package_set.name, (package_set.name,), queue)
            while queue:
                self._resolve_package(queue.popleft(), package_set.name, queue)
        chosen = {
            name: Chosen(package, self.groups[name], tuple(sorted(self.edges[name])))
            for name, package in self.chosen.items()
        }
        return Resolution(chosen, self.skipped, self.notes)

    def _root(self, set_name: str, name: str) -> Package:
        package = self.index.candidates.get(name)
        if package:
            return package
        providers = sorted({p.name for p, _ in self.index.providers.get(name, [])})
        if providers:
            hint = f"it is a virtual package; name one of: {', '.join(providers)}"
        else:
            close = difflib.get_close_matches(name, self.index.candidates, n=3)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else "no similar name exists"
            )
        raise ResolveError(
            f"set {set_name!r}: no package {name!r} for {self.arch}; {hint}"
        )

    def _choose(
        self,
        package: Package,
        group: str,
        chain: tuple[str, ...],
        queue: deque[Package],
    ) -> None:
        if package.name in self.chosen:
            return
        self.chosen[package.name] = package
        self.groups[package.name] = group
        self.edges[package.name] = set()
        self.chains[package.name] = chain + (package.name,)
        queue.append(package)

    def _resolve_package(
        self, package: Package, group: str, queue: deque[Package]
    ) -> None:
        try:
            relations = parse_relations(package.pre_depends) + parse_relations(
                package.depends
            )
        except ValueError as error:
            raise ResolveError(f"{package.name} {package.version}: {error}") from None
        for alternatives in relations:
            target = self._satisfy(package, alternatives)
            if target is None:
                continue
            self.edges[package.name].add(target.name)
            self._choose(target, group, self.chains[package.name], queue)

    def _satisfy(self, package: Package, alternatives: list[Atom]) -> Package | None:
        """Picks the package that satisfies one dependency, or records why
        it is skipped; None when nothing new is needed or it is skipped."""
        # A package already in the image satisfies it best: nothing is added.
        for atom in alternatives:
            for candidate in self.index.satisfiers(atom, self.arch):
                if candidate.name in self.chosen:
                    return candidate
        excluded: list[str] = []
        for atom in alternatives:
            if atom.name in self.exclude:
                excluded.append(atom.name)
                continue
            candidates = self.index.satisfiers(atom, self.arch)
            excluded += [c.name for c in candidates if c.name in self.exclude]
            allowed = [c for c in candidates if c.name not in self.exclude]
            if allowed:
                return self._pick(package, atom, allowed)
        if excluded:
            self._skip(package, alternatives, excluded)
            return None
        self._fail(package, alternatives)
        return None

    def _pick(self, package: Package, atom: Atom, allowed: list[Package]) -> Package:
        if len(allowed) == 1 or allowed[0].name == atom.name:
            return allowed[0]
        # Several providers of a virtual name, none already chosen: take the
        # most important, then the first by name, and say so.
        best = min(allowed, key=lambda p: (PRIORITY_RANK.get(p.priority, 9), p.name))
        others = ", ".join(p.name for p in allowed if p is not best)
        self.notes.append(
            f"{self.arch}: {package.name} needs {atom}; chose {best.name} over {others}"
        )
        return best

    def _skip(
        self, package: Package, alternatives: list[Atom], excluded: list[str]
    ) -> None:
        reasons = "; ".join(
            f"{name}: {self.exclude[name]}" for name in dict.fromkeys(excluded)
        )
        self.skipped.append(
            Skipped(self.arch, format_alternatives(alternatives), package.name, reasons)
        )

    def _fail(self, package: Package, alternatives: list[Atom]) -> None:
        chain = self.chains[package.name]
        details = "; ".join(
            self.index.explain(atom, self.arch) for atom in alternatives
        )
        raise ResolveError(
            f"{self.arch}: cannot satisfy '{format_alternatives(alternatives)}' of "
            f"{package.name} {package.version}, needed by set {chain[0]!r} via "
            f"{' -> '.join(chain[1:])}: {details}"
        )


def conflict_warnings(index: Index, arch: str, chosen: dict[str, Chosen]) -> list[str]:
    """Conflicts and Breaks between chosen packages are not resolved (apt
    would refuse); they are reported so a reviewer sees them."""
    warnings = []
    for name in sorted(chosen):
        package = chosen[name].package
        for field in (package.conflicts, package.breaks):
            for group in parse_relations(field):
                for atom in group:
                    for other in index.satisfiers(atom, arch):
                        if other.name != name and other.name in chosen:
                            warnings.append(
                                f"{arch}: {name} conflicts with or breaks {other.name}"
                            )
    return warnings


def unused_excludes(index: Index, arch: str, exclude: dict[str, str]) -> list[str]:
    """Exclude entries naming nothing in the archive: likely typos."""
    return [
        f"{arch}: [exclude] {name} names no package or virtual package"
        for name in sorted(exclude)
        if name not in index.candidates and name not in index.providers
    ]


# --------------------------------------------------------------------------
# Fetching the archive's indices
# --------------------------------------------------------------------------

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
    fields = next(parse_deb822(text), {})
    if "Date" not in fields or "SHA256" not in fields:
        raise ResolveError(
            f"{base_url}/dists/{suite.name}/InRelease lacks Date or SHA256"
        )
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


# --------------------------------------------------------------------------
# The lock
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


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


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ResolveError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
