"""SPDX 2.3 JSON SBOM of one built image: what its layers actually ship.

    sbom.py --layout DIR --name hello --debian-lock LOCK.json --python-lock LOCK.txt
            [--output sbom.json] [--cyclonedx-output sbom.cdx.json]

The CycloneDX 1.6 JSON BOM (cyclonedx()) is written from the SPDX document, so
both describe the same packages and files.

Read from the image itself (every platform of the index), then matched to the locks:
- Debian packages: each /var/lib/dpkg/status.d/NAME entry (name, version,
  architecture, source), the .deb's sha256 and download URL from
  images/debian_packages.lock.json, and the licences named by the package's
  machine-readable /usr/share/doc/NAME/copyright;
- Python distributions: each *.dist-info/METADATA under /app/site-packages (name,
  version, licence), checked against requirements_lock.txt (whose pinned hashes are
  recorded);
- first-party files: every other file under /app, with SHA1 and SHA256.
A package the image ships that its lock does not pin (or pins at another version)
is an error: the SBOM must describe what was built from the locks.

Nothing in the document depends on the time or place it is made: the namespace is
derived from the index digest and `created` is the image's own creation time (the
commit time in a stamped build), so equal images give byte-equal SBOMs.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import re
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocireader import Image, Layout, LayoutError

TOOL = "Tool: bazel-python-containers-release-sbom"
DEFAULT_SOURCE = "https://example.invalid/bazel-python-containers"
STATUS_DIR = "var/lib/dpkg/status.d/"
SITE_PACKAGES = "app/site-packages/"
APP = "app/"

# Debian copyright short names (DEP-5) -> SPDX identifiers; others become
# LicenseRef-Debian-NAME, explained in hasExtractedLicensingInfos.
DEBIAN_TO_SPDX = {
    "Apache-2.0": "Apache-2.0",
    "Artistic": "Artistic-1.0-Perl",
    "BSD-2-clause": "BSD-2-Clause",
    "BSD-3-clause": "BSD-3-Clause",
    "BSD-4-clause": "BSD-4-Clause",
    "CC0-1.0": "CC0-1.0",
    "Expat": "MIT",
    "GPL-2": "GPL-2.0-only",
    "GPL-2+": "GPL-2.0-or-later",
    "GPL-3": "GPL-3.0-only",
    "GPL-3+": "GPL-3.0-or-later",
    "ISC": "ISC",
    "LGPL-2": "LGPL-2.0-only",
    "LGPL-2+": "LGPL-2.0-or-later",
    "LGPL-2.1": "LGPL-2.1-only",
    "LGPL-2.1+": "LGPL-2.1-or-later",
    "LGPL-3": "LGPL-3.0-only",
    "LGPL-3+": "LGPL-3.0-or-later",
    "MIT": "MIT",
    "MPL-2.0": "MPL-2.0",
    "OpenSSL": "OpenSSL",
    "PSF-2": "PSF-2.0",
    "public-domain": "LicenseRef-Debian-public-domain",
    "Zlib": "Zlib",
    "zlib": "Zlib",
}
# Trove classifiers and free-text License: fields of Python distributions.
PYTHON_TO_SPDX = {
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD-3-Clause",
    "MIT License": "MIT",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "ZPL 2.1": "ZPL-2.1",
    "Zope Public License": "ZPL-2.1",
}


class SbomError(Exception):
    """The image ships something the locks cannot account for, or is unreadable."""


@dataclass
class ImageContents:
    """Files of interest, collected from every layer of every platform."""

    platforms: list[str] = field(default_factory=list)
    dpkg_status: dict[tuple[str, str], str] = field(default_factory=dict)
    copyright: dict[tuple[str, str], str] = field(default_factory=dict)
    python_metadata: dict[str, str] = field(default_factory=dict)
    app_files: dict[str, bytes] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    created: str = "1970-01-01T00:00:00Z"
    index_digest: str = ""


# --- reading the layout (//tools/oci/private:ocireader) ---------------------------


def top_index(layout: Path) -> dict[str, Any]:
    """The descriptor of the layout's (nested) image index."""
    try:
        return Layout(layout).top_index()
    except LayoutError as err:
        raise SbomError(str(err)) from None


