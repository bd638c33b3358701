"""The resolver on small synthetic archives: no network.

Packages indices are written here as text; the end-to-end tests serve them,
with an InRelease that lists their checksums, through a fake fetch.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import random
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import resolve
from archive import Suite, clearsigned_text, fetch_url, parse_packages
from lockfile import serialize_lock
from manifest import Manifest, PackageSet, load_manifest
from relations import parse_relations
from resolve_error import ResolveError
from resolver import Index, Resolution, Resolver, conflict_warnings

EXCLUDE = {
    "debconf": "maintainer scripts only",
    "debconf-2.0": "maintainer scripts only",
    "perl-base": "maintainer scripts only",
}


def paragraph(
    name: str, version: str = "1.0", arch: str = "amd64", **fields: str
) -> str:
    """One Packages paragraph; keyword names use _ for - (pre_depends)."""
    filename = f"pool/main/{name[0]}/{name}/{name}_{version.split(':')[-1]}_{arch}.deb"
    lines = [
        f"Package: {name}",
        f"Version: {version}",
        f"Architecture: {arch}",
        f"Filename: {filename}",
        f"Size: {len(name) * 100}",
        f"SHA256: {hashlib.sha256(filename.encode()).hexdigest()}",
        "Priority: optional",
        "Section: libs",
    ]
    for key, value in fields.items():
        field = "-".join(part.capitalize() for part in key.split("_"))
        lines = [line for line in lines if not line.startswith(field + ":")]
        lines.append(f"{field}: {value}")
    lines.append("Description: test package\n a synthetic package for the tests")
    return "\n".join(lines) + "\n"


def index(*paragraphs: str, suite: str = "trixie") -> Index:
    return Index(parse_packages("\n".join(paragraphs), suite))


def resolve_sets(
    idx: Index, sets: dict[str, list[str]], exclude: dict[str, str] | None = None
) -> Resolution:
    package_sets = [PackageSet(name, tuple(names)) for name, names in sets.items()]
    return Resolver(idx, "amd64", EXCLUDE if exclude is None else exclude).resolve(
        package_sets
    )


def names(resolution: Resolution) -> dict[str, str]:
    return {name: chosen.group for name, chosen in resolution.chosen.items()}


def test_depends_and_pre_depends_are_followed() -> None:
    idx = index(
        paragraph("app", depends="liba (>= 1.0), libb", pre_depends="libc6"),
        paragraph("liba", depends="libc6"),
        paragraph("libb"),
        paragraph("libc6"),
        paragraph("unrelated"),
    )
    resolution = resolve_sets(idx, {"main": ["app"]})
    assert names(resolution) == {
        "app": "main",
        "liba": "main",
        "libb": "main",
        "libc6": "main",
    }
    assert resolution.chosen["app"].depends == ("liba", "libb", "libc6")


def test_first_satisfiable_alternative_wins() -> None:
    idx = index(
        paragraph("app", depends="missing | second | third"),
        paragraph("second"),
        paragraph("third"),
    )
    assert set(names(resolve_sets(idx, {"s": ["app"]}))) == {"app", "second"}


def test_alternative_already_chosen_is_preferred() -> None:
    idx = index(
        paragraph("app", depends="first | second"),
        paragraph("first"),
        paragraph("second"),
    )
    resolution = resolve_sets(idx, {"base": ["second"], "top": ["app"]})
    assert names(resolution) == {"second": "base", "app": "top"}
    assert resolution.chosen["app"].depends == ("second",)


def test_alternative_version_constraints_are_respected() -> None:
    idx = index(
        paragraph("app", depends="first (>= 2) | second"),
        paragraph("first", "1.5"),
        paragraph("second"),
    )
    assert set(names(resolve_sets(idx, {"s": ["app"]}))) == {"app", "second"}


def test_virtual_package_through_provides() -> None:
    idx = index(
        paragraph("app", depends="mail-transport-agent"),
        paragraph("tiny-mta", provides="mail-transport-agent"),
    )
    assert set(names(resolve_sets(idx, {"s": ["app"]}))) == {"app", "tiny-mta"}


def test_several_providers_pick_the_most_important_and_note_it() -> None:
    idx = index(
        paragraph("app", depends="awk"),
        paragraph("gawk", provides="awk", priority="optional"),
        paragraph("mawk", provides="awk", priority="required"),
    )
    resolution = resolve_sets(idx, {"s": ["app"]}, exclude={})
    assert set(names(resolution)) == {"app", "mawk"}
    assert resolution.notes == ["amd64: app needs awk; chose mawk over gawk"]


def test_versioned_dependency_needs_versioned_provides() -> None:
    idx = index(
        paragraph("app", depends="libfoo-abi (>= 2)"),
        paragraph("foo-unversioned", provides="libfoo-abi"),
        paragraph("foo-old", provides="libfoo-abi (= 1)"),
        paragraph("foo-new", provides="libfoo-abi (= 3)"),
    )
    assert set(names(resolve_sets(idx, {"s": ["app"]}))) == {"app", "foo-new"}


def test_real_package_satisfies_before_providers() -> None:
    idx = index(
        paragraph("app", depends="libssl3"),
        paragraph("libssl3", "3.0"),
        paragraph("libssl3t64", "3.5", provides="libssl3 (= 3.5)"),
    )
    assert set(names(resolve_sets(idx, {"s": ["app"]}))) == {"app", "libssl3"}


def test_versioned_provides_replaces_renamed_package() -> None:
    # The t64 transition: the old name exists only as a versioned Provides.
    idx = index(
        paragraph("app", depends="libssl3 (>= 3.0)"),
        paragraph("libssl3t64", "3.5", provides="libssl3 (= 3.5)"),
    )
    assert set(names(resolve_sets(idx, {"s": ["app"]}))) == {"app", "libssl3t64"}


def test_any_and_arch_qualifiers() -> None:
    idx = index(
        paragraph("app", depends="python3:any, libc6:amd64"),
        paragraph("python3", multi_arch="allowed"),
        paragraph("libc6", multi_arch="same"),
        paragraph("tool", depends="libc6:any"),
        paragraph("cross", depends="libc6:arm64"),
    )
    assert set(names(resolve_sets(idx, {"s": ["app"]}))) == {"app", "python3", "libc6"}
    # name:any needs Multi-Arch: allowed; other arches are never resolved.
    with pytest.raises(ResolveError, match="Multi-Arch: same, not allowed"):
        resolve_sets(idx, {"s": ["tool"]})
    with pytest.raises(ResolveError, match="only amd64 packages"):
        resolve_sets(idx, {"s": ["cross"]})


def test_excluded_only_way_is_skipped_with_a_note() -> None:
    idx = index(
        paragraph("tzdata", "2026a", "all", depends="debconf (>= 0.5) | debconf-2.0"),
        paragraph("debconf", "1.5", "all", provides="debconf-2.0"),
        paragraph("cdebconf", "0.1", provides="debconf-2.0"),
    )
    exclude = {**EXCLUDE, "cdebconf": "maintainer scripts only"}
    resolution = resolve_sets(idx, {"static": ["tzdata"]}, exclude=exclude)
    assert names(resolution) == {"tzdata": "static"}
    [skipped] = resolution.skipped
    assert skipped.needed_by == "tzdata"
    assert skipped.dependency == "debconf (>= 0.5) | debconf-2.0"
    assert "debconf: maintainer scripts only" in skipped.reason


def test_excluded_provider_is_passed_over_for_another() -> None:
    idx = index(
        paragraph("app", depends="debconf-2.0"),
        paragraph("debconf", provides="debconf-2.0"),
        paragraph("other-debconf", provides="debconf-2.0"),
    )
    exclude = {"debconf": "maintainer scripts only"}
    resolution = resolve_sets(idx, {"s": ["app"]}, exclude=exclude)
    assert set(names(resolution)) == {"app", "other-debconf"}
    assert not resolution.skipped


def test_excluded_virtual_name_excludes_every_provider() -> None:
    idx = index(
        paragraph("base-files", pre_depends="awk"),
        paragraph("mawk", provides="awk"),
    )
    resolution = resolve_sets(
        idx, {"s": ["base-files"]}, exclude={"awk": "postinst only"}
    )
    assert set(names(resolution)) == {"base-files"}
    assert resolution.skipped[0].reason == "awk: postinst only"


def test_unsatisfiable_dependency_names_the_chain() -> None:
    idx = index(
        paragraph("app", depends="liba"),
        paragraph("liba", depends="libb (>= 2.0)"),
        paragraph("libb", "1.5"),
    )
    with pytest.raises(ResolveError) as error:
        resolve_sets(idx, {"python3": ["app"]})
    message = str(error.value)
    assert "cannot satisfy 'libb (>= 2.0)' of liba 1.0" in message
    assert "set 'python3' via app -> liba" in message
    assert "the candidate is libb 1.5" in message


def test_missing_dependency_is_an_error() -> None:
    idx = index(paragraph("app", depends="ghost"))
    with pytest.raises(ResolveError, match="ghost: no such package"):
        resolve_sets(idx, {"s": ["app"]})


def test_unknown_root_suggests_close_names() -> None:
    idx = index(paragraph("libssl3t64"), paragraph("libstdc++6"))
    with pytest.raises(
        ResolveError, match=r"set 'cc'.*'libssl3'.*did you mean libssl3t64"
    ):
        resolve_sets(idx, {"cc": ["libssl3"]})


def test_virtual_root_names_its_providers() -> None:
    idx = index(paragraph("mawk", provides="awk"))
    with pytest.raises(ResolveError, match="virtual package; name one of: mawk"):
        resolve_sets(idx, {"s": ["awk"]}, exclude={})


def test_group_is_the_first_set_that_pulls_a_package_in() -> None:
    idx = index(
        paragraph("base-files"),
        paragraph("libc6", depends="libgcc-s1"),
        paragraph("libgcc-s1", depends="libc6"),
        paragraph("python3.13-minimal", depends="libc6, zlib1g"),
        paragraph("zlib1g", depends="libc6"),
        paragraph("busybox-static"),
    )
    resolution = resolve_sets(
        idx,
        {
            "static": ["base-files"],
            "cc": ["libc6"],
            # libc6 again: it stays in cc, where it was first pulled in.
            "python3": ["python3.13-minimal", "libc6"],
            "debug": ["busybox-static"],
        },
    )
    assert names(resolution) == {
        "base-files": "static",
        "libc6": "cc",
        "libgcc-s1": "cc",
        "python3.13-minimal": "python3",
        "zlib1g": "python3",
        "busybox-static": "debug",
    }


def test_highest_version_of_all_suites_is_the_candidate() -> None:
    packages = (
        parse_packages(
            paragraph("libfoo", "1.0-1") + "\n" + paragraph("same", "2.0"), "trixie"
        )
        + parse_packages(paragraph("libfoo", "1.0-1+deb13u1"), "trixie-security")
        + parse_packages(paragraph("same", "2.0"), "trixie-updates")
    )
    idx = Index(packages)
    assert idx.candidates["libfoo"].suite == "trixie-security"
    # Equal versions: the first suite's file is kept.
    assert idx.candidates["same"].suite == "trixie"


def test_conflicts_between_chosen_packages_are_reported() -> None:
    idx = index(
        paragraph("app", depends="liba, libb"),
        paragraph("liba", breaks="libb (<< 2)"),
        paragraph("libb", "1.0"),
    )
    resolution = resolve_sets(idx, {"s": ["app"]})
    assert conflict_warnings(idx, "amd64", resolution.chosen) == [
        "amd64: liba conflicts with or breaks libb"
    ]


def test_relation_parsing() -> None:
    [[a], [b, c]] = parse_relations(
        "libc6 (>= 2.38), python3:any (<< 3.14) | perl (> 5)"
    )
    assert (a.name, a.operator, a.version) == ("libc6", ">=", "2.38")
    assert (b.name, b.arch, b.operator) == ("python3", "any", "<<")
    # The obsolete '>' means '>='.
    assert (c.name, c.operator, c.version) == ("perl", ">=", "5")


# --------------------------------------------------------------------------
# End to end: InRelease, Packages.xz, the lock file
# --------------------------------------------------------------------------

MIRROR = "http://mirror.test/debian"
SECURITY = "http://mirror.test/debian-security"
RELEASE_DATES = {
    "trixie": "Sat, 21 Nov 2026 09:15:44 UTC",
    "trixie-security": "Sat, 21 Nov 2026 23:53:03 UTC",
}


class FakeArchive:
    """Serves InRelease and by-hash Packages.xz files for fetch()."""

    def __init__(self, packages: dict[tuple[str, str], str]) -> None:
        self.files: dict[str, bytes] = {}
        self.fetched: list[str] = []
        for suite, base in (("trixie", MIRROR), ("trixie-security", SECURITY)):
            checksums = []
            for arch in ("amd64", "arm64"):
                data = lzma.compress(packages.get((suite, arch), "").encode())
                digest = hashlib.sha256(data).hexdigest()
                path = f"main/binary-{arch}"
                self.files[f"{base}/dists/{suite}/{path}/by-hash/SHA256/{digest}"] = (
                    data
                )
                checksums.append(f" {digest} {len(data)} {path}/Packages.xz")
            release = "\n".join(
                [
                    f"Codename: {suite}",
                    f"Date: {RELEASE_DATES[suite]}",
                    "Acquire-By-Hash: yes",
                    "SHA256:",
                    *checksums,
                ]
            )
            self.files[f"{base}/dists/{suite}/InRelease"] = (
                "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"
                f"{release}\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"
            ).encode()

    def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        if url not in self.files:
            raise ResolveError(f"cannot download {url}: 404")
        return self.files[url]


def synthetic_packages() -> dict[tuple[str, str], str]:
    amd64 = [
        paragraph("base-files", "13.8", pre_depends="awk"),
        paragraph("mawk", "1.3.4", provides="awk"),
        paragraph("tzdata", "2026a-1", "all", depends="debconf | debconf-2.0"),
        paragraph("libc6", "2.41-12", multi_arch="same"),
        paragraph("python3.13-minimal", "3.13.5-2", depends="libc6 (>= 2.38), zlib1g"),
        paragraph("zlib1g", "1:1.3.1-1", depends="libc6"),
    ]
    arm64 = [p.replace("Architecture: amd64", "Architecture: arm64") for p in amd64]
    security = paragraph("libc6", "2.41-12+deb13u1", multi_arch="same")
    return {
        ("trixie", "amd64"): "\n".join(amd64),
        ("trixie", "arm64"): "\n".join(arm64),
        ("trixie-security", "amd64"): security,
        ("trixie-security", "arm64"): security.replace("amd64", "arm64"),
    }


MANIFEST = Manifest(
    suites=(Suite("trixie", "debian"), Suite("trixie-security", "debian-security")),
    components=("main",),
    architectures=("amd64", "arm64"),
    sets=(
        PackageSet("static", ("base-files", "tzdata")),
        PackageSet("python3", ("python3.13-minimal",)),
    ),
    exclude={"awk": "postinst only", "debconf": "scripts", "debconf-2.0": "scripts"},
)

MIRRORS = {"debian": MIRROR, "debian-security": SECURITY}


def lock_for(packages: dict[tuple[str, str], str]) -> dict:
    archive = FakeArchive(packages)
    lock, _ = resolve.resolve_all(MANIFEST, MIRRORS, None, archive.fetch)
    return lock


def test_lock_contents() -> None:
    lock = lock_for(synthetic_packages())
    assert lock["version"] == 1
    # The newest Release Date plus 6 hours, rounded down to the hour.
    assert lock["snapshot"] == "20261122T050000Z"
    assert lock["suites"]["trixie"] == {
        "archive": "debian",
        "date": "Sat, 21 Nov 2026 09:15:44 UTC",
        "snapshot": "20261121T150000Z",
    }
    order = [(e["arch"], e["group"], e["name"]) for e in lock["packages"]]
    assert order == [
        ("amd64", "static", "base-files"),
        ("amd64", "static", "tzdata"),
        ("amd64", "python3", "libc6"),
        ("amd64", "python3", "python3.13-minimal"),
        ("amd64", "python3", "zlib1g"),
        ("arm64", "static", "base-files"),
        ("arm64", "static", "tzdata"),
        ("arm64", "python3", "libc6"),
        ("arm64", "python3", "python3.13-minimal"),
        ("arm64", "python3", "zlib1g"),
    ]
    libc6 = lock["packages"][2]
    assert libc6["version"] == "2.41-12+deb13u1"
    assert libc6["suite"] == "trixie-security"
    assert libc6["urls"] == [
        "https://snapshot.debian.org/archive/debian-security/20261122T050000Z/"
        + libc6["filename"],
        f"{SECURITY}/{libc6['filename']}",
    ]
    tzdata = lock["packages"][1]
    assert (tzdata["arch"], tzdata["architecture"]) == ("amd64", "all")
    assert tzdata["urls"][0].startswith(
        "https://snapshot.debian.org/archive/debian/20261121T150000Z/pool/"
    )
    assert set(lock["packages"][3]) == {
        "arch",
        "architecture",
        "depends",
        "filename",
        "group",
        "name",
        "priority",
        "section",
        "sha256",
        "size",
        "source",
        "suite",
        "urls",
        "version",
    }
    assert lock["packages"][3]["depends"] == ["libc6", "zlib1g"]
    assert [(s["arch"], s["needed_by"], s["dependency"]) for s in lock["skipped"]] == [
        ("amd64", "base-files", "awk"),
        ("amd64", "tzdata", "debconf | debconf-2.0"),
        ("arm64", "base-files", "awk"),
        ("arm64", "tzdata", "debconf | debconf-2.0"),
    ]


def test_lock_is_deterministic() -> None:
    packages = synthetic_packages()
    first = serialize_lock(lock_for(packages))
    # The order of paragraphs in the indices must not matter.
    rng = random.Random(7)
    shuffled = {}
    for key, text in packages.items():
        paragraphs = text.split("\n\n")
        rng.shuffle(paragraphs)
        shuffled[key] = "\n\n".join(p.strip("\n") for p in paragraphs) + "\n"
    second = serialize_lock(lock_for(shuffled))
    assert first == second
    assert first.endswith("}\n")
    assert json.loads(first) == json.loads(second)
    assert first == json.dumps(json.loads(first), indent=2, sort_keys=True) + "\n"


def test_packages_index_must_match_inrelease() -> None:
    archive = FakeArchive(synthetic_packages())
    for url in archive.files:
        if "by-hash" in url and "trixie-security" in url:
            archive.files[url] = lzma.compress(b"Package: evil\n")
    with pytest.raises(ResolveError, match="sha256 or size differs"):
        resolve.resolve_all(MANIFEST, MIRRORS, None, archive.fetch)


def test_download_failure_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []

    def refuse(url: str, timeout: float) -> None:
        attempts.append(url)
        raise urllib.error.URLError("Connection refused")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    url = "http://mirror.test/debian/dists/trixie/InRelease"
    with pytest.raises(ResolveError) as error:
        fetch_url(url)
    assert f"cannot download {url}: Connection refused" in str(error.value)
    assert "proxy" in str(error.value)
    assert len(attempts) == 3


def test_http_not_found_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []

    def not_found(url: str, timeout: float) -> None:
        attempts.append(url)
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)  # type: ignore[arg-type]

    monkeypatch.setattr(urllib.request, "urlopen", not_found)
    with pytest.raises(ResolveError, match="HTTP 404 Not Found. Check the mirror URL"):
        fetch_url("http://mirror.test/debian/dists/trixy/InRelease")
    assert len(attempts) == 1


def test_clearsigned_text_undoes_dash_escaping() -> None:
    signed = (
        b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
        b"Origin: Debian\n- -dashed line\n"
        b"-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"
    )
    assert clearsigned_text(signed, None, "u") == "Origin: Debian\n-dashed line\n"


def test_clearsigned_text_of_a_release_sized_file() -> None:
    # A real InRelease is megabytes of "SHA256:" lines; the unsigned-text
    # match must stay linear (it once backtracked for minutes on this).
    body = "".join(f" {i:064x} {i} main/binary-amd64/Packages\n" for i in range(20000))
    signed = (
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\n"
        + body
        + "-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"
    ).encode()
    assert clearsigned_text(signed, None, "u") == "Origin: Debian\n" + body


# --------------------------------------------------------------------------
# The command line: manifest, writing and --check
# --------------------------------------------------------------------------

MANIFEST_TOML = """
[debian]
suites = [
  { name = "trixie", archive = "debian" },
  { name = "trixie-security", archive = "debian-security" },
]
components = ["main"]
architectures = ["amd64", "arm64"]

