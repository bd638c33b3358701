"""image.py: single-platform image layouts, base inheritance and input validation."""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from pathlib import Path

import ocilib
import pytest
from testlib import (
    BuiltLayer,
    Layout,
    assert_layout_consistent,
    build_layer,
    run_tool,
    sha256_file,
    tool_env,
    write_json,
)


@pytest.fixture
def app_layer(tmp_path: Path) -> BuiltLayer:
    return build_layer(
        tmp_path / "app-layer",
        [
            {"path": "app/main.py", "content": "print('hi')\n"},
            {"path": "app/run", "content": "#!/bin/sh\n", "executable": True},
        ],
    )


@pytest.fixture
def etc_layer(tmp_path: Path) -> BuiltLayer:
    return build_layer(
        tmp_path / "etc-layer",
        [{"path": "etc/passwd", "content": "root:x:0:0:root:/root:/sbin/nologin\n"}],
    )


def build_image(out: Path, *args: object, env: dict[str, str] | None = None) -> Layout:
    run_tool("image", "--output", out, *args, env=env)
    return Layout(out)


def test_config_manifest_and_index(
    tmp_path: Path, app_layer: BuiltLayer, etc_layer: BuiltLayer
) -> None:
    layout = build_image(
        tmp_path / "img",
        "--platform", "linux/amd64",
        "--layer", etc_layer.arg,
        "--layer", app_layer.arg,
        "--entrypoint", '["/usr/bin/python3", "/app/main.py"]',
        "--cmd", '["--port", "8080"]',
        "--env", "PATH=/usr/bin:/bin",
        "--env", "PYTHONDONTWRITEBYTECODE=1",
        "--user", "65532:65532",
        "--workdir", "/app",
        "--exposed-port", "8080",
        "--exposed-port", "9090/udp",
        "--label", "org.opencontainers.image.source=https://example.invalid/repo",
        "--annotation", "org.opencontainers.image.version=1.2.3",
        "--history-created-by", "layer etc",
        "--history-created-by", "layer app",
        "--ref-name", "v1",
        "--digest-out", tmp_path / "digest",
    )  # fmt: skip
    assert_layout_consistent(layout)
    [entry] = layout.index["manifests"]
    assert entry["mediaType"] == ocilib.MEDIA_TYPE_MANIFEST
    assert entry["platform"] == {"os": "linux", "architecture": "amd64"}
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "v1"}
    assert (tmp_path / "digest").read_text() == entry["digest"]

    manifest = layout.manifest("v1")
    assert manifest["annotations"] == {"org.opencontainers.image.version": "1.2.3"}
    assert [d["digest"] for d in manifest["layers"]] == [
        sha256_file(etc_layer.blob),
        sha256_file(app_layer.blob),
    ]
    assert {d["mediaType"] for d in manifest["layers"]} == {
        ocilib.MEDIA_TYPE_LAYER_GZIP
    }
    # Layer blobs are copied, not recompressed.
    assert layout.blob(manifest["layers"][1]["digest"]) == app_layer.blob.read_bytes()

    config = layout.config("v1")
    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    assert "variant" not in config
    assert config["created"] == "1970-01-01T00:00:00Z"
    # diff_ids are the digests of the uncompressed tars, computed here independently.
    assert config["rootfs"] == {
        "type": "layers",
        "diff_ids": [
            "sha256:"
            + hashlib.sha256(gzip.decompress(layout.blob(d["digest"]))).hexdigest()
            for d in manifest["layers"]
        ],
    }
    assert config["history"] == [
        {"created": "1970-01-01T00:00:00Z", "created_by": "layer etc"},
        {"created": "1970-01-01T00:00:00Z", "created_by": "layer app"},
    ]
    assert config["config"] == {
        "Entrypoint": ["/usr/bin/python3", "/app/main.py"],
        "Cmd": ["--port", "8080"],
        "Env": ["PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"],
        "User": "65532:65532",
        "WorkingDir": "/app",
        "ExposedPorts": {"8080/tcp": {}, "9090/udp": {}},
        "Labels": {"org.opencontainers.image.source": "https://example.invalid/repo"},
    }


def test_deterministic_and_no_leaks(tmp_path: Path, app_layer: BuiltLayer) -> None:
    trees = []
    for n in range(2):
        out = tmp_path / f"img{n}"
        run_tool(
            "image", "--output", f"img{n}", "--platform", "linux/amd64",
            "--layer", app_layer.arg, "--env", "A=1", cwd=tmp_path,
            umask=0o022 if n else 0o077,
        )  # fmt: skip
        trees.append(
            {
                str(p.relative_to(out)): p.read_bytes()
                for p in out.rglob("*")
                if p.is_file()
            }
        )
        assert {p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_file()} == {
            0o644
        }
    assert trees[0] == trees[1]
    for name, data in trees[0].items():
        if not name.startswith("blobs/") or data[:2] != b"\x1f\x8b":
            assert str(tmp_path).encode() not in data, name


