"""vex.py on the real slim images: their py_slim reports, their SBOMs, the sample advisories."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sbom
import vex

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
IMAGES = RUNFILES / "images"
ADVISORIES = RUNFILES / "tools/release/tests/advisories_sample.json"
TIME = "2026-12-01T00:00:00Z"


def reports(service: str) -> list[vex.SlimReport]:
    paths = sorted((IMAGES / f"{service}_python3_slim_report").glob("*.report.txt"))
    assert len(paths) == 2, paths
    return [vex.read_report(p.read_text(), str(p)) for p in paths]


def make(image: str, advisories: list[vex.Advisory] | None = None) -> dict:
    layout = IMAGES / image
    document = sbom.image_sbom(
        image,
        layout,
        IMAGES / "debian_packages.lock.json",
        RUNFILES / "requirements_lock.txt",
    )
    return vex.document(
        image=image,
        repository=f"registry.example/team/{image}",
        index_digest=sbom.top_index(layout)["digest"],
        manifests={p.split("/")[1]: d for p, _, d in sbom.platform_manifests(layout)},
        reports=reports(image.removesuffix("_slim")),
        sbom=document,
        advisories=(
            vex.read_advisories(ADVISORIES) if advisories is None else advisories
        ),
        timestamp=TIME,
    )


def statuses(document: dict) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for statement in document["statements"]:
        found.setdefault(statement["vulnerability"]["name"], set()).add(
            (statement["status"], statement.get("justification", ""))
        )
    return found


def test_the_reports_say_what_each_architecture_kept_and_left_out() -> None:
    by_arch = {r.arch: r for r in reports("hello")}
    assert sorted(by_arch) == ["amd64", "arm64"]
    assert by_arch["arm64"].multiarch == "aarch64-linux-gnu"
    amd64 = by_arch["amd64"]
    assert amd64.kept["/usr/bin/python3.13"] == "python3.13-minimal"
    assert amd64.left_out["/usr/lib/python3.13/tarfile.py"] == "libpython3.13-stdlib"
    assert not amd64.kept.keys() & amd64.left_out.keys()


def test_hello_slim_statements_follow_what_the_image_ships() -> None:
    document = make("hello_slim")
    assert document["@context"] == "https://openvex.dev/ns/v0.2.0"
    assert document["timestamp"] == TIME
    assert document["version"] == 1
    index = sbom.top_index(IMAGES / "hello_slim")["digest"]
    assert document["@id"].endswith("/hello_slim/" + index.replace(":", "-"))
    assert statuses(document) == {
        # Left out of the image (hello imports neither tarfile nor zipfile nor
        # email.utils, and no ssl): the code is not there.
        "CVE-2024-6232": {("not_affected", "vulnerable_code_not_present")},
        "CVE-2023-27043": {("not_affected", "vulnerable_code_not_present")},
        "CVE-2024-0450": {("not_affected", "vulnerable_code_not_present")},
        # python3.13 links libexpat: it ships, on both platforms.
        "CVE-2024-45490": {("affected", "")},
        # No package of the image has these: not even listed.
        "CVE-2025-6965": {("not_affected", "component_not_present")},
        "CVE-2024-4741": {("not_affected", "component_not_present")},
        # A wheel of the service, not covered by the slim report.
        "CVE-2024-49768": {("under_investigation", "")},
        # A file the package does not have: never claimed absent.
        "CVE-2025-0001-SAMPLE-MISMATCH": {("under_investigation", "")},
    }
    by_id = {s["vulnerability"]["name"]: s for s in document["statements"]}
    tar = by_id["CVE-2024-6232"]
    # Both platforms agree: the index and each platform manifest, with the
    # package of each as the subcomponent.
    ids = [p["@id"] for p in tar["products"]]
    assert ids[0] == (
        f"pkg:oci/hello_slim@sha256%3A{index[7:]}"
        "?repository_url=registry.example/team/hello_slim"
    )
    assert [i.rsplit("arch=", 1)[-1].split("&")[0] for i in ids[1:]] == [
        "amd64",
        "arm64",
    ]
    subcomponents = [s["@id"] for p in tar["products"][1:] for s in p["subcomponents"]]
    assert all(
        s.startswith("pkg:deb/debian/libpython3.13-stdlib@") for s in subcomponents
    )
    assert "/usr/lib/python3.13/tarfile.py" in tar["impact_statement"]
    expat = by_id["CVE-2024-45490"]
    assert "libexpat.so.1.13.0" in expat["action_statement"]
    assert "debian_lock.update" in expat["action_statement"]
    assert "no_such_module.py" in by_id["CVE-2025-0001-SAMPLE-MISMATCH"]["status_notes"]


def test_a_file_the_image_keeps_makes_it_affected() -> None:
    """The control of the not_affected claims: the same advisory naming a file
    hello_slim does keep (ipaddress.py, which it imports) is affected."""
    kept = vex.Advisory(
        "CVE-2024-4032",
        "libpython3.13-minimal",
        ("/usr/lib/python3.13/ipaddress.py", "/usr/lib/python3.13/tarfile.py"),
        "ipaddress: wrong is_private and is_global",
    )
    left_out = vex.Advisory(
        "CVE-2024-6232",
        "libpython3.13-stdlib",
        ("/usr/lib/python3.13/tarfile.py",),
        "tarfile ReDoS",
    )
    document = make("hello_slim", [kept, left_out])
    assert statuses(document) == {
        "CVE-2024-4032": {("affected", "")},
        "CVE-2024-6232": {("not_affected", "vulnerable_code_not_present")},
    }


def test_every_slim_image_and_the_same_bytes_twice() -> None:
    for image in ("hello_slim", "items_slim", "shelf_slim"):
        first, second = make(image), make(image)
        assert vex.dumps(first) == vex.dumps(second)
        assert b"1970-01-01" not in vex.dumps(first)
        for statement in first["statements"]:
            if statement["status"] == "not_affected":
                assert statement["justification"] in (
                    "vulnerable_code_not_present",
                    "component_not_present",
                )
                assert statement["impact_statement"]
            if statement["status"] == "affected":
                assert statement["action_statement"]


def test_reports_must_match_the_platforms() -> None:
    with pytest.raises(vex.VexError, match="one report per architecture"):
        vex.document(
            image="hello_slim",
            repository="r/hello_slim",
            index_digest="sha256:" + "0" * 64,
            manifests={"amd64": "sha256:" + "1" * 64, "arm64": "sha256:" + "2" * 64},
            reports=reports("hello")[:1],
            sbom={"packages": [{}]},
            advisories=[],
            timestamp=TIME,
        )


def test_malformed_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(vex.VexError, match="no '# architecture"):
        vex.read_report("/usr/bin/x\tfile\t1\tp\tleft out\n", "r.txt")
    with pytest.raises(vex.VexError, match="lists nothing left out"):
        vex.read_report("# architecture amd64, multiarch x\n", "r.txt")
    bad = tmp_path / "a.json"
    bad.write_text(
        json.dumps(
            {
                "advisories": [
                    {"id": "CVE-1", "package": "p", "summary": "s", "files": ["rel"]}
                ]
            }
        )
    )
    with pytest.raises(vex.VexError, match=r"advisories\[0\] \(CVE-1\): 'files'"):
        vex.read_advisories(bad)