def platform_manifests(layout: Path) -> Iterator[tuple[str, Image, str]]:
    """(platform "os/arch[/variant]", image, manifest digest) of each platform."""
    reader = Layout(layout)
    for ref in reader.images():
        yield str(ref.platform), reader.image(ref), ref.digest


def read_image(layout: Path) -> ImageContents:
    contents = ImageContents(index_digest=top_index(layout)["digest"])
    try:
        for platform, image, _ in platform_manifests(layout):
            config = image.config
            contents.platforms.append(platform)
            contents.labels = (config.get("config") or {}).get("Labels") or {}
            contents.created = config.get("created", contents.created)
            for layer in image.layers:
                with layer.archive() as tar:
                    for member in tar:
                        _collect(contents, config["architecture"], tar, member)
    except LayoutError as err:
        raise SbomError(str(err)) from None
    return contents


def _collect(
    contents: ImageContents, arch: str, tar: tarfile.TarFile, member: tarfile.TarInfo
) -> None:
    name = member.name.removeprefix("./")
    if not member.isfile():
        return

    def data() -> bytes:
        stream = tar.extractfile(member)
        assert stream is not None
        return stream.read()

    if name.startswith(STATUS_DIR) and not name.endswith(".md5sums"):
        contents.dpkg_status[(arch, name[len(STATUS_DIR) :])] = data().decode()
    elif name.startswith("usr/share/doc/") and name.endswith("/copyright"):
        package = name.split("/")[3]
        contents.copyright[(arch, package)] = data().decode("utf-8", "replace")
    elif name.startswith(SITE_PACKAGES):
        if re.fullmatch(r"[^/]+\.dist-info/METADATA", name[len(SITE_PACKAGES) :]):
            contents.python_metadata[name] = data().decode("utf-8", "replace")
    elif name.startswith(APP) and "/__pycache__/" not in name:
        # Compiled .pyc files are derived from the sources listed here.
        contents.app_files[name] = data()


# --- locks ---------------------------------------------------------------------------


def read_debian_lock(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    lock = json.loads(path.read_text())
    return {(p["arch"], p["name"]): p for p in lock["packages"]}


def normalize_python_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_python_lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) from a pip-compile --generate-hashes lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", line)
        if match:
            current = normalize_python_name(match.group(1))
            pins[current] = (match.group(2), [])
            continue
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", line)
        if current and hashes:
            pins[current][1].extend(hashes)
    return pins


