"""ocireader.py: nested indexes, platform selection, checked blobs, layers by media type."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from ocireader import Layout, LayoutError, Platform

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
TAR = "application/vnd.oci.image.layer.v1.tar"
GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
REF = "org.opencontainers.image.ref.name"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def zstd_frames(*parts: bytes) -> bytes:
    """Each part a zstd frame of its own, made by the zstd tool (not by zstandard)."""
    zstd = shutil.which("zstd")
    if zstd is None:
        pytest.skip("zstd not installed (apt-get install zstd)")
    return b"".join(
        subprocess.run(
            [zstd, "-q", "-c"], input=part, capture_output=True, check=True
        ).stdout
        for part in parts
    )


def tar_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class Writer:
    """A layout written by hand, so the reader is not checked against ocilib's writer."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        (self.root / "blobs" / "sha256" / sha256(data)[7:]).write_bytes(data)
        return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}

    def json(self, obj: dict[str, Any], media_type: str) -> dict[str, Any]:
        return self.blob(json.dumps(obj).encode(), media_type)

    def image(
        self, arch: str, variant: str = "", layers=(), diff_ids=None
    ) -> dict[str, Any]:
        """layers: (media type, uncompressed tar) pairs; diff_ids: instead of theirs."""
        blobs, computed = [], []
        for media_type, tar in layers:
            data = tar
            if "gzip" in media_type:
                data = gzip.compress(tar, mtime=0)
            elif "zstd" in media_type:
                data = zstd_frames(tar)
            blobs.append(self.blob(data, media_type))
            computed.append(sha256(tar))
        diff_ids = computed if diff_ids is None else diff_ids
        config = {"os": "linux", "architecture": arch, "rootfs": {"diff_ids": diff_ids}}
        if variant:
            config["variant"] = variant
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "layers": blobs}
        manifest["config"] = self.json(config, CONFIG)
        return self.json(manifest, MANIFEST)

    def index_json(self, *entries: dict[str, Any]) -> Layout:
        (self.root / "index.json").write_text(
            json.dumps({"schemaVersion": 2, "manifests": list(entries)})
        )
        return Layout(self.root)


def platform_of(arch: str, variant: str = "") -> dict[str, str]:
    return {
        "os": "linux",
        "architecture": arch,
        **({"variant": variant} if variant else {}),
    }


def named(descriptor: dict[str, Any], ref: str, **extra: Any) -> dict[str, Any]:
    return {**descriptor, **extra, "annotations": {REF: ref}}


@pytest.fixture
def two_platforms(tmp_path: Path) -> Layout:
    """As oci_image_index writes it: a nested index, and each manifest named too."""
    w = Writer(tmp_path / "layout")
    amd64 = w.image("amd64", layers=[(GZIP, tar_of({"etc/arch": b"amd64"}))])
    arm64 = w.image("arm64", "v8", layers=[(GZIP, tar_of({"etc/arch": b"arm64"}))])
    nested = w.json(
        {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                {**amd64, "platform": platform_of("amd64")},
                {**arm64, "platform": platform_of("arm64", "v8")},
            ],
        },
        INDEX,
    )
    return w.index_json(
        named(nested, "latest"),
        named(amd64, "latest-linux-amd64", platform=platform_of("amd64")),
        named(arm64, "latest-linux-arm64-v8", platform=platform_of("arm64", "v8")),
    )


def test_images_go_through_the_nested_index_once_each(two_platforms: Layout) -> None:
    images = two_platforms.images()
    assert [(str(r.platform), r.ref) for r in images] == [
        ("linux/amd64", "latest-linux-amd64"),
        ("linux/arm64/v8", "latest-linux-arm64-v8"),
    ]
    assert two_platforms.top_index()["annotations"][REF] == "latest"


def test_an_unnamed_nested_manifest_is_found_with_its_config_platform(
    tmp_path: Path,
) -> None:
    w = Writer(tmp_path / "layout")
    arm64 = w.image("arm64", "v8")
    nested = w.json({"schemaVersion": 2, "manifests": [arm64]}, INDEX)
    (image,) = w.index_json(nested).images()
    assert (str(image.platform), image.ref) == ("linux/arm64/v8", None)


def test_select_matches_a_platform_with_or_without_its_variant(
    two_platforms: Layout,
) -> None:
    arm64 = two_platforms.select(Platform.parse("linux/arm64"))
    assert arm64.ref == "latest-linux-arm64-v8"
    assert two_platforms.select(Platform.parse("linux/arm64/v8")) == arm64
    with pytest.raises(
        LayoutError,
        match="0 images for linux/s390x; it has: linux/amd64, linux/arm64/v8",
    ):
        two_platforms.select(Platform.parse("linux/s390x"))


