"""SLSA v1 provenance of one released image index: an in-toto v1 Statement.

    statement = provenance.statement(image=..., index_digest=..., sbom=SPDX_DOCUMENT,
                                     python_lock=..., source=Source(...),
                                     builder=Builder(...), command=[...],
                                     byproducts={"hello.spdx.json": b"..."})

The release tool (release.py) writes dist/VERSION/NAME.provenance.json and
attests its predicate with `cosign attest --type slsaprovenance1`.

- subject: the index (its repository name and sha256).
- buildDefinition.buildType: BUILD_TYPE, documented in docs/RELEASING.md
  ("SLSA provenance"); externalParameters: the source (repository, commit, whether
  the tree was clean), the command and the image; internalParameters: the
  stamped version and build time (the commit time).
- resolvedDependencies: the source commit, then every pinned input the image
  ships, read from the image's own SBOM (so only what it ships): each Debian
  package by its URL and sha256 (images/debian_packages.lock.json, as the SBOM
  records it), each Python wheel by name, version, URL and sha256 of the wheel
  requirements_lock.txt names for each platform of the image.
- runDetails: the builder (id BUILDER_ID, Bazel's version, the build root's key:
  tools/bazel's hash of tools/buildroot/packages.txt and provision.sh), and the
  byproducts: the SBOMs by name, media type and sha256.

No clock, host, path or user goes in: the same commit gives the same bytes
(dumps: sorted keys; every list sorted).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hashlib

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://example.invalid/bazel-python-containers/buildtypes/release/v1"
BUILDER_ID = "https://example.invalid/bazel-python-containers/builders/release-tool"
# requirements_lock.txt's wheel tags per image architecture ("any": pure Python).
WHEEL_PLATFORMS = {"amd64": "linux_x86_64", "arm64": "linux_aarch64"}
MEDIA_TYPES = {
    ".spdx.json": "application/spdx+json",
    ".cdx.json": "application/vnd.cyclonedx+json",
}


class ProvenanceError(Exception):
    """An input the provenance must name cannot be found; the message says which."""


@dataclass(frozen=True)
class Source:
    repository: str  # e.g. the image's org.opencontainers.image.source
    commit: str  # the full git commit, or "unknown"
    clean: bool | None  # None: not a git checkout, so unknown


@dataclass(frozen=True)
class Builder:
    bazel_version: str  # "7.7.1"
    build_root: str  # tools/bazel's key of the build root, or "host"


def read_wheels(python_lock: Path) -> dict[tuple[str, str], list[dict[str, str]]]:
    """(normalized name, version) -> [{"platform", "url", "sha256"}] of its `# wheel` lines."""
    wheels: dict[tuple[str, str], list[dict[str, str]]] = {}
    current = None
    for line in python_lock.read_text(encoding="utf-8").splitlines():
        pin = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", line)
        if pin:
            current = (_normalize(pin.group(1)), pin.group(2))
            wheels[current] = []
            continue
        wheel = re.match(
            r"^\s+# wheel ([A-Za-z0-9_]+): (\S+)#sha256=([0-9a-f]{64})$", line
        )
        if wheel and current:
            platform, url, sha256 = wheel.groups()
            wheels[current].append({"platform": platform, "url": url, "sha256": sha256})
    return wheels


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _purl(package: dict[str, Any]) -> str:
    for ref in package.get("externalRefs", []):
        if ref["referenceType"] == "purl":
            return ref["referenceLocator"]
    return ""


def _architectures(sbom: dict[str, Any]) -> list[str]:
    """The image's architectures, from the SBOM's "Platforms: ..." comment."""
    comment = sbom["packages"][0].get("comment", "")
    return sorted(
        {
            p.split("/")[1]
            for p in comment.removeprefix("Platforms: ").split(", ")
            if "/" in p
        }
    )


def resolved_dependencies(
    sbom: dict[str, Any],
    wheels: dict[tuple[str, str], list[dict[str, str]]],
    source: Source,
) -> list[dict[str, Any]]:
    dependencies: list[dict[str, Any]] = [
        {
            "uri": f"git+{source.repository}@{source.commit}",
            "digest": {"gitCommit": source.commit},
            "name": "source",
        }
    ]
    packages: list[dict[str, Any]] = []
    tags = [
        "any",
        *(WHEEL_PLATFORMS[a] for a in _architectures(sbom) if a in WHEEL_PLATFORMS),
    ]
    for package in sbom["packages"][1:]:
        purl = _purl(package)
        if purl.startswith("pkg:deb/"):
            packages.append(
                {
                    "uri": package["downloadLocation"],
                    "digest": {"sha256": package["checksums"][0]["checksumValue"]},
                    "name": package["name"],
                    "annotations": {"purl": purl, "version": package["versionInfo"]},
                }
            )
        elif purl.startswith("pkg:pypi/"):
            key = (_normalize(package["name"]), package["versionInfo"])
            found = [w for w in wheels.get(key, []) if w["platform"] in tags]
            if not found:
                raise ProvenanceError(
                    f"the image ships {key[0]} {key[1]}, but requirements_lock.txt has no"
                    f" `# wheel` line of it for {', '.join(tags)}: run"
                    " `./tools/bazel run //:requirements.update`"
                )
            for wheel in found:
                packages.append(
                    {
                        "uri": wheel["url"],
                        "digest": {"sha256": wheel["sha256"]},
                        "name": package["name"],
                        "annotations": {
                            "purl": purl,
                            "version": package["versionInfo"],
                            "wheelPlatform": wheel["platform"],
                        },
                    }
                )
    packages.sort(key=lambda d: (d["annotations"]["purl"], d["uri"]))
    return dependencies + packages


def statement(
    *,
    image: str,
    repository: str,
    index_digest: str,
    version: str,
    build_time: str,
    sbom: dict[str, Any],
    python_lock: Path,
    source: Source,
    builder: Builder,
    command: list[str],
    byproducts: dict[str, bytes],
) -> dict[str, Any]:
    """The in-toto Statement of one index (see the module docstring)."""
    if not index_digest.startswith("sha256:"):
        raise ProvenanceError(
            f"{image}: index digest {index_digest!r} is not sha256:HEX"
        )
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {
                "name": repository,
                "digest": {"sha256": index_digest.removeprefix("sha256:")},
            }
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "source": {
                        "repository": source.repository,
                        "commit": source.commit,
                        "treeClean": source.clean,
                    },
                    "command": command,
                    "image": image,
                },
                "internalParameters": {
                    "version": version,
                    "buildTime": build_time,
                    "bazelConfig": "--config=release",
                },
                "resolvedDependencies": resolved_dependencies(
                    sbom, read_wheels(python_lock), source
                ),
            },
            "runDetails": {
                "builder": {
                    "id": BUILDER_ID,
                    "version": {
                        "bazel": builder.bazel_version,
                        "buildRoot": builder.build_root,
                    },
                },
                "byproducts": [
                    {
                        "name": name,
                        "digest": {"sha256": hashlib.sha256(data).hexdigest()},
                        "mediaType": next(
                            (
                                t
                                for suffix, t in MEDIA_TYPES.items()
                                if name.endswith(suffix)
                            ),
                            "application/json",
                        ),
                    }
                    for name, data in sorted(byproducts.items())
                ],
            },
        },
    }


def dumps(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