def parse_control(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def debian_licenses(copyright_text: str | None) -> list[str]:
    """Licence short names of a DEP-5 copyright file; [] if it is not machine-readable."""
    if not copyright_text or not copyright_text.startswith("Format:"):
        return []
    names = set()
    for line in copyright_text.splitlines():
        if line.startswith("License:"):
            expression = line[len("License:") :].strip()
            names.update(
                n for n in re.split(r"\s+(?:or|and|with)\s+|[,()]", expression) if n
            )
    return sorted(n for n in names if re.fullmatch(r"[A-Za-z0-9.+-]+", n))


def _spdx_license(name: str, table: dict[str, str]) -> str:
    if name in table:
        return table[name]
    name = name.replace("+", "-or-later")
    return "LicenseRef-" + re.sub(r"[^A-Za-z0-9.-]", "-", name)


def python_license(metadata: email.message.Message) -> str | None:
    expression = metadata.get("License-Expression")
    if expression:
        return expression.strip()
    license_field = (metadata.get("License") or "").strip()
    if license_field in PYTHON_TO_SPDX:
        return PYTHON_TO_SPDX[license_field]
    for classifier in metadata.get_all("Classifier") or []:
        if classifier.startswith("License :: "):
            last = classifier.split(" :: ")[-1]
            if last in PYTHON_TO_SPDX:
                return PYTHON_TO_SPDX[last]
    return None


# --- the document --------------------------------------------------------------------


def spdx_id(*parts: str) -> str:
    return "SPDXRef-" + "-".join(re.sub(r"[^A-Za-z0-9.]+", "-", p) for p in parts)


def build_sbom(
    name: str,
    contents: ImageContents,
    debian_lock: dict[tuple[str, str], dict[str, Any]],
    python_lock: dict[str, tuple[str, list[str]]],
) -> dict[str, Any]:
    version = contents.labels.get("org.opencontainers.image.version", "0.0.0-dev")
    source = contents.labels.get("org.opencontainers.image.source", DEFAULT_SOURCE)
    image_id = spdx_id("image", name)
    packages: list[dict[str, Any]] = [
        {
            "SPDXID": image_id,
            "name": name,
            "versionInfo": version,
            "primaryPackagePurpose": "CONTAINER",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "checksums": [
                {
                    "algorithm": "SHA256",
                    "checksumValue": contents.index_digest.removeprefix("sha256:"),
                }
            ],
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": contents.labels.get(
                "org.opencontainers.image.licenses", "NOASSERTION"
            ),
            "copyrightText": "NOASSERTION",
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": f"pkg:oci/{name}@{contents.index_digest.replace(':', '%3A')}",
                }
            ],
            "comment": "Platforms: " + ", ".join(contents.platforms),
        }
    ]
    relationships = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": image_id,
        }
    ]
    license_refs: set[str] = set()

    for (arch, package), control_text in sorted(contents.dpkg_status.items()):
        control = parse_control(control_text)
        package_version = control.get("Version", "")
        pinned = debian_lock.get((arch, package))
        if pinned is None or pinned["version"] != package_version:
            raise SbomError(
                f"{name}: ships Debian package {package} {package_version} ({arch}), "
                f"which images/debian_packages.lock.json "
                + ("does not pin" if pinned is None else f"pins at {pinned['version']}")
            )
        licenses = [
            _spdx_license(n, DEBIAN_TO_SPDX)
            for n in debian_licenses(contents.copyright.get((arch, package)))
        ]
        license_refs.update(n for n in licenses if n.startswith("LicenseRef-"))
        purl = (
            f"pkg:deb/debian/{package}@{package_version.replace(':', '%3A')}"
            f"?arch={control.get('Architecture', arch)}&distro=debian-{pinned['suite']}"
        )
        entry = {
            "SPDXID": spdx_id("deb", arch, package),
            "name": package,
            "versionInfo": package_version,
            "supplier": "Organization: Debian",
            "downloadLocation": pinned["urls"][0],
            "filesAnalyzed": False,
            "checksums": [{"algorithm": "SHA256", "checksumValue": pinned["sha256"]}],
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": " AND ".join(sorted(set(licenses))) or "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "sourceInfo": f"built from Debian source package {control.get('Source', package).split(' ')[0]}",
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": purl,
                }
            ],
        }
        if control.get("Homepage"):
            entry["homepage"] = control["Homepage"]
        packages.append(entry)
        relationships.append(_contains(image_id, entry["SPDXID"]))

    for path, text in sorted(contents.python_metadata.items()):
        metadata = email.parser.Parser().parsestr(text, headersonly=True)
        dist, dist_version = metadata.get("Name", ""), metadata.get("Version", "")
        pinned_py = python_lock.get(normalize_python_name(dist))
        if pinned_py is None or pinned_py[0] != dist_version:
            raise SbomError(
                f"{name}: ships Python distribution {dist} {dist_version} (/{path}), "
                "which requirements_lock.txt "
                + ("does not pin" if pinned_py is None else f"pins at {pinned_py[0]}")
            )
        license_id = python_license(metadata)
        entry = {
            "SPDXID": spdx_id("pypi", normalize_python_name(dist)),
            "name": dist,
            "versionInfo": dist_version,
            "downloadLocation": f"https://pypi.org/project/{dist}/{dist_version}/",
            "filesAnalyzed": False,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": license_id or "NOASSERTION",
            "copyrightText": "NOASSERTION",
            # The lock pins every file PyPI has for this version (wheel and
            # sdist); which one was installed is not recorded, so the hashes are
            # noted rather than claimed as this package's checksum.
            "comment": "requirements_lock.txt sha256: " + ", ".join(pinned_py[1]),
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": f"pkg:pypi/{normalize_python_name(dist)}@{dist_version}",
                }
            ],
        }
        packages.append(entry)
        relationships.append(_contains(image_id, entry["SPDXID"]))

    files = []
    app_id = spdx_id("app", name)
    for path, data in sorted(contents.app_files.items()):
        file_id = spdx_id("File", path)
        files.append(
            {
                "SPDXID": file_id,
                "fileName": "./" + path,
                "checksums": [
                    {
                        "algorithm": "SHA1",
                        "checksumValue": hashlib.sha1(data).hexdigest(),
                    },
                    {
                        "algorithm": "SHA256",
                        "checksumValue": hashlib.sha256(data).hexdigest(),
                    },
                ],
                "licenseConcluded": "NOASSERTION",
                "copyrightText": "NOASSERTION",
            }
        )
        relationships.append(_contains(app_id, file_id))
    if files:
        # The first-party code, a package of its own whose files were analysed
        # (the image's were not: it is described by its packages). SPDX 2.3
        # forbids a package with filesAnalyzed false to contain files.
        sha1s = sorted(f["checksums"][0]["checksumValue"] for f in files)
        code = hashlib.sha1("".join(sha1s).encode()).hexdigest()
        packages.append(
            {
                "SPDXID": app_id,
                "name": f"{name}-app",
                "versionInfo": version,
                "primaryPackagePurpose": "APPLICATION",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": True,
                "packageVerificationCode": {"packageVerificationCodeValue": code},
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": contents.labels.get(
                    "org.opencontainers.image.licenses", "NOASSERTION"
                ),
                "copyrightText": "NOASSERTION",
                "comment": "First-party code under /app (services/), not from a lock.",
            }
        )
        relationships.append(_contains(image_id, app_id))

    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{name}-{version}",
        "documentNamespace": f"{source}/spdx/{name}/{contents.index_digest}",
        "creationInfo": {"created": contents.created, "creators": [TOOL]},
        "packages": packages,
        "files": files,
        "relationships": relationships,
    }
    if license_refs:
        document["hasExtractedLicensingInfos"] = [
            {
                "licenseId": ref,
                "extractedText": "A licence Debian names "
                f"{ref.removeprefix('LicenseRef-')!r}; its text is in the package's "
                "/usr/share/doc/PACKAGE/copyright in the image.",
            }
            for ref in sorted(license_refs)
        ]
    return document