def test_arm64_gets_variant_v8(tmp_path: Path, app_layer: BuiltLayer) -> None:
    short = build_image(
        tmp_path / "a", "--platform", "linux/arm64", "--layer", app_layer.arg
    )
    full = build_image(
        tmp_path / "b", "--platform", "linux/arm64/v8", "--layer", app_layer.arg
    )
    assert short.index == full.index
    config = short.config()
    assert (config["os"], config["architecture"], config["variant"]) == (
        "linux",
        "arm64",
        "v8",
    )
    assert short.index["manifests"][0]["platform"] == {
        "os": "linux",
        "architecture": "arm64",
        "variant": "v8",
    }


def test_created_from_source_date_epoch_or_flag(
    tmp_path: Path, app_layer: BuiltLayer
) -> None:
    epoch = 1700000000
    expected = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    env = tool_env(SOURCE_DATE_EPOCH=str(epoch))
    layout = build_image(
        tmp_path / "a", "--platform", "linux/amd64", "--layer", app_layer.arg, env=env
    )
    assert layout.config()["created"] == expected == "2023-11-14T22:13:20Z"
    assert {h["created"] for h in layout.config()["history"]} == {expected}
    explicit = build_image(
        tmp_path / "b", "--platform", "linux/amd64", "--layer", app_layer.arg,
        "--created", "2024-05-06T07:08:09+02:00", env=env,
    )  # fmt: skip
    assert explicit.config()["created"] == "2024-05-06T07:08:09+02:00"
    result = run_tool(
        "image", "--output", tmp_path / "c", "--platform", "linux/amd64",
        env=tool_env(SOURCE_DATE_EPOCH="yesterday"), ok=False,
    )  # fmt: skip
    assert "SOURCE_DATE_EPOCH must be an integer" in result.stderr


def test_image_without_layers_is_valid(tmp_path: Path) -> None:
    layout = build_image(
        tmp_path / "img", "--platform", "linux/amd64", "--cmd", '["true"]'
    )
    assert_layout_consistent(layout)
    assert layout.manifest()["layers"] == []
    assert layout.config()["rootfs"] == {"type": "layers", "diff_ids": []}


# --- base images -----------------------------------------------------------------------


@pytest.fixture
def base_image(tmp_path: Path, etc_layer: BuiltLayer) -> Layout:
    return build_image(
        tmp_path / "base",
        "--platform", "linux/amd64",
        "--layer", etc_layer.arg,
        "--entrypoint", '["/usr/bin/python3"]',
        "--cmd", '["-V"]',
        "--env", "PATH=/usr/local/bin:/usr/bin",
        "--env", "LANG=C.UTF-8",
        "--env", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        "--user", "nonroot",
        "--workdir", "/",
        "--exposed-port", "80",
        "--label", "base=yes",
        "--label", "shared=base",
        "--history-created-by", "base files",
    )  # fmt: skip


def test_base_is_inherited_and_overridden(
    tmp_path: Path, base_image: Layout, app_layer: BuiltLayer, etc_layer: BuiltLayer
) -> None:
    layout = build_image(
        tmp_path / "img",
        "--platform", "linux/amd64",
        "--base", base_image.root,
        "--layer", app_layer.arg,
        "--cmd", '["/app/main.py"]',
        "--env", "LANG=en_US.UTF-8",
        "--env", "APP=1",
        "--exposed-port", "8080/tcp",
        "--label", "shared=app",
        "--history-created-by", "app",
        "--created", "2024-01-01T00:00:00Z",
    )  # fmt: skip
    assert_layout_consistent(layout)
    manifest, base_manifest = layout.manifest(), base_image.manifest()
    assert manifest["layers"] == base_manifest["layers"] + [
        {k: v for k, v in app_layer.descriptor.items() if k != "diff_id"}
    ]
    assert manifest["annotations"] == {
        "org.opencontainers.image.base.digest": base_image.index["manifests"][0][
            "digest"
        ]
    }
    # Base layers keep their bytes (hence digests).
    assert layout.blob(manifest["layers"][0]["digest"]) == etc_layer.blob.read_bytes()
    config = layout.config()
    assert config["created"] == "2024-01-01T00:00:00Z"
    assert config["rootfs"]["diff_ids"] == [
        etc_layer.descriptor["diff_id"],
        app_layer.descriptor["diff_id"],
    ]
    assert [h["created_by"] for h in config["history"]] == ["base files", "app"]
    assert (
        config["history"][0]["created"] == "1970-01-01T00:00:00Z"
    )  # Kept from the base.
    assert config["config"] == {
        "Entrypoint": ["/usr/bin/python3"],
        "Cmd": ["/app/main.py"],
        # Overridden in place, new keys appended: order is stable.
        "Env": [
            "PATH=/usr/local/bin:/usr/bin",
            "LANG=en_US.UTF-8",
            "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
            "APP=1",
        ],
        "User": "nonroot",
        "WorkingDir": "/",
        "ExposedPorts": {"80/tcp": {}, "8080/tcp": {}},
        "Labels": {"base": "yes", "shared": "app"},
    }


