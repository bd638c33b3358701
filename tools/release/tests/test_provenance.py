"""provenance.py on the real images: an in-toto v1 Statement of SLSA v1 provenance."""

from __future__ import annotations

import json
import os
from pathlib import Path

import provenance
import pytest
import sbom

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
DEBIAN_LOCK = RUNFILES / "images" / "debian_packages.lock.json"
PYTHON_LOCK = RUNFILES / "requirements_lock.txt"
SOURCE = provenance.Source("https://example.invalid/repo", "a" * 40, True)
BUILDER = provenance.Builder("7.7.1", "416ec3f0dccd7180")


def make(image: str, python_lock: Path = PYTHON_LOCK) -> dict:
    document = sbom.image_sbom(
        image, RUNFILES / "images" / image, DEBIAN_LOCK, PYTHON_LOCK
    )
    return provenance.statement(
        image=image,
        repository=f"registry.example/team/{image}",
        index_digest="sha256:"
        + document["packages"][0]["checksums"][0]["checksumValue"],
        version="1.2.3",
        build_time="2026-12-01T00:00:00Z",
        sbom=document,
        python_lock=python_lock,
        source=SOURCE,
        builder=BUILDER,
        command=["./tools/bazel", "build", "--config=release", f"//images:{image}"],
        byproducts={f"{image}.spdx.json": sbom.dumps(document)},
    )


def test_items_provenance_names_every_pinned_input_it_ships() -> None:
    statement = make("items")
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    index = json.loads((RUNFILES / "images/items/index.json").read_text())["manifests"][
        0
    ]
    assert statement["subject"] == [
        {
            "name": "registry.example/team/items",
            "digest": {"sha256": index["digest"][7:]},
        }
    ]
    build = statement["predicate"]["buildDefinition"]
    assert build["buildType"] == provenance.BUILD_TYPE
    assert build["externalParameters"]["source"] == {
        "repository": "https://example.invalid/repo",
        "commit": "a" * 40,
        "treeClean": True,
    }
    deps = build["resolvedDependencies"]
    assert deps[0] == {
        "uri": f"git+https://example.invalid/repo@{'a' * 40}",
        "digest": {"gitCommit": "a" * 40},
        "name": "source",
    }
    lock = json.loads(DEBIAN_LOCK.read_text())["packages"]
    libc = next(p for p in lock if p["name"] == "libc6" and p["arch"] == "arm64")
    assert {"uri": libc["urls"][0], "digest": {"sha256": libc["sha256"]}} in [
        {"uri": d["uri"], "digest": d["digest"]} for d in deps
    ]
    # A compiled wheel: the one of each platform the image is built for.
    core = [d for d in deps if d["name"] in ("pydantic_core", "pydantic-core")]
    assert sorted(d["annotations"]["wheelPlatform"] for d in core) == [
        "linux_aarch64",
        "linux_x86_64",
    ]
    for dependency in core:
        assert dependency["uri"].endswith(".whl")
        assert dependency["digest"]["sha256"] in PYTHON_LOCK.read_text()
    # Nothing the image does not ship (a test-only distribution, a build-time package).
    names = {d["name"] for d in deps}
    assert "pytest" not in names and "ca-certificates" not in names
    run = statement["predicate"]["runDetails"]
    assert run["builder"]["version"] == {
        "bazel": "7.7.1",
        "buildRoot": "416ec3f0dccd7180",
    }
    assert run["byproducts"][0]["name"] == "items.spdx.json"
    assert run["byproducts"][0]["mediaType"] == "application/spdx+json"


def test_the_same_inputs_give_the_same_bytes() -> None:
    assert provenance.dumps(make("hello_slim")) == provenance.dumps(make("hello_slim"))


def test_a_wheel_the_lock_does_not_name_is_an_error(tmp_path: Path) -> None:
    lock = tmp_path / "requirements_lock.txt"
    lock.write_text(
        "\n".join(
            line
            for line in PYTHON_LOCK.read_text().splitlines()
            if "waitress-3.0.2" not in line
        )
    )
    with pytest.raises(provenance.ProvenanceError, match="ships waitress 3.0.2"):
        make("hello", lock)