def test_named_is_one_platforms_manifest(two_platforms: Layout) -> None:
    image = two_platforms.image(two_platforms.named("latest-linux-arm64-v8"))
    assert image.config["architecture"] == "arm64"
    with pytest.raises(
        LayoutError,
        match="not an image manifest; name one platform's manifest: latest-linux-amd64, latest-linux-arm64-v8",
    ):
        two_platforms.named("latest")
    with pytest.raises(
        LayoutError, match="0 manifests named 'nope'; refs: \\['latest', "
    ):
        two_platforms.named("nope")


def test_layers_come_with_their_media_type_and_read_uncompressed(
    tmp_path: Path,
) -> None:
    w = Writer(tmp_path / "layout")
    tars = [
        tar_of({"a": b"plain"}),
        tar_of({"b": b"gzip"}),
        tar_of({"c": b"docker"}),
        tar_of({"d": b"zstd"}),
    ]
    image = w.image("amd64", layers=zip((TAR, GZIP, DOCKER_GZIP, ZSTD), tars))
    layout = w.index_json(image)
    layers = layout.image(layout.images()[0]).layers
    assert [(layer.media_type, layer.compression) for layer in layers] == [
        (TAR, "none"),
        (GZIP, "gzip"),
        (GZIP, "gzip"),  # A Docker layer is read as its OCI equivalent.
        (ZSTD, "zstd"),
    ]
    assert [layer.read() for layer in layers] == tars
    for layer, name in zip(layers, "abcd"):
        with layer.archive() as archive:
            assert [m.name for m in archive] == [name]
        with layer.open() as stream:
            assert stream.read() == tars["abcd".index(name)]
            assert stream.tell() == len(tars["abcd".index(name)])


def _zstd_layer(tmp_path: Path, blob: bytes, tar: bytes):  # type: ignore[no-untyped-def]
    """A layout whose one layer is `blob` (tar+zstd), with the diff_id of `tar`."""
    w = Writer(tmp_path / "layout")
    config = w.json(
        {"os": "linux", "architecture": "amd64", "rootfs": {"diff_ids": [sha256(tar)]}},
        CONFIG,
    )
    manifest = w.json({"config": config, "layers": [w.blob(blob, ZSTD)]}, MANIFEST)
    layout = w.index_json(manifest)
    (layer,) = layout.image(layout.images()[0]).layers
    return layer


def test_a_zstd_layer_of_several_frames_reads_whole_and_streamed(
    tmp_path: Path,
) -> None:
    # zstd:chunked layers (podman's) are many frames, one after the other.
    tar = tar_of({"a": b"1" * 100_000, "b": b"2" * 3, "c": b"3" * 70_000})
    layer = _zstd_layer(
        tmp_path, zstd_frames(tar[:1000], tar[1000:5000], tar[5000:]), tar
    )
    assert layer.read() == tar
    with layer.archive() as archive:
        assert [(m.name, archive.extractfile(m).read()) for m in archive] == [
            ("a", b"1" * 100_000),
            ("b", b"222"),
            ("c", b"3" * 70_000),
        ]


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda blob: blob[:-7], "truncated zstd data: the last frame ends early"),
        (lambda blob: blob[:5] + b"?" * 40, "bad zstd data: "),
        (lambda blob: b"not zstd at all", "bad zstd data: "),
    ],
)
def test_broken_zstd_is_an_error_never_a_shorter_tar(
    tmp_path: Path, cut, message: str  # type: ignore[no-untyped-def]
) -> None:
    tar = tar_of({"a": b"1" * 100_000})
    layer = _zstd_layer(tmp_path, cut(zstd_frames(tar)), tar)
    with pytest.raises(LayoutError, match=f"layer 0 \\(sha256:[0-9a-f]+\\): {message}"):
        layer.read()
    with pytest.raises(LayoutError, match=message), layer.open() as stream:
        stream.read()


