"""The rebuild attestation: the release's second build, and every digest it matched.

    predicate = rebuild.predicate(image=..., first=LAYOUT, second=LAYOUT,
                                  builder=provenance.Builder(...), command=[...])

The release tool (release.py) builds every image twice: stamped in the checkout,
then from a copy at another path in another output base with no cache. This
module compares the two layouts of one image (compare.py) and, only when every
index and manifest digest is equal, returns the predicate the release attests
with `cosign attest --type PREDICATE_TYPE` (documented in docs/RELEASING.md,
"The rebuild attestation"). When one differs it raises RebuildError, naming the
image, platform, layer and first differing files, and the release signs nothing.

- rebuild: which build it was: the build root key and Bazel version it ran
  with, the command, and how it was kept independent of the first build
  (another checkout path, another output base, no disk cache, stamped from
  the same values, not from .git);
- compared: the index and every platform manifest, each with the digest of
  both builds (equal, or there is no predicate);
- matched: true.

No path, clock, host or user goes in: the same commit gives the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import compare
import provenance
from sbom import platform_manifests, top_index

PREDICATE_TYPE = (
    "https://example.invalid/bazel-python-containers/attestations/rebuild/v1"
)
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
# How the second build is kept apart from the first (release.py, step 2).
INDEPENDENCE = {
    "checkoutPath": "a copy of the checkout's files at another path, without .git",
    "outputBase": "its own, new",
    "diskCache": False,
    "stamp": "the first build's values (version, revision, commit time)",
}


class RebuildError(Exception):
    """The two builds differ; the message names every image and where."""


def compared(image: str, first: Path, second: Path) -> list[dict[str, Any]]:
    """The index and each platform manifest of `image`, with both builds'
    digests; RebuildError when any differs."""
    mismatches = compare.compare_image(image, first, second)
    if mismatches:
        raise RebuildError("\n  ".join(m.message for m in mismatches))
    index_a, index_b = top_index(first)["digest"], top_index(second)["digest"]
    entries = [
        {
            "name": "index",
            "mediaType": INDEX_MEDIA_TYPE,
            "first": index_a,
            "rebuild": index_b,
        }
    ]
    rebuilt = {p: d for p, _, d in platform_manifests(second)}
    for platform, _, digest in sorted(platform_manifests(first)):
        entries.append(
            {
                "name": platform,
                "mediaType": MANIFEST_MEDIA_TYPE,
                "first": digest,
                "rebuild": rebuilt.get(platform, ""),
            }
        )
    # compare_image compared them; this is the record, checked again.
    if any(e["first"] != e["rebuild"] for e in entries):
        raise RebuildError(f"{image}: the digests of the two builds differ")
    return entries


def predicate(
    *,
    image: str,
    first: Path,
    second: Path,
    builder: provenance.Builder,
    command: list[str],
    source_commit: str,
    version: str,
) -> dict[str, Any]:
    """The rebuild predicate of one image (see the module docstring)."""
    return {
        "image": image,
        "source": {"commit": source_commit, "version": version},
        "rebuild": {
            "builder": {
                "id": provenance.BUILDER_ID,
                "bazel": builder.bazel_version,
                "buildRoot": builder.build_root,
            },
            "command": command,
            "independence": INDEPENDENCE,
        },
        "compared": compared(image, first, second),
        "matched": True,
    }


def dumps(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()
