"""OpenVEX 0.2.0 statements for a slim image, from what its build kept and left out.

    vex.py --image NAME --repository REPO --index-digest sha256:HEX
           --manifest amd64=sha256:HEX --report REPORT.txt [--report ...]
           --sbom NAME.spdx.json --advisories ADVISORIES.json
           --timestamp 2026-12-01T00:00:00Z --output NAME.vex.json

The slim images ship only part of Debian's Python runtime: py_slim's report
(output group `report` of py_slim_runtime, one per architecture; images/slim.bzl
gathers them as NAME_python3_slim_report) lists every path of the packages with
the reason it is kept, or "left out". Given advisories (a JSON file: for each,
the vulnerability id, the Debian package, the files its vulnerable code lives
in; `{multiarch}` in a path stands for the architecture's triplet, such as
x86_64-linux-gnu), each advisory gets, per platform of the image:

- not_affected / component_not_present: the image's SBOM lists no such package;
- not_affected / vulnerable_code_not_present: the package is in the image, but
  every file the advisory names is one the report says was left out;
- affected: at least one of those files is in the image (the action statement
  says which, and how to update the package);
- under_investigation: a file is neither kept nor left out of that package (the
  advisory does not match the package as shipped), or the package is a Python
  distribution of the service's layers, which the slim report does not cover.

A statement's products are the platform manifests it holds for (pkg:oci purls
with the manifest digest and arch, and the package's purl from the SBOM as
subcomponent); when every platform has the same status, the index as well.
The document's timestamp is the commit time (as the provenance's), its @id
follows from the index digest, statements are sorted: the same inputs give the
same bytes. The release attests it with `cosign attest --type openvex`.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTEXT = "https://openvex.dev/ns/v0.2.0"
ID_PREFIX = "https://example.invalid/bazel-python-containers/vex"
AUTHOR = "bazel-python-containers release tool"
TOOLING = "tools/release/vex.py"
LEFT_OUT = "left out"  # py_slim.py's reason for a path the image does not have.
UPDATE = "./tools/bazel run //images:debian_lock.update"


class VexError(Exception):
    """An input is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Advisory:
    id: str  # CVE-2024-6232, GHSA-..., ...
    package: str  # the Debian package (or Python distribution) it is about
    files: tuple[str, ...]  # absolute paths; {multiarch} is the triplet
    summary: str


@dataclass(frozen=True)
class SlimReport:
    arch: str  # amd64
    multiarch: str  # x86_64-linux-gnu
    kept: dict[str, str]  # path -> package
    left_out: dict[str, str]  # path -> package


def read_report(text: str, where: str) -> SlimReport:
    """py_slim.py's report: the architecture line, then path, type, size,
    package, reason per line."""
    arch = multiarch = ""
    kept: dict[str, str] = {}
    left_out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# architecture "):
            # "# architecture amd64, multiarch x86_64-linux-gnu"
            first, _, second = line.removeprefix("# architecture ").partition(", ")
            arch, multiarch = first, second.removeprefix("multiarch ")
            continue
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 5 or not fields[0].startswith("/"):
            raise VexError(f"{where}: not a py_slim report line: {line!r}")
        path, _, _, package, reason = fields
        (left_out if reason == LEFT_OUT else kept)[path] = package
    if not arch or not multiarch:
        raise VexError(
            f"{where}: no '# architecture ARCH, multiarch TRIPLET' line: is it the "
            "report of a py_slim_runtime (output group report)?"
        )
    if not left_out:
        raise VexError(
            f"{where}: lists nothing left out: a report of an older py_slim, "
            "which did not record it? rebuild it"
        )
    return SlimReport(arch, multiarch, kept, left_out)