def _contains(parent: str, child: str) -> dict[str, str]:
    return {
        "spdxElementId": parent,
        "relationshipType": "CONTAINS",
        "relatedSpdxElement": child,
    }


def image_sbom(
    name: str, layout: Path, debian_lock: Path, python_lock: Path
) -> dict[str, Any]:
    return build_sbom(
        name,
        read_image(layout),
        read_debian_lock(debian_lock),
        read_python_lock(python_lock),
    )


# --- CycloneDX 1.6, from the SPDX document ----------------------------------------


def _purl(package: dict[str, Any]) -> str | None:
    for ref in package.get("externalRefs", []):
        if ref["referenceType"] == "purl":
            return ref["referenceLocator"]
    return None


def _cdx_hashes(checksums: list[dict[str, str]]) -> list[dict[str, str]]:
    names = {"SHA1": "SHA-1", "SHA256": "SHA-256"}
    return [
        {"alg": names[c["algorithm"]], "content": c["checksumValue"]} for c in checksums
    ]


def _cdx_component(package: dict[str, Any], kind: str) -> dict[str, Any]:
    component: dict[str, Any] = {
        "type": kind,
        "bom-ref": package["SPDXID"],
        "name": package["name"],
        "version": package["versionInfo"],
    }
    purl = _purl(package)
    if purl:
        component["purl"] = purl
    if package.get("supplier", "").startswith("Organization: "):
        component["supplier"] = {"name": package["supplier"][len("Organization: ") :]}
    if package.get("checksums"):
        component["hashes"] = _cdx_hashes(package["checksums"])
    if package.get("licenseDeclared", "NOASSERTION") != "NOASSERTION":
        component["licenses"] = [{"expression": package["licenseDeclared"]}]
    references = []
    if package.get("downloadLocation", "NOASSERTION") != "NOASSERTION":
        references.append({"type": "distribution", "url": package["downloadLocation"]})
    if package.get("homepage"):
        references.append({"type": "website", "url": package["homepage"]})
    if references:
        component["externalReferences"] = references
    properties = []
    if package.get("sourceInfo"):
        properties.append({"name": "spdx:sourceInfo", "value": package["sourceInfo"]})
    if package.get("comment"):
        properties.append({"name": "spdx:comment", "value": package["comment"]})
    if properties:
        component["properties"] = properties
    return component


