"""compare.py: equal builds pass; a difference is named down to the file."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import compare
import zstandard

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _blob(root: Path, data: bytes, media_type: str) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def _layer(files: dict[str, bytes], compression: str = "gzip") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(out.getvalue())
    return gzip.compress(out.getvalue(), mtime=0)


def make_layout(
    root: Path, app: bytes, compression: str = "gzip", top_level: int = 0
) -> Path:
    """A two-platform index; `compression` of every layer, gzip's `top_level`
    of the app layer's (another level: other bytes, same files)."""
    layer_type = f"application/vnd.oci.image.layer.v1.tar+{compression}"
    manifests = []
    for arch in ("amd64", "arm64"):
        base = _blob(
            root, _layer({"etc/os-release": b"debian"}, compression), layer_type
        )
        files = {"app/a.py": b"a", "app/b.py": app if arch == "arm64" else b"b"}
        top_blob = _layer(files, compression)
        if top_level:
            top_blob = gzip.compress(gzip.decompress(top_blob), top_level, mtime=0)
        top = _blob(root, top_blob, layer_type)
        config = _blob(
            root,
            json.dumps({"architecture": arch, "os": "linux"}).encode(),
            "application/vnd.oci.image.config.v1+json",
        )
        manifest = _blob(
            root,
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": MANIFEST,
                    "config": config,
                    "layers": [base, top],
                }
            ).encode(),
            MANIFEST,
        )
        manifests.append(
            {**manifest, "platform": {"architecture": arch, "os": "linux"}}
        )
    index = _blob(
        root,
        json.dumps(
            {"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}
        ).encode(),
        INDEX,
    )
    (root / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "manifests": [index]})
    )
    return root


def test_equal_builds_have_no_mismatch(tmp_path: Path) -> None:
    a = make_layout(tmp_path / "a", b"b")
    b = make_layout(tmp_path / "b", b"b")
    assert compare.compare_image("img", a, b) == []


def test_mismatch_names_image_platform_layer_and_file(tmp_path: Path) -> None:
    a = make_layout(tmp_path / "a", b"b")
    b = make_layout(tmp_path / "b", b"B")
    found = compare.compare_image("img", a, b)
    messages = "\n".join(m.message for m in found)
    assert messages.startswith("img: index digest sha256:")
    assert "img linux/arm64: manifest sha256:" in messages
    assert "layer 1 sha256:" in messages
    assert "first differing files: /app/b.py (content)" in messages
    assert "linux/amd64" not in messages


def test_a_layer_compressed_otherwise_is_named_with_both_media_types(
    tmp_path: Path,
) -> None:
    a = make_layout(tmp_path / "a", b"b")
    b = make_layout(tmp_path / "b", b"b", compression="zstd")
    messages = "\n".join(m.message for m in compare.compare_image("img", a, b))
    assert (
        "layer 0 is application/vnd.oci.image.layer.v1.tar+gzip in the first build and"
        " application/vnd.oci.image.layer.v1.tar+zstd in the second" in messages
    )
    assert "--//tools/oci:compression" in messages


def test_same_files_other_bytes_point_at_the_compressor(tmp_path: Path) -> None:
    a = make_layout(tmp_path / "a", b"b")
    b = make_layout(tmp_path / "b", b"b", top_level=1)
    messages = "\n".join(m.message for m in compare.compare_image("img", a, b))
    assert "layer 1 sha256:" in messages
    assert "only the compressed bytes differ: check the compressor" in messages
