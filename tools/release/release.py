"""Cut a release: build stamped, prove reproducible, SBOM, push, sign, verify, tag.

    bazel run //tools/release -- --registry HOST[:PORT]/PREFIX --key cosign.key
        [--image NAME]... [--tag T]... [--output DIR] [--work-dir DIR]
        [--workspace DIR] [--version V] [--advisories ADVISORIES.json]

Steps; the first failure stops the release (exit 1) with a message naming the step:
 0. preflight: cosign and crane present, the key opens with $COSIGN_PASSWORD, the
    registry answers /v2/ -- before anything is built;
 1. stamped build of the images (every image in the list the build writes,
    //images:images_list, or --image NAME...) in an output base of its own, so the
    user's bazel-bin and concurrent builds are left alone;
 2. a second build, from a copy of the checkout at another path, in another output
    base with no cache of outputs; every index and manifest digest must be equal,
    else the image, platform, layer and first differing files are named, and
    nothing is pushed or signed; rebuild.py writes what was compared;
 3. an SPDX 2.3 and a CycloneDX 1.6 SBOM per image (sbom.py), from what the image
    ships and the locks, its SLSA v1 provenance (provenance.py: source, build
    type and command, builder, every pinned input it ships, the SBOMs), its
    rebuild attestation (rebuild.py) and, with --advisories, an OpenVEX document
    per slim image (vex.py, from its py_slim reports);
 4. push by digest (nothing is tagged yet);
 5. cosign sign of each index, and attestations: the SBOMs (spdxjson, cyclonedx),
    the provenance (slsaprovenance1), the rebuild (rebuild.PREDICATE_TYPE) and
    the VEX (openvex), attached as OCI 1.1 referrers;
 6. cosign verify and verify-attestation of each (the attested predicate must be
    the one written, about this digest);
 7. only then the tags (the version, and --tag), then release-manifest.json in
    --output and a summary. So a tag never points at an unsigned or unverified
    image, and a failed release leaves no tag.

The stamp values (version, revision, commit time) come from
tools/stamping/workspace_status.sh run in the checkout once, and are passed to both
builds, so the copy (which has no .git) is stamped the same.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import image_list
import provenance
import rebuild
import sbom
import vex
from nested_bazel import NestedBazel, bazel_binary, copy_checkout, remove_tree
from push import PushError, run_crane, single_entry_view, top_descriptor

BUILD_TIMEOUT = 3600  # seconds per build; a cold build of every image takes minutes.
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ReleaseError(Exception):
    """A step failed; the message says which, why, and what to do."""


@dataclass(frozen=True)
class Built:
    name: str
    layout: Path


STARTED = time.monotonic()


def step(number: int | str, text: str) -> None:
    elapsed = time.monotonic() - STARTED
    print(f"release: [{number}] {text} ({elapsed:.0f} s)", file=sys.stderr, flush=True)


def is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    return name in ("localhost", "127.0.0.1", "[::1]") or name.startswith("127.")


# --- 0. preflight --------------------------------------------------------------------


def find_tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ReleaseError(
            f"{name} is not installed (Debian: apt-get install {package}); the build "
            "root of ./tools/bazel has it: run the release with ./tools/bazel run"
        )
    return path


def check_registry(registry: str, insecure: bool) -> None:
    host = registry.split("/", 1)[0]
    scheme = "http" if is_loopback(host) or insecure else "https"
    url = f"{scheme}://{host}/v2/"
    try:
        urllib.request.urlopen(url, timeout=10).close()
    except urllib.error.HTTPError as err:
        if (
            err.code != 401
        ):  # 401: reachable, wants credentials (crane/cosign have them).
            raise ReleaseError(
                f"registry {host} answered {err.code} to GET {url}: is --registry "
                "right (HOST[:PORT]/PREFIX)?"
            ) from None
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise ReleaseError(
            f"registry {host} is not reachable ({url}: {reason}); start it or fix "
            "--registry. Nothing was built, pushed or tagged."
        ) from None


def public_key(cosign: str, key: Path, out: Path) -> None:
    if not key.is_file():
        raise ReleaseError(
            f"signing key {key} does not exist; create a pair with `cosign "
            "generate-key-pair` (keep cosign.key secret, publish cosign.pub) and pass "
            "--key cosign.key"
        )
    if "COSIGN_PASSWORD" not in os.environ:
        raise ReleaseError(
            f"COSIGN_PASSWORD is not set: export the password of {key} (empty if it "
            "has none) so that cosign can sign without asking"
        )
    result = subprocess.run(
        [cosign, "public-key", "--key", str(key), "--outfile", str(out)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        detail = last_line(result.stderr)
        raise ReleaseError(
            f"cannot open signing key {key}: {detail}; is COSIGN_PASSWORD its password?"
        )


def last_line(text: str) -> str:
    lines = [
        line
        for line in text.strip().splitlines()
        if line.strip() and not line.startswith("WARNING")
    ]
    return lines[-1] if lines else "(no output)"


# --- 1, 2. builds --------------------------------------------------------------------


def stamp_values(workspace: Path, version: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if version:
        env["STAMP_VERSION"] = version
    result = subprocess.run(
        [str(workspace / "tools/stamping/workspace_status.sh")],
        cwd=workspace, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    values = dict(
        line.split(" ", 1) for line in result.stdout.splitlines() if " " in line
    )
    return values


def stamp_env(values: dict[str, str]) -> dict[str, str]:
    return {
        "STAMP_VERSION": values["STABLE_VERSION"],
        "STAMP_GIT_REVISION": values["STABLE_GIT_REVISION"],
        "STAMP_BUILD_EPOCH": values["STABLE_SOURCE_DATE_EPOCH"],
    }


@dataclass(frozen=True)
class Build:
    layouts: dict[str, Path]  # image -> its OCI layout
    reports: dict[str, list[Path]]  # slim image -> its py_slim reports


def build(
    checkout: Path,
    work: Path,
    name: str,
    wanted: list[str],
    values: dict[str, str],
    disk_cache: bool,
    reports: bool = False,
) -> Build:
    """Build the images stamped in their own output base.

    First the list of images the build writes (image_list.TARGET): `wanted`
    must be in it, and no `wanted` means every image in it. With `reports`,
    the same build makes the slim images' py_slim reports (for the VEX).
    """
    links = work / name / "bazel-"
    rc = [f"build --symlink_prefix={links}"]
    cache = os.environ.get("TOOLS_BAZEL_CACHE")
    if disk_cache and cache:
        # The user's disk cache: unstamped actions (every layer) are cache hits.
        rc.append(f"common --disk_cache={cache}/disk_cache")
    bin_dir = Path(str(links) + "bin")
    with NestedBazel(
        checkout, work, name, rc_lines=rc, output_caches=disk_cache
    ) as nested:
        nested.env.update(stamp_env(values))
        stamped_build(nested, checkout, [image_list.TARGET])
        try:
            listed = image_list.read(bin_dir.resolve() / image_list.PATH)
            images = image_list.select(listed, wanted)
            slim = image_list.slim_reports(bin_dir.resolve() / image_list.PATH)
        except image_list.ImageListError as err:
            raise ReleaseError(f"the images of {checkout}: {err}") from None
        report_targets = {i: slim[i] for i in images if i in slim} if reports else {}
        stamped_build(
            nested,
            checkout,
            [f"//images:{image}" for image in images]
            + sorted(set(report_targets.values())),
        )
    found = {}
    for image, target in report_targets.items():
        # py_slim_reports (tools/py_slim): NAME/ARCH.report.txt.
        package, _, base = target.removeprefix("//").partition(":")
        paths = sorted((bin_dir.resolve() / package / base).glob("*.report.txt"))
        if not paths:
            raise ReleaseError(f"{image}: {target} was built but no report found")
        found[image] = paths
    return Build(
        {image: bin_dir.resolve() / "images" / image for image in images}, found
    )


def stamped_build(nested: NestedBazel, checkout: Path, targets: list[str]) -> None:
    result = nested.run("build", "--config=release", *targets, timeout=BUILD_TIMEOUT)
    if result.returncode != 0:
        raise ReleaseError(
            f"bazel build --config=release {' '.join(targets)} in {checkout} "
            f"failed (exit {result.returncode}):\n{result.stderr[-4000:]}"
        )
    print(last_line(result.stderr), file=sys.stderr)


# --- 4-7. registry -------------------------------------------------------------------


def cosign_run(cosign: str, step_text: str, args: list[str]) -> str:
    result = subprocess.run(
        [cosign, *args], capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    if result.returncode != 0:
        raise ReleaseError(f"{step_text} failed: {last_line(result.stderr)}")
    return result.stdout


INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"  # cosign 3's


def registry_json(
    crane: str, common: list[str], repository: str, path: str, insecure: bool
) -> tuple[Any, str]:
    """GET /v2/NAME/PATH as JSON, and the answer's Content-Type; without
    credentials first, else through crane (which has them) for manifests.
    Raises PushError when neither finds it."""
    host, _, name = repository.partition("/")
    scheme = "http" if insecure else "https"
    request = urllib.request.Request(
        f"{scheme}://{host}/v2/{name}/{path}",
        headers={"Accept": f"{INDEX_MEDIA_TYPE}, {MANIFEST_MEDIA_TYPE}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response), response.headers.get("Content-Type", "")
    except (OSError, ValueError):
        kind, _, reference = path.partition("/")
        if kind != "manifests":
            raise PushError(f"GET {request.full_url} failed") from None
    separator = "@" if reference.startswith("sha256:") else ":"
    text = run_crane(
        crane, "reading a manifest", repository,
        ["manifest", *common, f"{repository}{separator}{reference}"],
    )  # fmt: skip
    return json.loads(text), ""


def attached(
    crane: str, common: list[str], repository: str, digest: str, insecure: bool
) -> dict[str, Any]:
    """The signature and attestation manifests attached to `digest` (OCI 1.1
    referrers: cosign pushes each with `subject` = the index and an
    `artifactType`), and how the registry lists them: "referrers-api" (GET
    /v2/NAME/referrers/DIGEST), or, where it has none (404, as Debian's
    docker-registry 2.8) or wants credentials, "referrers-tag": the tag
    schema's index at the tag sha256-HEX, which cosign keeps up to date.
    Each is read for its artifactType, subject and predicate type (cosign's
    tag-schema index gives the config's media type as artifactType)."""
    how, index = "referrers-api", None
    try:
        index, content_type = registry_json(
            crane, common, repository, f"referrers/{digest}", insecure
        )
        if not content_type.startswith(INDEX_MEDIA_TYPE):
            index = None
    except PushError:
        pass  # 404: no Referrers API; 401/403: crane has the credentials.
    if index is None:
        how = "referrers-tag"
        try:
            index, _ = registry_json(
                crane, common, repository,
                f"manifests/{digest.replace(':', '-')}", insecure,
            )  # fmt: skip
        except PushError:
            index = {}
    signatures = []
    for entry in index.get("manifests", []):
        manifest, _ = registry_json(
            crane, common, repository, f"manifests/{entry['digest']}", insecure
        )
        signatures.append(
            {
                "artifactType": manifest.get("artifactType", ""),
                "predicateType": (manifest.get("annotations") or {}).get(
                    PREDICATE_ANNOTATION, ""
                ),
                "reference": f"{repository}@{entry['digest']}",
                "subject": (manifest.get("subject") or {}).get("digest", ""),
            }
        )
    signatures.sort(key=lambda s: (s["predicateType"], s["reference"]))
    return {"signatures": signatures, "referrers": how}


def version_tag(version: str) -> str:
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", version).lstrip(".-")[:128]
    return tag or "0.0.0-dev"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--registry", required=True, help="HOST[:PORT]/PREFIX")
    parser.add_argument("--key", type=Path, help="cosign private key (cosign.key)")
    parser.add_argument("--image", action="append", default=[], help="only NAME")
    parser.add_argument("--tag", action="append", default=[], help="extra tag")
    parser.add_argument("--version", help="override the version (default: git)")
    parser.add_argument("--workspace", type=Path, help="default: the checkout")
    parser.add_argument("--output", type=Path, help="default: WORKSPACE/dist/VERSION")
    parser.add_argument("--work-dir", type=Path, help="output bases and the copy")
    parser.add_argument("--insecure", action="store_true", help="plain HTTP registry")
    parser.add_argument(
        "--advisories",
        type=Path,
        help="advisories JSON (vex.py): an OpenVEX document per slim image",
    )
    return parser.parse_args(argv)


def resolve(path: Path | None, base: Path) -> Path | None:
    return None if path is None else (base / path).resolve()


def release(args: argparse.Namespace) -> dict[str, Any]:
    invoked_from = Path(os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd()))
    workspace = resolve(args.workspace, invoked_from) or Path(
        os.environ.get("BUILD_WORKSPACE_DIRECTORY", "")
    )
    if not (workspace / "MODULE.bazel").is_file():
        raise ReleaseError(
            f"{workspace} is not the checkout: run ./tools/bazel run //tools/release, "
            "or give --workspace"
        )
    registry = args.registry.rstrip("/")
    if "/" not in registry:
        raise ReleaseError(
            f"--registry {registry}: expected HOST[:PORT]/PREFIX, e.g. "
            "registry.example.com/team"
        )
    if args.key is None:
        raise ReleaseError(
            "no signing key: pass --key cosign.key (create one with `cosign "
            "generate-key-pair`); keyless signing is in docs/RELEASING.md"
        )
    key = resolve(args.key, invoked_from)
    assert key is not None
    for tag in args.tag:
        if not TAG_RE.match(tag):
            raise ReleaseError(f"--tag {tag!r} is not a valid OCI tag")
    cache = os.environ.get("TOOLS_BAZEL_CACHE")
    work = (
        resolve(args.work_dir, invoked_from)
        or Path(cache or tempfile.gettempdir()) / "release"
    )
    work.mkdir(parents=True, exist_ok=True)
    insecure = args.insecure or is_loopback(registry.split("/", 1)[0])
    crane_common = ["--insecure"] if insecure else []
    cosign_common = ["--allow-insecure-registry"] if insecure else []

    step(0, f"preflight: tools, key {key}, registry {registry}")
    cosign = find_tool("cosign", "cosign")
    crane = find_tool("crane", "crane")
    pub = work / "cosign.pub"
    public_key(cosign, key, pub)
    check_registry(registry, args.insecure)
    values = stamp_values(workspace, args.version)
    version = values["STABLE_VERSION"]
    tags = [version_tag(version), *args.tag]
    output = resolve(args.output, invoked_from) or workspace / "dist" / version_tag(
        version
    )
    print(
        f"release: version {version}, revision {values['STABLE_GIT_REVISION']}, "
        f"built at {values['STABLE_BUILD_TIME']}",
        file=sys.stderr,
    )

    advisories = None
    if args.advisories is not None:
        try:
            advisories = vex.read_advisories(resolve(args.advisories, invoked_from))
        except vex.VexError as err:
            raise ReleaseError(str(err)) from None
    builder = provenance.Builder(bazel_version(), build_root_key(workspace))
    source_commit = values["STABLE_GIT_REVISION"]

    step(1, "stamped build")
    built = build(
        workspace, work, "stamped", args.image, values, disk_cache=True,
        reports=advisories is not None,
    )  # fmt: skip
    first = built.layouts
    images = list(first)
    print(f"release: images {', '.join(images)}", file=sys.stderr)

    step(2, "reproducibility: a second build from a copy at another path")
    copy = work / "reproduce" / "elsewhere" / "checkout"
    remove_tree(copy.parent)
    copy_checkout(workspace, copy)
    second = build(copy, work, "reproduce", images, values, disk_cache=False).layouts
    rebuilds = reproduce(images, first, second, builder, source_commit, version)
    remove_tree(copy.parent)

    step(3, "SBOMs, provenance, rebuild attestations, VEX")
    output.mkdir(parents=True, exist_ok=True)
    sboms, cyclonedx, provenances = {}, {}, {}
    written: dict[str, dict[str, Path]] = {image: {} for image in images}
    clean = tree_clean(workspace)
    for image in images:
        try:
            document = sbom.image_sbom(
                image,
                first[image],
                workspace / "images" / "debian_packages.lock.json",
                workspace / "requirements_lock.txt",
            )
        except sbom.SbomError as err:
            raise ReleaseError(f"SBOM of {image}: {err}") from None
        path = output / f"{image}.spdx.json"
        path.write_bytes(sbom.dumps(document))
        sboms[image] = path
        cyclonedx[image] = output / f"{image}.cdx.json"
        cyclonedx[image].write_bytes(sbom.dumps(sbom.cyclonedx(document)))
        try:
            statement = provenance.statement(
                image=image,
                repository=f"{registry}/{image}",
                index_digest=top_descriptor(first[image])["digest"],
                version=version,
                build_time=values["STABLE_BUILD_TIME"],
                sbom=document,
                python_lock=workspace / "requirements_lock.txt",
                source=provenance.Source(
                    document["documentNamespace"].split("/spdx/")[0],
                    source_commit,
                    clean,
                ),
                builder=builder,
                command=[
                    "./tools/bazel",
                    "build",
                    "--config=release",
                    f"//images:{image}",
                ],
                byproducts={
                    p.name: p.read_bytes() for p in (sboms[image], cyclonedx[image])
                },
            )
        except provenance.ProvenanceError as err:
            raise ReleaseError(f"provenance of {image}: {err}") from None
        provenances[image] = output / f"{image}.provenance.json"
        provenances[image].write_bytes(provenance.dumps(statement))
        # cosign attest takes the predicate; it writes the statement's subject.
        (work / f"{image}.provenance-predicate.json").write_bytes(
            provenance.dumps(statement["predicate"])
        )
        written[image]["rebuild"] = output / f"{image}.rebuild.json"
        written[image]["rebuild"].write_bytes(rebuild.dumps(rebuilds[image]))
        if advisories is not None and image in built.reports:
            written[image]["vex"] = output / f"{image}.vex.json"
            written[image]["vex"].write_bytes(
                vex_document(
                    image, f"{registry}/{image}", first[image],
                    built.reports[image], document, advisories,
                    values["STABLE_BUILD_TIME"],
                )
            )  # fmt: skip

    entries = {}
    try:
        step(4, f"push by digest to {registry}")
        for image in images:
            repository = f"{registry}/{image}"
            descriptor = top_descriptor(first[image])
            with tempfile.TemporaryDirectory() as tmp:
                view = single_entry_view(first[image], descriptor, Path(tmp))
                run_crane(
                    crane, f"pushing {image} by digest", registry,
                    ["push", *crane_common, str(view), f"{repository}@{descriptor['digest']}"],
                )  # fmt: skip
            entries[image] = (repository, descriptor["digest"])

        step(5, "sign and attest (cosign)")
        signing_config = work / "signing-config.json"
        # Key-based, no transparency log: works offline (docs/RELEASING.md).
        cosign_run(
                cosign, "creating a cosign signing config",
                ["signing-config", "create", "--no-default-fulcio", "--no-default-rekor",
                 "--no-default-oidc", "--no-default-tsa", "--out", str(signing_config)],
            )  # fmt: skip
        sign = ["--key", str(key), "--signing-config", str(signing_config), "--yes"]

        def sign_and_attest(image: str, repository: str, digest: str) -> None:
            ref = f"{repository}@{digest}"
            cosign_run(cosign, f"signing {ref}", ["sign", *sign, *cosign_common, ref])
            for kind, predicate in attestations(work, image, sboms, cyclonedx, written):
                cosign_run(
                    cosign, f"attesting the {kind} of {image} on {ref}",
                    ["attest", *sign, *cosign_common, "--type", kind,
                     "--predicate", str(predicate), ref],
                )  # fmt: skip

        each_image(entries, sign_and_attest)

        step(6, "verify signatures and attestations")
        verify = ["--key", str(pub), "--insecure-ignore-tlog=true", *cosign_common]

        def check(image: str, repository: str, digest: str) -> None:
            ref = f"{repository}@{digest}"
            cosign_run(
                cosign, f"verifying the signature of {ref}", ["verify", *verify, ref]
            )
            for kind, predicate in attestations(work, image, sboms, cyclonedx, written):
                out = cosign_run(
                    cosign, f"verifying the {kind} attestation of {ref}",
                    ["verify-attestation", *verify, "--type", kind, ref],
                )  # fmt: skip
                check_attestation(out, digest, json.loads(predicate.read_text()), ref)

        each_image(entries, check)

        step(7, f"tag: {', '.join(tags)}")
        for image, (repository, digest) in entries.items():
            for tag in tags:
                run_crane(
                    crane, f"tagging {image} {digest} as {tag}", registry,
                    ["tag", *crane_common, f"{repository}@{digest}", tag],
                )  # fmt: skip
    except PushError as err:
        raise ReleaseError(str(err)) from None

    manifest: dict[str, Any] = {
        "version": version,
        "revision": values["STABLE_GIT_REVISION"],
        "build_time": values["STABLE_BUILD_TIME"],
        "registry": registry,
        "public_key": pub.read_text(),
        "images": [],
    }
    for image, (repository, digest) in entries.items():
        platforms = {
            platform: manifest_digest
            for platform, _, manifest_digest in sbom.platform_manifests(first[image])
        }
        manifest["images"].append(
            {
                "image": image,
                "repository": repository,
                "tags": tags,
                "index_digest": digest,
                "platforms": platforms,
                "sbom": sboms[image].name,
                "sbom_sha256": hashlib.sha256(sboms[image].read_bytes()).hexdigest(),
                "cyclonedx": cyclonedx[image].name,
                "cyclonedx_sha256": hashlib.sha256(
                    cyclonedx[image].read_bytes()
                ).hexdigest(),
                "provenance": provenances[image].name,
                "provenance_sha256": hashlib.sha256(
                    provenances[image].read_bytes()
                ).hexdigest(),
                **{
                    f"{kind}{suffix}": value
                    for kind, path in written[image].items()
                    for suffix, value in (
                        ("", path.name),
                        ("_sha256", hashlib.sha256(path.read_bytes()).hexdigest()),
                    )
                },
                **attached(crane, crane_common, repository, digest, insecure),
            }
        )
    (output / "release-manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    )
    (output / "cosign.pub").write_text(pub.read_text())
    print(
        f"release {version} ({values['STABLE_GIT_REVISION'][:12]}): reproducible, signed, verified"
    )
    for item in manifest["images"]:
        print(f"  {item['repository']}:{tags[0]}  {item['index_digest']}")
    print(f"  manifest: {output / 'release-manifest.json'}")
    return manifest


# Images signed and verified at once: each is its own repository, and cosign
# mostly waits on the registry.
PARALLEL_IMAGES = 4


def each_image(
    entries: dict[str, tuple[str, str]], work: Callable[[str, str, str], None]
) -> None:
    """work(image, repository, digest) for every image, PARALLEL_IMAGES at a
    time. One image's commands stay in order: each cosign push rewrites that
    image's referrers (the tag schema's index). The first error is raised,
    after the others have finished."""
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_IMAGES) as pool:
        futures = [pool.submit(work, image, *entry) for image, entry in entries.items()]
        for future in futures:
            future.result()


