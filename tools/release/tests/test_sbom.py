"""sbom.py on the real images: what they ship, matched to the locks, reproducibly."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import sbom
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import (
    validate_full_spdx_document,
)

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
DEBIAN_LOCK = RUNFILES / "images" / "debian_packages.lock.json"
PYTHON_LOCK = RUNFILES / "requirements_lock.txt"


def document(image: str) -> dict:
    return sbom.image_sbom(image, RUNFILES / "images" / image, DEBIAN_LOCK, PYTHON_LOCK)


def packages(doc: dict) -> dict[str, dict]:
    return {p["SPDXID"]: p for p in doc["packages"]}


def test_hello_sbom_describes_what_the_image_ships() -> None:
    doc = document("hello")
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert doc["dataLicense"] == "CC0-1.0"
    found = packages(doc)
    image = found["SPDXRef-image-hello"]
    assert image["primaryPackagePurpose"] == "CONTAINER"
    index_digest = json.loads((RUNFILES / "images/hello/index.json").read_text())
    assert any(
        "sha256:" + image["checksums"][0]["checksumValue"] == m["digest"]
        for m in index_digest["manifests"]
    )
    lock = {
        (p["arch"], p["name"]): p
        for p in json.loads(DEBIAN_LOCK.read_text())["packages"]
    }
    libc = found["SPDXRef-deb-arm64-libc6"]
    assert libc["versionInfo"] == lock[("arm64", "libc6")]["version"]
    assert libc["checksums"] == [
        {"algorithm": "SHA256", "checksumValue": lock[("arm64", "libc6")]["sha256"]}
    ]
    assert "LGPL-2.1-or-later" in libc["licenseDeclared"]
    assert "SPDXRef-deb-amd64-libpython3.13-minimal" in found
    # Build-time only: never installed, so not in the SBOM.
    assert not any(p["name"] == "ca-certificates" for p in doc["packages"])
    waitress = found["SPDXRef-pypi-waitress"]
    assert (waitress["versionInfo"], waitress["licenseDeclared"]) == (
        "3.0.2",
        "ZPL-2.1",
    )
    assert "pkg:pypi/waitress@3.0.2" in json.dumps(waitress["externalRefs"])
    files = {f["fileName"]: f for f in doc["files"]}
    source = (RUNFILES / "services/hello/src/hello/app.py").read_bytes()
    assert {
        "algorithm": "SHA256",
        "checksumValue": hashlib.sha256(source).hexdigest(),
    } in files["./app/hello/app.py"]["checksums"]
    assert not any("__pycache__" in name or "site-packages" in name for name in files)
    # Every element is related to the image; every LicenseRef is explained.
    related = {r["relatedSpdxElement"] for r in doc["relationships"]}
    assert related == set(found) | {f["SPDXID"] for f in doc["files"]}
    refs = {e["licenseId"] for e in doc.get("hasExtractedLicensingInfos", [])}
    used = {
        part
        for p in doc["packages"]
        for part in p["licenseDeclared"].split(" AND ")
        if part.startswith("LicenseRef-")
    }
    assert used <= refs


def test_slim_ships_fewer_packages_and_sboms_are_reproducible() -> None:
    hello, slim = document("hello"), document("hello_slim")
    names = lambda doc: {  # noqa: E731
        p["name"] for p in doc["packages"][1:] if "primaryPackagePurpose" not in p
    }
    assert names(slim) < names(hello)
    assert sbom.dumps(slim) == sbom.dumps(document("hello_slim"))
    # Derived from the image, not the moment or the machine.
    assert slim["documentNamespace"].endswith(
        packages(slim)["SPDXRef-image-hello-slim"]["checksums"][0]["checksumValue"]
    )
    assert slim["creationInfo"]["created"] == "1970-01-01T00:00:00Z"


def test_a_package_the_lock_does_not_pin_is_an_error(tmp_path: Path) -> None:
    lock = json.loads(DEBIAN_LOCK.read_text())
    lock["packages"] = [p for p in lock["packages"] if p["name"] != "libc6"]
    bad = tmp_path / "lock.json"
    bad.write_text(json.dumps(lock))
    with pytest.raises(
        sbom.SbomError, match="ships Debian package libc6 .* does not pin"
    ):
        sbom.image_sbom("hello", RUNFILES / "images/hello", bad, PYTHON_LOCK)
    python = tmp_path / "requirements_lock.txt"
    python.write_text(
        PYTHON_LOCK.read_text().replace("waitress==3.0.2", "waitress==3.0.1")
    )
    with pytest.raises(sbom.SbomError, match="waitress 3.0.2 .* pins at 3.0.1"):
        sbom.image_sbom("hello", RUNFILES / "images/hello", DEBIAN_LOCK, python)


def spdx_problems(doc: dict, tmp_path: Path) -> list[str]:
    """What spdx-tools' parser and validator find wrong with `doc` (SPDX 2.3)."""
    path = tmp_path / "sbom.spdx.json"
    path.write_bytes(sbom.dumps(doc))
    parsed = parse_file(str(path))
    return [
        m.validation_message for m in validate_full_spdx_document(parsed, "SPDX-2.3")
    ]


def cyclonedx_problem(doc: dict) -> str | None:
    """What cyclonedx-python-lib's strict JSON schema validation (1.6) finds."""
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(
        sbom.dumps(doc).decode()
    )
    return None if error is None else str(error)


@pytest.mark.parametrize("image", ["hello", "hello_slim", "items", "items_slim"])
def test_both_sboms_pass_the_real_validators(image: str, tmp_path: Path) -> None:
    spdx = document(image)
    assert spdx_problems(spdx, tmp_path) == []
    cdx = sbom.cyclonedx(spdx)
    assert cyclonedx_problem(cdx) is None
    assert cdx["specVersion"] == "1.6"
    assert cdx["metadata"]["component"]["type"] == "container"
    # The same packages and files in both.
    assert sorted(p["SPDXID"] for p in spdx["packages"][1:]) == sorted(
        c["bom-ref"] for c in cdx["components"] if c["type"] != "file"
    )
    purls = sorted(filter(None, (sbom._purl(p) for p in spdx["packages"][1:])))
    assert purls == sorted(c["purl"] for c in cdx["components"] if "purl" in c)
    assert len(purls) == len(spdx["packages"]) - 2  # all but the image and the app
    assert sorted(f["fileName"] for f in spdx["files"]) == sorted(
        c["name"] for c in cdx["components"] if c["type"] == "file"
    )
    assert sbom.dumps(cdx) == sbom.dumps(sbom.cyclonedx(document(image)))


def test_the_validators_reject_broken_documents(tmp_path: Path) -> None:
    """The checks above can fail: each validator names what is wrong."""
    spdx = document("hello_slim")
    spdx["packages"][1]["checksums"][0]["checksumValue"] = "abc"
    assert any("abc" in problem for problem in spdx_problems(spdx, tmp_path))
    cdx = sbom.cyclonedx(document("hello_slim"))
    cdx["components"][0]["hashes"][0]["alg"] = "SHA256"
    problem = cyclonedx_problem(cdx)
    assert problem is not None and "SHA256" in problem