def cyclonedx(spdx: dict[str, Any]) -> dict[str, Any]:
    """The CycloneDX 1.6 JSON BOM of an SPDX document build_sbom wrote.

    The same reading of the image and the locks, so the two list the same
    packages and files: the image is metadata.component (type container), each
    Debian package and Python distribution a library component with its purl,
    hashes, licence expression and download URL, each first-party file a file
    component with SHA-1 and SHA-256. serialNumber is a UUID derived from the
    SPDX namespace (itself from the index digest) and the timestamp is the
    image's creation time: reproducible like the SPDX document.
    """
    image, *packages = spdx["packages"]
    tool = spdx["creationInfo"]["creators"][0].removeprefix("Tool: ")
    dependencies = [component["SPDXID"] for component in packages] + [
        f["SPDXID"] for f in spdx["files"]
    ]
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": "urn:uuid:"
        + str(uuid.uuid5(uuid.NAMESPACE_URL, spdx["documentNamespace"])),
        "version": 1,
        "metadata": {
            "timestamp": spdx["creationInfo"]["created"],
            "tools": {"components": [{"type": "application", "name": tool}]},
            "component": _cdx_component(image, "container"),
        },
        "components": [
            _cdx_component(
                p,
                (
                    "application"
                    if p.get("primaryPackagePurpose") == "APPLICATION"
                    else "library"
                ),
            )
            for p in packages
        ]
        + [
            {
                "type": "file",
                "bom-ref": f["SPDXID"],
                "name": f["fileName"],
                "hashes": _cdx_hashes(f["checksums"]),
            }
            for f in spdx["files"]
        ],
        "dependencies": [{"ref": image["SPDXID"], "dependsOn": dependencies}]
        + [{"ref": ref} for ref in dependencies],
    }


def dumps(document: dict[str, Any]) -> bytes:
    """Canonical bytes: sorted keys, so equal documents are byte-equal."""
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", required=True, type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--debian-lock", required=True, type=Path)
    parser.add_argument("--python-lock", required=True, type=Path)
    parser.add_argument("--output", type=Path)
    parser.add_argument(
        "--cyclonedx-output", type=Path, help="also write the CycloneDX 1.6 BOM here"
    )
    args = parser.parse_args(argv)
    try:
        document = image_sbom(
            args.name, args.layout, args.debian_lock, args.python_lock
        )
    except (SbomError, OSError, ValueError, KeyError) as err:
        print(f"sbom: {err}", file=sys.stderr)
        return 1
    if args.cyclonedx_output:
        args.cyclonedx_output.write_bytes(dumps(cyclonedx(document)))
    if args.output:
        args.output.write_bytes(dumps(document))
    else:
        sys.stdout.buffer.write(dumps(document))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
