"""//tools/release end to end, against Debian's docker-registry on 127.0.0.1.

The tool runs on a copy of this checkout (--workspace), as `bazel run` runs it: a
stamped build, a second build from another copy in another output base (the
reproducibility proof for every image: digests compared), SBOMs, push, cosign
sign and attest with a throwaway key, verify, tag. Then the release is checked from
outside the tool with cosign and the registry API, a tag is re-pointed at an
unsigned digest and verification of the tag fails. The failure tests check that a
bad registry or key stops the release before anything is built, pushed or tagged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import image_list
import provenance
import pytest
import rebuild
import release
from checkout import workspace_dir
from nested_bazel import copy_checkout
from nested_bazel_testing import scratch_dir, terminate_cleanly  # noqa: F401
from registry import free_port, registry, remote_digest

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / "_main"
RELEASE = RUNFILES / "tools" / "release" / "release"
ADVISORIES = RUNFILES / "tools" / "release" / "tests" / "advisories_sample.json"
OPENVEX = "https://openvex.dev/ns"  # cosign's predicate type for --type openvex
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PASSWORD = "throwaway-password"
VERSION = "1.2.3-rc.1"


@pytest.fixture(scope="module")
def tmp() -> Iterator[Path]:
    with scratch_dir("release") as path:
        yield path


@pytest.fixture(scope="module")
def checkout(tmp: Path) -> Path:
    destination = tmp / "checkout"
    copy_checkout(workspace_dir(), destination)
    return destination


@pytest.fixture(scope="module")
def key(tmp: Path) -> Path:
    directory = tmp / "keys"
    directory.mkdir()
    subprocess.run(
        ["cosign", "generate-key-pair"], cwd=directory, check=True,
        env={**os.environ, "COSIGN_PASSWORD": PASSWORD}, capture_output=True,
    )  # fmt: skip
    return directory / "cosign.key"


def run_release(
    args: list[str], password: str = PASSWORD, timeout: float = 3000
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COSIGN_PASSWORD": password}
    return subprocess.run(
        [str(RELEASE), *args], capture_output=True, text=True, env=env,
        timeout=timeout, check=False,
    )  # fmt: skip


def cosign(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["cosign", *args], capture_output=True, text=True, timeout=120, check=False
    )


def catalog(address: str) -> list[str]:
    with urllib.request.urlopen(f"http://{address}/v2/_catalog", timeout=10) as r:
        return json.load(r)["repositories"]


ACCEPT = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
])  # fmt: skip


def registry_get(address: str, path: str) -> tuple[bytes, str]:
    request = urllib.request.Request(
        f"http://{address}/v2/{path}", headers={"Accept": ACCEPT}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read(), response.headers.get("Content-Type", "")


def registry_put_blob(address: str, name: str, data: bytes) -> dict:
    request = urllib.request.Request(
        f"http://{address}/v2/{name}/blobs/uploads/", method="POST", data=b""
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        location = response.headers["Location"]
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if location.startswith("/"):
        location = f"http://{address}{location}"
    separator = "&" if "?" in location else "?"
    put = urllib.request.Request(
        f"{location}{separator}digest={digest}", method="PUT", data=data,
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    urllib.request.urlopen(put, timeout=30).close()
    return {"digest": digest, "size": len(data)}


def registry_put_manifest(
    address: str, name: str, ref: str, data: bytes, media_type: str
) -> None:
    put = urllib.request.Request(
        f"http://{address}/v2/{name}/manifests/{ref}", method="PUT", data=data,
        headers={"Content-Type": media_type},
    )  # fmt: skip
    urllib.request.urlopen(put, timeout=30).close()


def tamper_attestation(address: str, name: str, digest: str, predicate_type: str,
                       edit: Callable[[dict], None]) -> int:  # fmt: skip
    """Rewrites, in the registry, the attestations of `digest` whose predicate
    type is `predicate_type` with `edit` applied to the statement (the signature
    left as it was); returns how many."""
    tag = digest.replace(":", "-")
    index_bytes, index_type = registry_get(address, f"{name}/manifests/{tag}")
    index = json.loads(index_bytes)
    tampered = 0
    for entry in index["manifests"]:
        manifest = json.loads(
            registry_get(address, f"{name}/manifests/{entry['digest']}")[0]
        )
        layer = manifest["layers"][0]
        bundle = json.loads(registry_get(address, f"{name}/blobs/{layer['digest']}")[0])
        envelope = bundle.get("dsseEnvelope")
        if not envelope:
            continue
        statement = json.loads(base64.b64decode(envelope["payload"]))
        if statement.get("predicateType") != predicate_type:
            continue
        edit(statement)
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
        layer.update(registry_put_blob(address, name, json.dumps(bundle).encode()))
        manifest_bytes = json.dumps(manifest).encode()
        new_digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
        registry_put_manifest(
            address, name, new_digest, manifest_bytes, manifest["mediaType"]
        )
        entry.update({"digest": new_digest, "size": len(manifest_bytes)})
        tampered += 1
    registry_put_manifest(
        address, name, tag, json.dumps(index).encode(), index["mediaType"]
    )
    return tampered


def edit_provenance(statement: dict) -> None:
    statement["predicate"]["buildDefinition"]["externalParameters"]["image"] = "evil"


def edit_rebuild(statement: dict) -> None:
    statement["predicate"]["compared"][0]["rebuild"] = "sha256:" + "0" * 64


def edit_vex(statement: dict) -> None:
    for vex_statement in statement["predicate"]["statements"]:
        if vex_statement["status"] == "affected":
            vex_statement["status"] = "not_affected"
            vex_statement["justification"] = "vulnerable_code_not_present"


def verify_fails_after_tamper(
    verify: list[str], ref: str, kind: str, predicate_type: str
) -> None:
    """`cosign verify-attestation --type kind` of a tampered attestation fails:
    its signature no longer matches, cosign drops it and finds no other."""
    tampered = cosign("verify-attestation", *verify, "--type", kind, ref)
    print(tampered.stderr)
    assert tampered.returncode != 0, tampered.stdout
    assert (
        f"none of the attestations matched the predicate type: {kind}"
        in tampered.stderr
    )
    assert predicate_type not in tampered.stderr.split("found:")[-1]


def layer_file(layout: Path, name: str) -> bytes | None:
    """A file from the amd64 image of an index layout, or None."""

    def blob(digest: str) -> Path:
        return layout / "blobs" / "sha256" / digest.split(":")[1]

    entries = json.loads((layout / "index.json").read_text())["manifests"]
    index = next(e for e in entries if e["mediaType"].endswith("index.v1+json"))
    nested = json.loads(blob(index["digest"]).read_text())
    manifest = json.loads(blob(nested["manifests"][0]["digest"]).read_text())
    for layer in manifest["layers"]:
        with tarfile.open(blob(layer["digest"])) as tar:
            if name in tar.getnames():
                stream = tar.extractfile(name)
                assert stream is not None
                return stream.read()
    return None


def check_referrers(address: str, repository: str, digest: str, item: dict) -> None:
    """What a consumer lists (docs/RELEASING.md): the registry has no Referrers
    API (404), so the tag schema's index at sha256-HEX lists every attached
    manifest, each with subject = the index and the sigstore bundle's
    artifactType, as the release manifest says; skopeo and cosign tree list the
    same."""
    assert item["referrers"] == "referrers-tag"
    with pytest.raises(urllib.error.HTTPError) as error:
        registry_get(address, f"{repository}/referrers/{digest}")
    assert error.value.code == 404
    tag = digest.replace(":", "-")
    index = json.loads(registry_get(address, f"{repository}/manifests/{tag}")[0])
    listed = sorted(f"{address}/{repository}@{m['digest']}" for m in index["manifests"])
    assert listed == sorted(s["reference"] for s in item["signatures"])
    types = {"https://sigstore.dev/cosign/sign/v1", "https://spdx.dev/Document",
             "https://cyclonedx.org/bom", provenance.PREDICATE_TYPE,
             rebuild.PREDICATE_TYPE} | ({OPENVEX} if "vex" in item else set())  # fmt: skip
    assert sorted(s["predicateType"] for s in item["signatures"]) == sorted(types)
    for entry in index["manifests"]:
        manifest = json.loads(
            registry_get(address, f"{repository}/manifests/{entry['digest']}")[0]
        )
        assert manifest["subject"]["digest"] == digest
        assert manifest["artifactType"] == BUNDLE
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false",
         f"docker://{address}/{repository}:{tag}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert raw.returncode == 0, raw.stderr
    assert json.loads(raw.stdout) == index
    tree = subprocess.run(
        ["cosign", "tree", "--allow-insecure-registry",
         f"{address}/{repository}@{digest}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert tree.returncode == 0, tree.stderr
    for predicate_type in types:
        assert f"{predicate_type} artifacts via OCI referrer" in tree.stdout


def check_vex(document: dict, item: dict, manifest: dict) -> None:
    """The VEX of a slim image: about its index and platforms, at the commit's
    time, with the statements the sample advisories call for."""
    assert document["@context"] == "https://openvex.dev/ns/v0.2.0"
    assert document["timestamp"] == manifest["build_time"]
    statuses = {
        s["vulnerability"]["name"]: (s["status"], s.get("justification", ""))
        for s in document["statements"]
    }
    # tarfile.py is left out of every slim image; libexpat ships in each.
    assert statuses["CVE-2024-6232"] == ("not_affected", "vulnerable_code_not_present")
    assert statuses["CVE-2024-45490"] == ("affected", "")
    ids = {p["@id"] for s in document["statements"] for p in s["products"]}
    assert any(item["index_digest"][7:] in i for i in ids)
    for platform_digest in item["platforms"].values():
        assert any(platform_digest[7:] in i for i in ids)


def test_release_then_verify_from_outside(tmp: Path, checkout: Path, key: Path) -> None:
    pub = key.with_suffix(".pub")
    work, out = tmp / "work", tmp / "out"
    with registry() as address:
        result = run_release(
            ["--registry", f"{address}/team", "--key", str(key), "--version", VERSION,
             "--workspace", str(checkout), "--work-dir", str(work), "--output", str(out),
             "--advisories", str(ADVISORIES)],
        )  # fmt: skip
        print(result.stderr[-6000:])
        assert result.returncode == 0, result.stderr[-6000:]
        assert "reproducible, signed, verified" in result.stdout

        manifest = json.loads((out / "release-manifest.json").read_text())
        images = {item["image"]: item for item in manifest["images"]}
        # Every image the build lists (images/services.bzl), nothing else.
        assert sorted(images) == sorted(image_list.read(RUNFILES / image_list.PATH))
        assert {"hello", "hello_debug", "hello_slim"} <= set(images)
        assert manifest["version"] == VERSION
        for name, item in images.items():
            repository = f"team/{name}"
            digest = item["index_digest"]
            # Pushed by digest, tagged with the version, platforms as built.
            assert remote_digest(address, repository, VERSION) == digest
            assert sorted(item["platforms"]) == ["linux/amd64", "linux/arm64/v8"]
            for platform_digest in item["platforms"].values():
                assert (
                    remote_digest(address, repository, platform_digest)
                    == platform_digest
                )
            check_referrers(address, repository, digest, item)
            ref = f"{address}/{repository}@{digest}"
            verify = ["--key", str(pub), "--insecure-ignore-tlog=true",
                      "--allow-insecure-registry"]  # fmt: skip
            # A consumer's verification, from outside the tool, by tag too.
            assert cosign("verify", *verify, ref).returncode == 0
            assert (
                cosign(
                    "verify", *verify, f"{address}/{repository}:{VERSION}"
                ).returncode
                == 0
            )
            attested = cosign("verify-attestation", *verify, "--type", "spdxjson", ref)
            assert attested.returncode == 0, attested.stderr
            envelope = json.loads(attested.stdout.splitlines()[0])
            statement = json.loads(base64.b64decode(envelope["payload"]))
            sbom = json.loads((out / item["sbom"]).read_text())
            assert statement["predicate"] == sbom
            assert sbom["spdxVersion"] == "SPDX-2.3"
            assert sbom["packages"][0]["versionInfo"] == VERSION
            # The CycloneDX SBOM and the SLSA provenance, verified the same way.
            # The rebuild attestation, and the VEX of the slim images (only).
            assert ("vex" in item) == name.endswith("_slim"), sorted(item)
            kinds = [
                ("cyclonedx", item["cyclonedx"]),
                ("slsaprovenance1", item["provenance"]),
                (rebuild.PREDICATE_TYPE, item["rebuild"]),
            ]
            if "vex" in item:
                kinds.append(("openvex", item["vex"]))
            for kind, path in kinds:
                attested = cosign("verify-attestation", *verify, "--type", kind, ref)
                assert attested.returncode == 0, attested.stderr
                written = json.loads((out / path).read_text())
                expected = written.get("predicate", written)
                release.check_attestation(attested.stdout, digest, expected, ref)
            statement = json.loads((out / item["provenance"]).read_text())
            assert statement["subject"] == [
                {"name": f"{address}/{repository}", "digest": {"sha256": digest[7:]}}
            ]
            predicate = statement["predicate"]
            assert predicate["buildDefinition"]["externalParameters"]["image"] == name
            assert predicate["runDetails"]["byproducts"] == sorted(
                (
                    {
                        "name": item[k],
                        "digest": {"sha256": item[k + "_sha256"]},
                        "mediaType": t,
                    }
                    for k, t in (
                        ("sbom", "application/spdx+json"),
                        ("cyclonedx", "application/vnd.cyclonedx+json"),
                    )
                ),
                key=lambda b: b["name"],
            )
            assert predicate["runDetails"]["builder"]["version"]["bazel"] == "7.7.1"
            # What the second build was and every digest it matched.
            rebuilt = json.loads((out / item["rebuild"]).read_text())
            assert rebuilt["matched"] is True and rebuilt["image"] == name
            assert [
                (e["name"], e["first"], e["rebuild"]) for e in rebuilt["compared"]
            ] == [
                ("index", digest, digest),
                *((p, d, d) for p, d in sorted(item["platforms"].items())),
            ]
            assert rebuilt["rebuild"]["builder"] == {
                "id": provenance.BUILDER_ID,
                "bazel": "7.7.1",
                "buildRoot": predicate["runDetails"]["builder"]["version"]["buildRoot"],
            }
            assert rebuilt["source"] == {
                "commit": manifest["revision"],
                "version": VERSION,
            }
            if "vex" in item:
                check_vex(json.loads((out / item["vex"]).read_text()), item, manifest)

        # Stamped: the version label and hello's build_info.json (/version).
        layout = work / "stamped" / "bazel-bin" / "images" / "hello"
        info = json.loads(layer_file(layout, "app/hello/build_info.json") or b"null")
        assert info == {
            "version": VERSION,
            "revision": manifest["revision"],
            "build_time": manifest["build_time"],
        }

        # A provenance naming another digest does not verify: hello's verified
        # attestations carry hello's provenance, not hello_debug's, and are
        # about hello's digest, not hello_debug's.
        hello, debug = images["hello"], images["hello_debug"]
        hello_ref = f"{address}/team/hello@{hello['index_digest']}"
        attested = cosign(
            "verify-attestation", *verify, "--type", "slsaprovenance1", hello_ref
        )
        assert attested.returncode == 0, attested.stderr
        debug_provenance = json.loads((out / debug["provenance"]).read_text())
        with pytest.raises(release.ReleaseError, match="no verified attestation"):
            release.check_attestation(
                attested.stdout,
                hello["index_digest"],
                debug_provenance["predicate"],
                hello_ref,
            )
        hello_provenance = json.loads((out / hello["provenance"]).read_text())
        with pytest.raises(release.ReleaseError, match="no verified attestation"):
            release.check_attestation(
                attested.stdout,
                debug["index_digest"],
                hello_provenance["predicate"],
                hello_ref,
            )
        # A tampered predicate (edited in the registry, its signature kept) fails
        # cosign's verification; the SBOM attestations beside it still verify.
        # (Each verified above, unedited.) The provenance of hello_debug, the
        # rebuild attestation of items (a digest it did not match), the VEX of
        # hello_slim (an affected statement turned not_affected).
        for image, kind, predicate_type, edit in (
            ("hello_debug", "slsaprovenance1", provenance.PREDICATE_TYPE,
             edit_provenance),
            ("items", rebuild.PREDICATE_TYPE, rebuild.PREDICATE_TYPE, edit_rebuild),
            ("hello_slim", "openvex", OPENVEX, edit_vex),
        ):  # fmt: skip
            digest = images[image]["index_digest"]
            assert (
                tamper_attestation(
                    address, f"team/{image}", digest, predicate_type, edit
                )
                == 1
            )
            ref = f"{address}/team/{image}@{digest}"
            verify_fails_after_tamper(verify, ref, kind, predicate_type)
            assert (
                cosign(
                    "verify-attestation", *verify, "--type", "spdxjson", ref
                ).returncode
                == 0
            )

        # Re-point the version tag of hello at a digest nobody signed (its amd64
        # manifest): verifying the tag now fails, clearly.
        amd64 = hello["platforms"]["linux/amd64"]
        subprocess.run(
            ["crane", "tag", "--insecure", f"{address}/team/hello@{amd64}", VERSION],
            check=True, capture_output=True,
        )  # fmt: skip
        assert remote_digest(address, "team/hello", VERSION) == amd64
        moved = cosign("verify", *verify, f"{address}/team/hello:{VERSION}")
        print(moved.stderr)
        assert moved.returncode != 0
        assert "no signatures found" in moved.stderr
        # The digest the release manifest names still verifies.
        assert (
            cosign(
                "verify", *verify, f"{address}/team/hello@{hello['index_digest']}"
            ).returncode
            == 0
        )


def test_unreachable_registry_stops_before_building(
    tmp: Path, checkout: Path, key: Path
) -> None:
    address = f"127.0.0.1:{free_port()}"
    work = tmp / "work-unreachable"
    result = run_release(
        ["--registry", f"{address}/team", "--key", str(key),
         "--workspace", str(checkout), "--work-dir", str(work)], timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"registry {address} is not reachable" in result.stderr
    assert "Nothing was built, pushed or tagged" in result.stderr
    assert not (work / "stamped").exists()


def test_wrong_password_pushes_and_tags_nothing(
    tmp: Path, checkout: Path, key: Path
) -> None:
    with registry() as address:
        result = run_release(
            ["--registry", f"{address}/team", "--key", str(key),
             "--workspace", str(checkout), "--work-dir", str(tmp / "work-password")],
            password="not-the-password", timeout=300,
        )  # fmt: skip
        assert result.returncode == 1
        assert f"cannot open signing key {key}" in result.stderr
        assert "COSIGN_PASSWORD" in result.stderr
        assert catalog(address) == []


def test_missing_key_is_named(tmp: Path, checkout: Path) -> None:
    missing = tmp / "nowhere" / "cosign.key"
    result = run_release(
        ["--registry", "127.0.0.1:1/team", "--key", str(missing),
         "--workspace", str(checkout)], timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"signing key {missing} does not exist" in result.stderr
    assert "cosign generate-key-pair" in result.stderr