def read_advisories(path: Path) -> list[Advisory]:
    """{"advisories": [{"id", "package", "files": [...], "summary"}, ...]}"""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise VexError(f"advisories {path}: {err}") from None
    entries = document.get("advisories") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise VexError(f'advisories {path}: expected {{"advisories": [...]}}')
    advisories = []
    for number, entry in enumerate(entries):
        where = f"advisories {path}: advisories[{number}]"
        if not isinstance(entry, dict):
            raise VexError(f"{where} is not an object")
        for key in ("id", "package", "summary"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise VexError(f"{where}: {key!r} must be a non-empty string")
        files = entry.get("files")
        if (
            not isinstance(files, list)
            or not files
            or not all(isinstance(f, str) and f.startswith("/") for f in files)
        ):
            raise VexError(
                f"{where} ({entry['id']}): 'files' must list the absolute paths "
                "the vulnerable code lives in"
            )
        advisories.append(
            Advisory(entry["id"], entry["package"], tuple(files), entry["summary"])
        )
    return advisories


def oci_purl(image: str, digest: str, repository: str, arch: str | None) -> str:
    qualifiers = {"repository_url": repository}
    if arch:
        qualifiers["arch"] = arch
    query = "&".join(
        f"{k}={urllib.parse.quote(v, safe='/')}" for k, v in sorted(qualifiers.items())
    )
    return f"pkg:oci/{image}@{urllib.parse.quote(digest, safe='')}?{query}"


def sbom_components(sbom: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(package name, arch or "any") -> purl, for every package of the SBOM."""
    found = {}
    for package in sbom["packages"][1:]:
        for ref in package.get("externalRefs", []):
            if ref.get("referenceType") != "purl":
                continue
            purl = ref["referenceLocator"]
            query = urllib.parse.parse_qs(purl.partition("?")[2])
            arch = query.get("arch", ["any"])[0] if purl.startswith("pkg:deb/") else ""
            found[(package["name"], arch or "any")] = purl
    return found


def assess(
    advisory: Advisory, report: SlimReport, components: dict[tuple[str, str], str]
) -> tuple[dict[str, str], str | None]:
    """(status fields of the statement, the package's purl or None) on one platform."""
    deb = components.get((advisory.package, report.arch))
    pypi = components.get((advisory.package, "any"))
    platform = f"linux/{report.arch}"
    if deb is None and pypi is None:
        return {
            "status": "not_affected",
            "justification": "component_not_present",
            "impact_statement": f"{advisory.package} is not in the image for "
            f"{platform}: its SBOM lists no such package.",
        }, None
    if deb is None:
        return {
            "status": "under_investigation",
            "status_notes": f"{advisory.package} is a Python distribution of the "
            "service's layers, shipped whole as in the other variants; the slim "
            "report covers the Debian packages of the runtime only.",
        }, pypi
    files = [f.replace("{multiarch}", report.multiarch) for f in advisory.files]
    present = [f for f in files if report.kept.get(f) == advisory.package]
    absent = [f for f in files if report.left_out.get(f) == advisory.package]
    unknown = [f for f in files if f not in present and f not in absent]
    if present:
        return {
            "status": "affected",
            "action_statement": f"The image for {platform} ships "
            f"{', '.join(present)} of {advisory.package}: update the package "
            f"({UPDATE}) once Debian publishes a fixed version, then release.",
        }, deb
    if unknown:
        return {
            "status": "under_investigation",
            "status_notes": f"{', '.join(unknown)}: not a file of "
            f"{advisory.package} as the slim build read it (neither kept nor left "
            "out); the advisory's file list does not match the package shipped.",
        }, deb
    return {
        "status": "not_affected",
        "justification": "vulnerable_code_not_present",
        "impact_statement": f"Every file the vulnerable code lives in "
        f"({', '.join(absent)}) is left out of the image for {platform} by the "
        f"slim build, which keeps only what the service imports and what that "
        f"needs; {advisory.package} is listed for the files it does keep.",
    }, deb


def document(
    *,
    image: str,
    repository: str,
    index_digest: str,
    manifests: dict[str, str],
    reports: list[SlimReport],
    sbom: dict[str, Any],
    advisories: list[Advisory],
    timestamp: str,
) -> dict[str, Any]:
    """The OpenVEX document of one slim image (see the module docstring)."""
    by_arch = {r.arch: r for r in reports}
    if len(by_arch) != len(reports) or sorted(by_arch) != sorted(manifests):
        raise VexError(
            f"{image}: slim reports for {', '.join(sorted(r.arch for r in reports))}"
            f" but platform manifests for {', '.join(sorted(manifests))}: one "
            "report per architecture of the image is needed"
        )
    components = sbom_components(sbom)
    statements = []
    for advisory in advisories:
        results = {
            arch: assess(advisory, by_arch[arch], components) for arch in by_arch
        }
        groups: dict[str, list[str]] = {}
        for arch, (fields, _) in sorted(results.items()):
            key = fields["status"] + "/" + fields.get("justification", "")
            groups.setdefault(key, []).append(arch)
        for arches in groups.values():
            products = [
                {
                    "@id": oci_purl(image, manifests[arch], repository, arch),
                    **(
                        {"subcomponents": [{"@id": results[arch][1]}]}
                        if results[arch][1]
                        else {}
                    ),
                }
                for arch in arches
            ]
            if len(arches) == len(by_arch):
                subcomponents = sorted({results[a][1] for a in arches} - {None})
                products.insert(
                    0,
                    {
                        "@id": oci_purl(image, index_digest, repository, None),
                        **(
                            {"subcomponents": [{"@id": s} for s in subcomponents]}
                            if subcomponents
                            else {}
                        ),
                    },
                )
            fields = dict(results[arches[0]][0])
            for text in ("impact_statement", "action_statement", "status_notes"):
                texts = [results[a][0][text] for a in arches if text in results[a][0]]
                if texts:
                    fields[text] = " ".join(dict.fromkeys(texts))
            statements.append(
                {
                    "vulnerability": {
                        "name": advisory.id,
                        "description": advisory.summary,
                    },
                    "products": products,
                    **fields,
                }
            )
    statements.sort(key=lambda s: (s["vulnerability"]["name"], s["products"][0]["@id"]))
    return {
        "@context": CONTEXT,
        "@id": f"{ID_PREFIX}/{image}/{index_digest.replace(':', '-')}",
        "author": AUTHOR,
        "timestamp": timestamp,
        "version": 1,
        "tooling": TOOLING,
        "statements": statements,
    }


def dumps(vex: dict[str, Any]) -> bytes:
    return (json.dumps(vex, indent=2, sort_keys=True) + "\n").encode()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--index-digest", required=True)
    parser.add_argument(
        "--manifest", action="append", required=True, metavar="ARCH=DIGEST"
    )
    parser.add_argument("--report", action="append", required=True, type=Path)
    parser.add_argument("--sbom", required=True, type=Path)
    parser.add_argument("--advisories", required=True, type=Path)
    parser.add_argument("--timestamp", required=True, help="RFC 3339, the commit's")
    parser.add_argument("--output", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        vex = document(
            image=args.image,
            repository=args.repository,
            index_digest=args.index_digest,
            manifests=dict(m.split("=", 1) for m in args.manifest),
            reports=[read_report(p.read_text(), str(p)) for p in args.report],
            sbom=json.loads(args.sbom.read_text()),
            advisories=read_advisories(args.advisories),
            timestamp=args.timestamp,
        )
    except VexError as err:
        print(f"vex: error: {err}", file=sys.stderr)
        return 1
    args.output.write_bytes(dumps(vex))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