def attestations(
    work: Path,
    image: str,
    sboms: dict[str, Path],
    cyclonedx: dict[str, Path],
    written: dict[str, dict[str, Path]],
) -> list[tuple[str, Path]]:
    """(cosign --type, predicate file) of each attestation of an image."""
    found = [
        ("spdxjson", sboms[image]),
        ("cyclonedx", cyclonedx[image]),
        ("slsaprovenance1", work / f"{image}.provenance-predicate.json"),
        (rebuild.PREDICATE_TYPE, written[image]["rebuild"]),
    ]
    if "vex" in written[image]:
        found.append(("openvex", written[image]["vex"]))
    return found


def reproduce(
    images: list[str],
    first: dict[str, Path],
    second: dict[str, Path],
    builder: provenance.Builder,
    source_commit: str,
    version: str,
) -> dict[str, dict[str, Any]]:
    """The rebuild predicate of every image; ReleaseError, before anything is
    pushed or signed, naming every image that differs, if one does."""
    predicates, differences = {}, []
    for image in images:
        try:
            predicates[image] = rebuild.predicate(
                image=image,
                first=first[image],
                second=second[image],
                builder=builder,
                command=["./tools/bazel", "build", "--config=release",
                         f"//images:{image}"],
                source_commit=source_commit,
                version=version,
            )  # fmt: skip
        except rebuild.RebuildError as err:
            differences.append(str(err))
    if differences:
        raise ReleaseError(
            "the two builds differ, so the release is not reproducible; nothing "
            "was pushed, signed or tagged:\n  " + "\n  ".join(differences)
        )
    return predicates


