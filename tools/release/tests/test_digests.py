"""digests.py: the lock of the images' digests; a difference named down to the file."""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import digests
import pytest

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
RUNFILES = Path(os.environ.get("TEST_SRCDIR", "")) / "_main"

BASE = {"etc/os-release": b"debian", "usr/lib/libx.so": b"x"}
APP = {"app/a.py": b"a", "app/b.py": b"b", "app/pkg/c.py": b"c"}


def _blob(root: Path, data: bytes, media_type: str) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def _layer(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue(), mtime=0)


def make_layout(root: Path, arm64_app: dict[str, bytes] | None = None) -> Path:
    """A two-platform index of a base and an app layer; arm64's app is `arm64_app`."""
    layer_type = "application/vnd.oci.image.layer.v1.tar+gzip"
    manifests = []
    for arch in ("amd64", "arm64"):
        app = arm64_app if arch == "arm64" and arm64_app is not None else APP
        layers = [
            _blob(root, _layer(BASE), layer_type),
            _blob(root, _layer(app), layer_type),
        ]
        config = {
            "architecture": arch,
            "os": "linux",
            "history": [
                {"created_by": "bazel build //images:base"},
                {"created_by": "bazel build //images:app_layers"},
            ],
        }
        config_desc = _blob(
            root,
            json.dumps(config).encode(),
            "application/vnd.oci.image.config.v1+json",
        )
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": config_desc,
            "layers": layers,
        }
        descriptor = _blob(root, json.dumps(manifest).encode(), MANIFEST)
        manifests.append(
            {**descriptor, "platform": {"architecture": arch, "os": "linux"}}
        )
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}
    descriptor = _blob(root, json.dumps(index).encode(), INDEX)
    (root / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "manifests": [descriptor]})
    )
    return root


def _check(tmp_path: Path, arm64_app: dict[str, bytes]) -> str:
    lock = digests.record({"img": make_layout(tmp_path / "a")})
    problems = digests.check(lock, {"img": make_layout(tmp_path / "b", arm64_app)})
    assert len(problems) == 1
    return problems[0]


def test_the_same_build_matches_its_lock_and_the_lock_is_canonical(
    tmp_path: Path,
) -> None:
    lock = digests.record({"img": make_layout(tmp_path / "a")})
    assert digests.check(lock, {"img": make_layout(tmp_path / "b")}) == []
    again = digests.record({"img": make_layout(tmp_path / "c")})
    assert digests.dumps(lock) == digests.dumps(again)
    assert sorted(lock["images"]["img"]["platforms"]) == ["linux/amd64", "linux/arm64"]
    app = lock["images"]["img"]["platforms"]["linux/amd64"]["layers"][1]
    assert lock["layers"][app]["holds"] == "bazel build //images:app_layers"
    assert sorted(lock["layers"][app]["files"]) == ["/app", "/app/pkg"]
    assert len(lock["layers"][app]["files"]["/app"].split()) == 2


def test_a_changed_file_is_named_with_image_platform_and_layer(tmp_path: Path) -> None:
    message = _check(tmp_path, {**APP, "app/pkg/c.py": b"C"})
    assert message.startswith("img: index sha256:")
    assert "img linux/arm64: manifest sha256:" in message
    assert "linux/amd64" not in message
    assert "layer 2 of 2 (bazel build //images:app_layers) sha256:" in message
    assert message.endswith(
        "first differing file: /app/pkg/c.py (changed: content, mode, owner or size)"
    )


def test_a_new_file_and_a_gone_file_are_named(tmp_path: Path) -> None:
    new = _check(tmp_path / "new", {**APP, "app/a2.py": b"a2"})
    assert new.endswith("first differing file: /app/a2.py (new in the layer)")
    gone = {k: v for k, v in APP.items() if k != "app/b.py"}
    message = _check(tmp_path / "gone", gone)
    assert message.endswith(
        "first differing file: 1 entry of /app/ gone (after /app/a.py in path order)"
    )
    only_dir_gone = {k: v for k, v in APP.items() if not k.startswith("app/pkg/")}
    assert _check(tmp_path / "dir", only_dir_gone).endswith(
        "first differing file: /app/pkg/ (a directory of 1 entries, gone from the layer)"
    )


def test_main_says_how_to_update(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_path = tmp_path / "digests.lock.json"
    lock_path.write_text(
        digests.dumps(digests.record({"img": make_layout(tmp_path / "img")}))
    )
    changed = tmp_path / "layouts"
    make_layout(changed / "img", {**APP, "app/b.py": b"B"})
    images_list = tmp_path / "images_list.json"
    images_list.write_text(json.dumps({"images": [{"name": "img"}]}))
    args = ["--images-list", str(images_list), "--layouts", str(changed)]
    assert digests.main([*args, "--check", str(lock_path)]) == 1
    err = capsys.readouterr().err
    assert "first differing file: /app/b.py (changed" in err
    assert (
        "run `./tools/bazel run //images:digests.update` and commit "
        "images/digests.lock.json with the change" in err
    )
    lock_path.write_text("{")
    assert digests.main([*args, "--check", str(lock_path)]) == 1
    assert "is not JSON" in capsys.readouterr().err


def test_the_committed_lock_edited_names_the_real_file() -> None:
    """The real hello image against a copy of the committed lock in which one file
    of its first-party layer (linux/amd64) had another content."""
    lock = digests.read_lock(RUNFILES / "images" / "digests.lock.json")
    hello = RUNFILES / "images" / "hello"
    edited = copy.deepcopy(lock)
    edited["images"] = {"hello": edited["images"]["hello"]}
    assert digests.check(edited, {"hello": hello}) == []
    amd64 = edited["images"]["hello"]["platforms"]["linux/amd64"]
    old = amd64["layers"][-1]
    fake = "sha256:" + "0" * 64
    amd64["layers"][-1] = fake
    amd64["manifest"] = "sha256:" + "1" * 64
    edited["images"]["hello"]["index"] = "sha256:" + "2" * 64
    layer = copy.deepcopy(edited["layers"][old])
    codes = layer["files"]["/app/hello"].split()
    image = digests.read_layout(hello)[1]["linux/amd64"]
    built = digests.layer_files(image.layers[-1])["/app/hello"]
    position = [path for path, _ in built].index("/app/hello/app.py")
    codes[position] = "ffffff" if codes[position] != "ffffff" else "eeeeee"
    layer["files"]["/app/hello"] = " ".join(codes)
    edited["layers"][fake] = layer
    problems = digests.check(edited, {"hello": hello})
    assert len(problems) == 1, problems
    message = problems[0]
    assert message.startswith("hello: index sha256:")
    assert "hello linux/amd64: manifest sha256:" in message
    assert "linux/arm64" not in message
    assert (
        f"layer 6 of 6 (bazel build @@//images:hello_layers) {old} != {fake}" in message
    )
    assert message.endswith(
        "first differing file: /app/hello/app.py (changed: content, mode, owner or size)"
    )
