"""What a vulnerability scanner sees in every image, against what the SBOM says.

Trivy and Grype (Syft) read an image's package databases: each
/var/lib/dpkg/status.d/NAME (with NAME.md5sums, the files the package owns) and
each /app/site-packages/*.dist-info/METADATA. This test reads them from every
platform of every image with the tests' own layout reader (oci_layout, not the
release tools' ocireader) and a parser of its own, and checks that:
- each status entry is a well-formed installed package (Package is the file's
  name, Status "install ok installed", Version, Architecture that of the image);
- every file an md5sums list names is in the image with that MD5: the lists
  name only the files kept (DEBIAN_EXCLUDES, and slim's pruning, left the rest
  out of the layers and of the lists);
- the SBOM (tools/release/sbom.py, SPDX and CycloneDX) lists exactly those Debian
  packages (name, version, architecture) and Python distributions (name, version).
"""

from __future__ import annotations

import email.parser
import hashlib
import os
import posixpath
import re
from functools import cache
from pathlib import Path

import image_list
import pytest
import sbom
from oci_layout import Layout

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
IMAGES = image_list.read(RUNFILES / image_list.PATH)
REFS = {"linux/amd64": "latest-linux-amd64", "linux/arm64/v8": "latest-linux-arm64-v8"}
STATUS_D = "var/lib/dpkg/status.d/"
SITE_PACKAGES = "app/site-packages/"


@cache
def filesystem(image: str, ref: str) -> dict[str, bytes | None]:
    """The image's files after its layers are applied in order: path -> content
    (None for what is not a regular file)."""
    layout = Layout(RUNFILES / "images" / image)
    files: dict[str, bytes | None] = {}
    for layer in layout.image(layout.by_ref(ref)).layers:
        for member in layer.members:
            name = member.info.name.removeprefix("./").rstrip("/")
            base = posixpath.basename(name)
            if base.startswith(".wh."):
                gone = posixpath.join(posixpath.dirname(name), base[4:])
                files = {
                    k: v
                    for k, v in files.items()
                    if k != gone and not k.startswith(gone + "/")
                }
                continue
            if member.info.islnk():
                files[name] = files.get(member.info.linkname.removeprefix("./"))
            else:
                files[name] = member.data
    return files


def control(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line[0].isspace():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def scanner_view(
    image: str, ref: str
) -> tuple[set[tuple[str, str, str]], set[tuple[str, str]]]:
    """(Debian (name, version, arch), Python (normalized name, version)) as a
    scanner reads them."""
    files = filesystem(image, ref)
    debs, wheels = set(), set()
    for path, data in files.items():
        if path.startswith(STATUS_D) and not path.endswith(".md5sums") and data:
            fields = control(data.decode())
            assert fields["Package"] == path[len(STATUS_D) :], (image, ref, path)
            assert fields["Status"] == "install ok installed", (image, ref, path)
            debs.add((fields["Package"], fields["Version"], fields["Architecture"]))
        match = re.fullmatch(
            re.escape(SITE_PACKAGES) + r"[^/]+\.dist-info/METADATA", path
        )
        if match and data:
            meta = email.parser.Parser().parsestr(data.decode(), headersonly=True)
            wheels.add((sbom.normalize_python_name(meta["Name"]), meta["Version"]))
    return debs, wheels


@pytest.mark.parametrize("image", IMAGES)
def test_every_md5sums_list_matches_the_files_in_the_image(image: str) -> None:
    for platform, ref in REFS.items():
        files = filesystem(image, ref)
        lists = [p for p in files if p.startswith(STATUS_D) and p.endswith(".md5sums")]
        assert lists, f"{image} {platform}: no md5sums under /{STATUS_D}"
        missing, wrong = [], []
        for path in lists:
            for line in (files[path] or b"").decode().splitlines():
                md5, _, owned = line.partition("  ")
                owned = owned.removeprefix("./").removeprefix("/")
                if owned not in files:
                    missing.append(owned)
                elif (
                    files[owned] is None or hashlib.md5(files[owned]).hexdigest() != md5
                ):
                    wrong.append(owned)
        assert wrong == [], f"{image} {platform}: files whose MD5 is not the listed one"
        # Files left out of the layers (DEBIAN_EXCLUDES, slim's pruning) are
        # left out of the lists too.
        assert missing == [], f"{image} {platform}: listed but not in the image"


@pytest.mark.parametrize("image", IMAGES)
def test_the_sboms_list_what_a_scanner_sees(image: str) -> None:
    document = sbom.image_sbom(
        image,
        RUNFILES / "images" / image,
        RUNFILES / "images" / "debian_packages.lock.json",
        RUNFILES / "requirements_lock.txt",
    )
    seen_debs: set[tuple[str, str, str]] = set()
    seen_wheels: set[tuple[str, str]] = set()
    for ref in REFS.values():
        debs, wheels = scanner_view(image, ref)
        assert debs, f"{image} {ref}: no Debian packages"
        seen_debs |= debs
        seen_wheels |= wheels
    listed_debs, listed_wheels = set(), set()
    for package in document["packages"][1:]:
        purl = sbom._purl(package) or ""
        if purl.startswith("pkg:deb/"):
            arch = re.search(r"[?&]arch=([^&]+)", purl).group(1)
            listed_debs.add((package["name"], package["versionInfo"], arch))
        elif purl.startswith("pkg:pypi/"):
            listed_wheels.add(
                (sbom.normalize_python_name(package["name"]), package["versionInfo"])
            )
    assert listed_debs == seen_debs
    assert listed_wheels == seen_wheels
    cdx = sbom.cyclonedx(document)
    assert sorted(c["purl"] for c in cdx["components"] if "purl" in c) == sorted(
        sbom._purl(p) for p in document["packages"][1:] if sbom._purl(p)
    )
    if image.startswith("hello"):
        assert ("waitress", "3.0.2") in seen_wheels