def test_entrypoint_clears_inherited_cmd(tmp_path: Path, base_image: Layout) -> None:
    layout = build_image(
        tmp_path / "a", "--platform", "linux/amd64", "--base", base_image.root,
        "--entrypoint", '["/app/run"]',
    )  # fmt: skip
    assert layout.config()["config"]["Entrypoint"] == ["/app/run"]
    assert "Cmd" not in layout.config()["config"]
    cleared = build_image(
        tmp_path / "b", "--platform", "linux/amd64", "--base", base_image.root,
        "--entrypoint", "[]", "--cmd", '["/app/run"]',
    )  # fmt: skip
    assert "Entrypoint" not in cleared.config()["config"]
    assert cleared.config()["config"]["Cmd"] == ["/app/run"]


def test_base_platform_must_match(tmp_path: Path, base_image: Layout) -> None:
    result = run_tool(
        "image", "--output", tmp_path / "x", "--platform", "linux/arm64",
        "--base", base_image.root, ok=False,
    )  # fmt: skip
    assert "expected exactly one manifest for linux/arm64/v8, found 0" in result.stderr
    assert "the base has: linux/amd64" in result.stderr


def test_base_from_multi_platform_index(tmp_path: Path, app_layer: BuiltLayer) -> None:
    amd = build_image(
        tmp_path / "amd", "--platform", "linux/amd64", "--env", "ARCH=amd64"
    )
    arm = build_image(
        tmp_path / "arm", "--platform", "linux/arm64", "--env", "ARCH=arm64"
    )
    run_tool(
        "index",
        "--output",
        tmp_path / "multi",
        "--image",
        amd.root,
        "--image",
        arm.root,
    )
    for platform, arch in (("linux/arm64", "arm64"), ("linux/amd64", "amd64")):
        layout = build_image(
            tmp_path / f"img-{arch}", "--platform", platform, "--base", tmp_path / "multi",
            "--layer", app_layer.arg,
        )  # fmt: skip
        assert layout.config()["config"]["Env"] == [f"ARCH={arch}"]
        assert layout.config()["architecture"] == arch
    # --base-ref picks one index.json entry, here a platform manifest.
    picked = build_image(
        tmp_path / "picked", "--platform", "linux/arm64", "--base", tmp_path / "multi",
        "--base-ref", "latest-linux-arm64-v8",
    )  # fmt: skip
    assert picked.manifest()["annotations"]["org.opencontainers.image.base.digest"] == (
        arm.index["manifests"][0]["digest"]
    )
    result = run_tool(
        "image", "--output", tmp_path / "x", "--platform", "linux/arm64",
        "--base", tmp_path / "multi", "--base-ref", "nope", ok=False,
    )  # fmt: skip
    assert "no index.json entry has ref name 'nope'" in result.stderr