@pytest.mark.parametrize(
    ("media_type", "message"),
    [
        ("application/x-rar", "unsupported layer media type 'application/x-rar'"),
        (
            "application/vnd.oci.image.layer.v1.tar+lz4",
            "unsupported layer media type '.*tar\\+lz4'; readable: .*tar\\+zstd",
        ),
    ],
)
def test_a_layer_it_cannot_read_is_named(
    tmp_path: Path, media_type: str, message: str
) -> None:
    w = Writer(tmp_path / "layout")
    layout = w.index_json(w.image("amd64", layers=[(media_type, b"?")]))
    (layer,) = layout.image(layout.images()[0]).layers
    with pytest.raises(LayoutError, match=f"layer 0 \\(sha256:[0-9a-f]+\\): {message}"):
        layer.read()
    with pytest.raises(LayoutError, match=message):
        layer.open()


def test_blobs_and_diff_ids_are_checked(tmp_path: Path) -> None:
    w = Writer(tmp_path / "layout")
    layout = w.index_json(w.image("amd64", layers=[(GZIP, tar_of({"a": b"1"}))]))
    (layer,) = layout.image(layout.images()[0]).layers
    data = bytearray(layer.path.read_bytes())
    data[-9] ^= 0xFF  # In the gzip trailer's CRC: still the same size.
    layer.path.write_bytes(bytes(data))
    with pytest.raises(LayoutError, match="does not match its digest"):
        layer.read()
    layer.path.unlink()
    with pytest.raises(LayoutError, match="is missing"):
        layer.read()


def test_a_tar_that_is_not_its_diff_id_is_an_error(tmp_path: Path) -> None:
    w = Writer(tmp_path / "layout")
    layers = [(TAR, tar_of({"a": b"1"}))]
    layout = w.index_json(w.image("amd64", layers=layers, diff_ids=[sha256(b"")]))
    (layer,) = layout.image(layout.images()[0]).layers
    with pytest.raises(LayoutError, match="does not match diff_id"):
        layer.read()


def test_as_many_diff_ids_as_layers(tmp_path: Path) -> None:
    w = Writer(tmp_path / "layout")
    layers = [(TAR, tar_of({"a": b"1"}))]
    layout = w.index_json(w.image("amd64", layers=layers, diff_ids=[sha256(b"")] * 2))
    with pytest.raises(LayoutError, match="1 layers but 2 diff_ids"):
        layout.image(layout.images()[0])


def test_a_wrong_size_is_an_error(tmp_path: Path) -> None:
    w = Writer(tmp_path / "layout")
    config = w.json({"os": "linux", "architecture": "amd64"}, CONFIG)
    manifest = w.json(
        {"config": {**config, "size": config["size"] + 1}, "layers": []}, MANIFEST
    )
    layout = w.index_json(manifest)
    with pytest.raises(
        LayoutError, match=f"is {config['size']} bytes, not {config['size'] + 1}"
    ):
        layout.images()


def test_indexes_nested_too_deeply_are_an_error(tmp_path: Path) -> None:
    w = Writer(tmp_path / "layout")
    descriptor = w.image("amd64")
    for _ in range(6):
        descriptor = w.json({"schemaVersion": 2, "manifests": [descriptor]}, INDEX)
    with pytest.raises(LayoutError, match="nested too deeply"):
        w.index_json(descriptor).images()


def test_attestations_are_not_images(tmp_path: Path) -> None:
    w = Writer(tmp_path / "layout")
    image = w.image("amd64")
    attestation = w.image("unknown")
    attestation_entry = {
        **attestation,
        "platform": {"os": "unknown", "architecture": "unknown"},
    }
    nested = w.json(
        {"schemaVersion": 2, "manifests": [image, attestation_entry]}, INDEX
    )
    assert [str(r.platform) for r in w.index_json(nested).images()] == ["linux/amd64"]


def test_not_a_layout(tmp_path: Path) -> None:
    with pytest.raises(
        LayoutError, match="is not an OCI image layout \\(no index.json"
    ):
        Layout(tmp_path)
    layout = Writer(tmp_path / "no-oci-layout").index_json()
    with pytest.raises(LayoutError, match="no oci-layout file"):
        Layout(layout.root, strict=True)
    with pytest.raises(LayoutError, match="names no image manifest"):
        Writer(tmp_path / "empty").index_json().images()
    with pytest.raises(LayoutError, match="expected one image index, found 0"):
        Writer(tmp_path / "flat").index_json().top_index()


def test_a_malformed_descriptor_is_named(tmp_path: Path) -> None:
    w = Writer(tmp_path / "layout")
    layout = w.index_json({"mediaType": MANIFEST, "digest": "sha256:abc", "size": 1})
    with pytest.raises(LayoutError, match="expected a digest 'sha256:<64 hex>'"):
        layout.images()