def vex_document(
    image: str,
    repository: str,
    layout: Path,
    reports: list[Path],
    document: dict[str, Any],
    advisories: list[vex.Advisory],
    build_time: str,
) -> bytes:
    try:
        return vex.dumps(
            vex.document(
                image=image,
                repository=repository,
                index_digest=top_descriptor(layout)["digest"],
                manifests={
                    platform.split("/")[1]: digest
                    for platform, _, digest in sbom.platform_manifests(layout)
                },
                reports=[vex.read_report(p.read_text(), str(p)) for p in reports],
                sbom=document,
                advisories=advisories,
                timestamp=build_time,
            )
        )
    except vex.VexError as err:
        raise ReleaseError(f"VEX of {image}: {err}") from None


def bazel_version() -> str:
    """The version of the Bazel that builds ("7.7.1")."""
    binary, _ = bazel_binary()
    result = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    version = result.stdout.strip().removeprefix("bazel ")
    if result.returncode != 0 or not version:
        raise ReleaseError(f"`{binary} --version` failed: {last_line(result.stderr)}")
    return version


def build_root_key(workspace: Path) -> str:
    """tools/bazel's name of the build root it entered, or "host" outside one
    (the same key as tools/remote_exec/build_root_key.py)."""
    if os.environ.get("TOOLS_BAZEL_IN_BUILD_ROOT") != "1":
        return "host"
    files = ("tools/buildroot/packages.txt", "tools/buildroot/provision.sh")
    data = b"".join((workspace / name).read_bytes() for name in files)
    return hashlib.sha256(data).hexdigest()[:16]


def tree_clean(workspace: Path) -> bool | None:
    """Whether the checkout has no uncommitted change to tracked files (as `git
    describe --dirty`); None when it is not a git checkout (a copy)."""
    if not (workspace / ".git").exists() or shutil.which("git") is None:
        return None
    result = subprocess.run(
        ["git", "-c", "safe.directory=*", "status", "--porcelain",
         "--untracked-files=no"],
        cwd=workspace, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return None if result.returncode != 0 else result.stdout.strip() == ""


def check_attestation(out: str, digest: str, expected: Any, ref: str) -> None:
    """A verified attestation (cosign verify-attestation's output) is about this
    digest and carries this predicate; else ReleaseError."""
    for line in filter(None, out.splitlines()):
        envelope = json.loads(line)
        statement = json.loads(base64.b64decode(envelope["payload"]))
        subjects = [s["digest"].get("sha256") for s in statement.get("subject", [])]
        if (
            digest.removeprefix("sha256:") in subjects
            and statement.get("predicate") == expected
        ):
            return
    raise ReleaseError(
        f"no verified attestation of {ref} is about {digest} and carries the "
        "predicate written in dist/"
    )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        release(args)
    except ReleaseError as err:
        print(f"release: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