def test_base_with_docker_media_types(tmp_path: Path, etc_layer: BuiltLayer) -> None:
    """A base copied from a Docker registry keeps Docker media types; we emit OCI ones."""
    base = tmp_path / "docker-base"
    (base / "blobs" / "sha256").mkdir(parents=True)
    layout = Layout(base)

    def put(data: bytes) -> str:
        digest = ocilib.sha256_digest(data)
        (base / "blobs" / "sha256" / digest[7:]).write_bytes(data)
        return digest

    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [etc_layer.descriptor["diff_id"]]},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": put(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": put(etc_layer.blob.read_bytes()),
                    "size": etc_layer.blob.stat().st_size,
                }
            ],
        }
    ).encode()
    desc = {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "digest": put(manifest),
        "size": len(manifest),
    }
    write_json(base / "index.json", {"schemaVersion": 2, "manifests": [desc]})
    write_json(base / "oci-layout", {"imageLayoutVersion": "1.0.0"})
    assert layout.index["manifests"][0]["digest"] == desc["digest"]
    out = build_image(tmp_path / "img", "--platform", "linux/amd64", "--base", base)
    assert_layout_consistent(out)
    assert out.manifest()["layers"][0]["mediaType"] == ocilib.MEDIA_TYPE_LAYER_GZIP
    assert out.config()["config"]["Env"] == ["PATH=/bin"]


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "a b"], "invalid --user 'a b'"),
        (["--user", "a:b:c"], "invalid --user 'a:b:c'"),
        (["--user", ":1"], "invalid --user"),
        (["--user", ""], "invalid --user"),
        (["--exposed-port", "0"], "invalid --exposed-port '0'"),
        (["--exposed-port", "65536"], "invalid --exposed-port"),
        (["--exposed-port", "80/sctp"], "invalid --exposed-port"),
        (["--exposed-port", "http"], "invalid --exposed-port"),
        (["--env", "=x"], "--env expects KEY=VALUE"),
        (["--env", "NOVALUE"], "--env expects KEY=VALUE"),
        (["--label", "=x"], "--label expects KEY=VALUE"),
        (["--annotation", "x"], "--annotation expects KEY=VALUE"),
        (["--workdir", "app"], "invalid --workdir 'app'"),
        (["--entrypoint", "/bin/sh"], "--entrypoint expects a JSON list of strings"),
        (["--cmd", '["a", 1]'], "--cmd expects a JSON list of strings"),
        (["--created", "yesterday"], "invalid --created"),
        (["--created", "2024-01-01T00:00:00"], "invalid --created"),
        (["--created", "2024-13-01T00:00:00Z"], "invalid --created"),
        (["--ref-name", "has space"], "invalid ref name"),
        (
            ["--history-created-by", "a", "--history-created-by", "b"],
            "given 2 times for 0 layers",
        ),
        (["--base-ref", "x"], "--base-ref needs --base"),
    ],
)
def test_bad_flags(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_tool(
        "image",
        "--output",
        tmp_path / "out",
        "--platform",
        "linux/amd64",
        *args,
        ok=False,
    )
    assert message in result.stderr


@pytest.mark.parametrize(
    ("platform", "message"),
    [
        ("linux/s390x", "unknown platform 'linux/s390x'"),
        ("windows/amd64", "unknown platform 'windows/amd64'"),
        ("linux", "expected os/arch or os/arch/variant"),
        ("linux/amd64/v2", "unsupported variant 'v2' for linux/amd64"),
        ("linux/arm64/v7", "unsupported variant 'v7' for linux/arm64"),
    ],
)
def test_bad_platform(tmp_path: Path, platform: str, message: str) -> None:
    result = run_tool(
        "image", "--output", tmp_path / "o", "--platform", platform, ok=False
    )
    assert message in result.stderr
    assert not (tmp_path / "o").exists(), "flags are checked before anything is written"


def test_layer_must_match_its_descriptor(tmp_path: Path, app_layer: BuiltLayer) -> None:
    desc = app_layer.descriptor
    wrong = write_json(tmp_path / "wrong.json", {**desc, "size": desc["size"] + 1})
    result = run_tool(
        "image", "--output", tmp_path / "o", "--platform", "linux/amd64",
        "--layer", f"{app_layer.blob}={wrong}", ok=False,
    )  # fmt: skip
    assert "does not match its descriptor" in result.stderr
    no_diff_id = write_json(
        tmp_path / "nodiff.json", {k: v for k, v in desc.items() if k != "diff_id"}
    )
    result = run_tool(
        "image", "--output", tmp_path / "p", "--platform", "linux/amd64",
        "--layer", f"{app_layer.blob}={no_diff_id}", ok=False,
    )  # fmt: skip
    assert "diff_id" in result.stderr


def test_output_must_be_empty(tmp_path: Path) -> None:
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "stale").write_text("x")
    result = run_tool(
        "image", "--output", tmp_path / "o", "--platform", "linux/amd64", ok=False
    )
    assert "is not empty" in result.stderr


def test_history_text_once_applies_to_every_layer(
    tmp_path: Path, app_layer: BuiltLayer, etc_layer: BuiltLayer
) -> None:
    layout = build_image(
        tmp_path / "img", "--platform", "linux/amd64", "--layer", etc_layer.arg,
        "--layer", app_layer.arg, "--history-created-by", "bazel //images:app",
    )  # fmt: skip
    assert [h["created_by"] for h in layout.config()["history"]] == [
        "bazel //images:app"
    ] * 2
