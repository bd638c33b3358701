"""index.py: multi-platform layouts with a nested index and per-platform refs."""

from __future__ import annotations

from pathlib import Path

import ocilib
import pytest
from testlib import (
    Layout,
    assert_layout_consistent,
    build_layer,
    platform_images,
    run_tool,
)

REF = "org.opencontainers.image.ref.name"


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Layout]:
    built = platform_images(tmp_path, ("linux/amd64", "linux/arm64"))
    return {arch: Layout(path) for arch, path in built.items()}


def test_a_manifest_with_zstd_layers_is_marked_in_the_nested_index(
    tmp_path: Path, images: dict[str, Layout]
) -> None:
    zstd = build_layer(
        tmp_path / "layer-zstd",
        [{"path": "etc/arch", "content": "amd64\n"}],
        "--compression",
        "zstd",
    )
    run_tool(
        "image", "--output", tmp_path / "amd64-zstd", "--platform", "linux/amd64",
        "--base", images["amd64"].root, "--layer", zstd.arg,
    )  # fmt: skip
    run_tool(
        "index", "--output", tmp_path / "multi", "--image", tmp_path / "amd64-zstd",
        "--image", images["arm64"].root,
    )  # fmt: skip
    layout = Layout(tmp_path / "multi")
    nested = layout.json_blob(layout.by_ref("latest")["digest"])
    # One zstd layer (on a gzip base) is enough: pulling it needs zstd.
    assert [m.get("annotations") for m in nested["manifests"]] == [
        {"io.github.containers.compression.zstd": "true"},
        None,
    ]


def test_nested_index_and_platform_refs(
    tmp_path: Path, images: dict[str, Layout]
) -> None:
    run_tool(
        "index", "--output", tmp_path / "multi", "--image", images["amd64"].root,
        "--image", images["arm64"].root, "--ref-name", "v2",
        "--annotation", "org.opencontainers.image.revision=abc123",
        "--digest-out", tmp_path / "digest",
    )  # fmt: skip
    layout = Layout(tmp_path / "multi")
    assert_layout_consistent(layout)
    amd, arm = (images[a].index["manifests"][0] for a in ("amd64", "arm64"))

    top = layout.by_ref("v2")
    assert top["mediaType"] == ocilib.MEDIA_TYPE_INDEX
    assert (tmp_path / "digest").read_text() == top["digest"]
    nested = layout.json_blob(top["digest"])
    assert (
        nested["schemaVersion"] == 2 and nested["mediaType"] == ocilib.MEDIA_TYPE_INDEX
    )
    assert nested["annotations"] == {"org.opencontainers.image.revision": "abc123"}
    # In the order given, each with its platform and without the single image's ref name.
    assert nested["manifests"] == [
        {k: v for k, v in amd.items() if k != "annotations"},
        {k: v for k, v in arm.items() if k != "annotations"},
    ]
    assert nested["manifests"][1]["platform"] == {
        "os": "linux",
        "architecture": "arm64",
        "variant": "v8",
    }
    # Flattened refs, so tools that cannot read nested indexes find each platform.
    assert layout.by_ref("v2-linux-amd64") == {
        **amd,
        "annotations": {REF: "v2-linux-amd64"},
    }
    assert layout.by_ref("v2-linux-arm64-v8") == {
        **arm,
        "annotations": {REF: "v2-linux-arm64-v8"},
    }
    assert len(layout.index["manifests"]) == 3
    assert layout.config("v2-linux-arm64-v8")["architecture"] == "arm64"


def test_deterministic(tmp_path: Path, images: dict[str, Layout]) -> None:
    trees = []
    for n in range(2):
        out = tmp_path / f"multi{n}"
        run_tool(
            "index", "--output", out, "--image", images["amd64"].root, "--image",
            images["arm64"].root,
        )  # fmt: skip
        trees.append(
            {
                str(p.relative_to(out)): p.read_bytes()
                for p in out.rglob("*")
                if p.is_file()
            }
        )
    assert trees[0] == trees[1]


def test_duplicate_platform_is_an_error(
    tmp_path: Path, images: dict[str, Layout]
) -> None:
    result = run_tool(
        "index", "--output", tmp_path / "x", "--image", images["amd64"].root,
        "--image", images["arm64"].root, "--image", images["amd64"].root, ok=False,
    )  # fmt: skip
    assert "platform linux/amd64 given twice" in result.stderr


def test_input_must_be_a_single_image(
    tmp_path: Path, images: dict[str, Layout]
) -> None:
    run_tool("index", "--output", tmp_path / "multi", "--image", images["amd64"].root)
    result = run_tool(
        "index", "--output", tmp_path / "x", "--image", tmp_path / "multi", ok=False
    )
    assert "expected one manifest in index.json, found 2" in result.stderr
    result = run_tool(
        "index", "--output", tmp_path / "y", "--image", tmp_path, ok=False
    )
    assert "is not an OCI image layout" in result.stderr


def test_corrupt_blob_is_detected(tmp_path: Path, images: dict[str, Layout]) -> None:
    manifest = images["amd64"].manifest()
    layer_digest = manifest["layers"][0]["digest"]
    blob = images["amd64"].root / "blobs" / "sha256" / layer_digest[7:]
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes() + b"x")
    result = run_tool(
        "index", "--output", tmp_path / "x", "--image", images["amd64"].root, ok=False
    )
    assert "does not match its descriptor" in result.stderr