[[sets]]
name = "static"
packages = ["base-files", "tzdata"]

[[sets]]
name = "python3"
packages = ["python3.13-minimal"]

[exclude]
awk = "postinst only"
debconf = "scripts"
"debconf-2.0" = "scripts"
"""


def test_manifest_loads_into_the_same_model(tmp_path: Path) -> None:
    path = tmp_path / "packages.toml"
    path.write_text(MANIFEST_TOML)
    assert load_manifest(path) == MANIFEST


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('"tzdata"]', '"tzdata", "debconf"]'),
            "lists debconf, which \\[exclude\\] forbids",
        ),
        (
            ('archive = "debian-security"', 'archive = "ubuntu"'),
            "archive must be one of",
        ),
        (('awk = "postinst only"', 'awk = ""'), "needs a reason"),
        (('name = "python3"', 'name = "static"'), "two sets have the same name"),
    ],
)
def test_manifest_errors(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "packages.toml"
    path.write_text(MANIFEST_TOML.replace(*change))
    with pytest.raises(ResolveError, match=message):
        load_manifest(path)


def run_main(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, packages: dict, *extra: str
) -> int:
    archive = FakeArchive(packages)
    monkeypatch.setattr(resolve, "fetch_url", archive.fetch)
    # No signature check: the fake InRelease files are not signed.
    monkeypatch.setattr(resolve, "DEFAULT_KEYRING", tmp_path / "no-keyring.gpg")
    monkeypatch.delenv("BUILD_WORKSPACE_DIRECTORY", raising=False)
    manifest = tmp_path / "packages.toml"
    manifest.write_text(MANIFEST_TOML)
    return resolve.main(
        [
            "--manifest",
            str(manifest),
            "--output",
            str(tmp_path / "packages.lock.json"),
            "--mirror",
            MIRROR,
            "--security-mirror",
            SECURITY,
            *extra,
        ]
    )


def test_main_writes_then_check_passes_and_detects_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packages = synthetic_packages()
    assert run_main(monkeypatch, tmp_path, packages) == 0
    output = capsys.readouterr()
    assert "NOT verified" in output.err
    assert "skipped (amd64, arm64): base-files -> awk: awk: postinst only" in output.out
    assert "amd64  python3    3 packages" in output.out
    lock = tmp_path / "packages.lock.json"
    written = lock.read_text()

    assert run_main(monkeypatch, tmp_path, packages, "--check") == 0
    assert "is up to date" in capsys.readouterr().out

    # A re-signed Release moves the snapshot timestamps, but pins nothing new.
    monkeypatch.setitem(
        RELEASE_DATES, "trixie-security", "Sun, 29 Nov 2026 00:00:00 UTC"
    )
    assert run_main(monkeypatch, tmp_path, packages, "--check") == 0
    assert "only Release dates" in capsys.readouterr().out

    updated = dict(packages)
    updated["trixie-security", "amd64"] = paragraph("libc6", "2.41-12+deb13u2")
    assert run_main(monkeypatch, tmp_path, updated, "--check") == 1
    out = capsys.readouterr().out
    assert "~ amd64 libc6 2.41-12+deb13u1 -> 2.41-12+deb13u2" in out
    assert lock.read_text() == written  # --check writes nothing


def test_bazel_run_paths_are_relative_to_the_workspace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BUILD_WORKSPACE_DIRECTORY", str(tmp_path))
    assert resolve.workspace_path("images/x.toml") == tmp_path / "images/x.toml"
    assert resolve.workspace_path("/abs/x.toml") == Path("/abs/x.toml")
