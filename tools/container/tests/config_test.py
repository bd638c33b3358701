"""The pure parts of the container library: the image config, users,
environment, config.json and reading a layout. Nothing here needs root or runc.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import container
import pytest
from container import (
    ContainerError,
    ImageConfig,
    bundle_spec,
    home_directory,
    process_env,
    read_image_config,
    resolve_user,
    runtime_spec,
)

PASSWD = """\
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
"""
GROUP = """\
root:x:0:
nobody:x:65534:
nonroot:x:65532:
tty:x:5:
"""
HELLO_CONFIG: dict[str, Any] = {
    "architecture": "amd64",
    "os": "linux",
    "config": {
        "Entrypoint": ["/usr/bin/python3.13", "-m", "hello"],
        "Env": ["PATH=/usr/bin:/bin", "PYTHONPATH=/app", "PORT=8080"],
        "User": "65532:65532",
        "WorkingDir": "/app",
        "ExposedPorts": {"9090/udp": {}, "8080/tcp": {}},
        "Labels": {"org.opencontainers.image.title": "hello"},
    },
}


def spec(**overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "rootfs": "/bundle/rootfs",
        "argv": ["/usr/bin/python3.13", "-m", "hello"],
        "env": ["PATH=/usr/bin", "PORT=8080"],
        "cwd": "/app",
        "uid": 65532,
        "gid": 65532,
        "netns": "/proc/42/ns/net",
        "hostname": "test-1",
    }
    return runtime_spec(**(options | overrides))


# Image config --------------------------------------------------------------------


def test_image_config_reads_what_a_runtime_needs() -> None:
    image = ImageConfig.from_oci(HELLO_CONFIG)
    assert image.architecture == "amd64"
    assert image.argv == ["/usr/bin/python3.13", "-m", "hello"]
    assert image.user == "65532:65532"
    assert image.workdir == "/app"
    assert image.tcp_port == 8080


def test_argv_is_entrypoint_then_cmd() -> None:
    image = ImageConfig.from_oci(
        {"config": {"Entrypoint": ["/run"], "Cmd": ["--flag", "x"]}}
    )
    assert image.argv == ["/run", "--flag", "x"]
    assert ImageConfig.from_oci({"config": {"Cmd": ["/bin/sh"]}}).argv == ["/bin/sh"]


def test_an_empty_config_has_no_argv_and_no_port() -> None:
    image = ImageConfig.from_oci({"architecture": "arm64"})
    assert image.argv == []
    assert image.tcp_port is None
    assert image.env == ()


# Users and environment -------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("", (0, 0)),
        ("65532:65532", (65532, 65532)),
        ("65532", (65532, 65532)),  # primary group from passwd
        ("1234", (1234, 0)),  # not in passwd: group 0, as Docker does
        ("nonroot", (65532, 65532)),
        ("nonroot:tty", (65532, 5)),
        ("nobody:0", (65534, 0)),
    ],
)
def test_resolve_user(user: str, expected: tuple[int, int]) -> None:
    assert resolve_user(user, PASSWD, GROUP) == expected


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("alice", "user 'alice' is not in the image's /etc/passwd"),
        ("nonroot:staff", "group 'staff'"),
    ],
)
def test_resolve_user_rejects_unknown_names(user: str, message: str) -> None:
    with pytest.raises(ContainerError, match=message):
        resolve_user(user, PASSWD, GROUP)


def test_home_directory_comes_from_passwd() -> None:
    assert home_directory(65532, PASSWD) == "/home/nonroot"
    assert home_directory(4242, PASSWD) == "/"
    assert home_directory(0, "") == "/"


def test_env_overrides_replace_in_place_and_new_names_follow() -> None:
    env = process_env(
        ["PATH=/usr/bin", "PORT=8080", "A=1"],
        {"PORT": "9000", "HOST": "0.0.0.0"},
        "/home/x",
    )
    assert env == ["PATH=/usr/bin", "PORT=9000", "A=1", "HOST=0.0.0.0", "HOME=/home/x"]


def test_env_gets_path_and_home_when_nobody_sets_them() -> None:
    assert process_env([], None, "/") == [f"PATH={container.DEFAULT_PATH}", "HOME=/"]
    assert process_env(["HOME=/srv", "X=a=b"], {}, "/home/x") == [
        "HOME=/srv",
        "X=a=b",
        f"PATH={container.DEFAULT_PATH}",
    ]


# config.json -------------------------------------------------------------------


def test_spec_is_hardened() -> None:
    config = spec()
    process = config["process"]
    assert config["root"] == {"path": "/bundle/rootfs", "readonly": True}
    assert process["terminal"] is False
    assert process["noNewPrivileges"] is True
    assert process["user"] == {"uid": 65532, "gid": 65532}
    assert process["capabilities"] == {
        "bounding": [],
        "effective": [],
        "inheritable": [],
        "permitted": [],
        "ambient": [],
    }
    assert "/proc/kcore" in config["linux"]["maskedPaths"]
    assert "/proc/sys" in config["linux"]["readonlyPaths"]
    assert config["linux"]["resources"]["devices"] == [
        {"allow": False, "access": "rwm"}
    ]


def test_spec_runs_what_it_is_given() -> None:
    process = spec()["process"]
    assert process["args"] == ["/usr/bin/python3.13", "-m", "hello"]
    assert process["env"] == ["PATH=/usr/bin", "PORT=8080"]
    assert process["cwd"] == "/app"
    assert spec(cwd="")["process"]["cwd"] == "/"
    assert spec()["hostname"] == "test-1"


def test_spec_gives_a_tmpfs_tmp_and_read_only_sys() -> None:
    mounts = {m["destination"]: m for m in spec()["mounts"]}
    assert mounts["/tmp"]["type"] == "tmpfs"
    assert {"mode=1777", "nosuid", "nodev", "noexec"} <= set(mounts["/tmp"]["options"])
    assert "ro" in mounts["/sys"]["options"]
    assert "ro" in mounts["/sys/fs/cgroup"]["options"]
    assert {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"} <= mounts.keys()


def test_spec_joins_the_given_network_namespace_and_makes_the_others() -> None:
    namespaces = spec()["linux"]["namespaces"]
    assert {"type": "network", "path": "/proc/42/ns/net"} in namespaces
    assert sorted(n["type"] for n in namespaces) == [
        "cgroup",
        "ipc",
        "mount",
        "network",
        "pid",
        "uts",
    ]
    assert [n for n in namespaces if "path" in n] == [
        {"type": "network", "path": "/proc/42/ns/net"}
    ]


def test_spec_leaves_cgroups_to_runc() -> None:
    config = spec()
    assert "cgroupsPath" not in config["linux"]
    assert set(config["linux"]["resources"]) == {"devices"}


def test_spec_is_plain_json() -> None:
    config = spec()
    assert json.loads(json.dumps(config)) == config


def test_spec_needs_something_to_run() -> None:
    with pytest.raises(ContainerError, match="no Entrypoint or Cmd"):
        spec(argv=[])


def fake_bundle(tmp_path: Path, config: dict[str, Any] = HELLO_CONFIG) -> Path:
    bundle = tmp_path / "bundle"
    (bundle / "rootfs/etc").mkdir(parents=True)
    (bundle / "rootfs/etc/passwd").write_text(PASSWD)
    (bundle / "rootfs/etc/group").write_text(GROUP)
    (bundle / container.IMAGE_CONFIG).write_text(json.dumps(config))
    return bundle


def test_bundle_spec_takes_the_image_config_and_overrides(tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path)
    config = bundle_spec(
        bundle, argv=None, env={"PORT": "9000"}, netns="/proc/1/ns/net", hostname="h"
    )
    process = config["process"]
    assert config["root"] == {
        "path": str((bundle / "rootfs").resolve()),
        "readonly": True,
    }
    assert process["args"] == ["/usr/bin/python3.13", "-m", "hello"]
    assert process["env"] == [
        "PATH=/usr/bin:/bin",
        "PYTHONPATH=/app",
        "PORT=9000",
        "HOME=/home/nonroot",
    ]
    assert process["user"] == {"uid": 65532, "gid": 65532}
    assert process["cwd"] == "/app"
    other = bundle_spec(bundle, argv=["/bin/true"], env=None, netns="/n", hostname="h")
    assert other["process"]["args"] == ["/bin/true"]


def test_bundle_spec_ignores_a_passwd_symlink(tmp_path: Path) -> None:
    bundle = fake_bundle(tmp_path, {"config": {"User": "65532", "Cmd": ["/x"]}})
    (bundle / "rootfs/etc/passwd").unlink()
    (bundle / "rootfs/etc/passwd").symlink_to("/etc/passwd")
    process = bundle_spec(bundle, argv=None, env=None, netns="/n", hostname="h")[
        "process"
    ]
    assert process["user"] == {"uid": 65532, "gid": 0}
    assert "HOME=/" in process["env"]


def test_a_bundle_needs_its_image_config(tmp_path: Path) -> None:
    with pytest.raises(ContainerError, match="unpack the bundle with unpack"):
        ImageConfig.of_bundle(tmp_path)


# Layouts ----------------------------------------------------------------------


def write_blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs/sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def test_read_image_config_follows_the_ref(tmp_path: Path) -> None:
    config = write_blob(tmp_path, json.dumps(HELLO_CONFIG).encode())
    manifest = write_blob(
        tmp_path,
        json.dumps({"schemaVersion": 2, "config": config, "layers": []}).encode(),
    )
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                **manifest,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "annotations": {
                    "org.opencontainers.image.ref.name": "latest-linux-amd64"
                },
            },
            {
                **manifest,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            },
        ],
    }
    (tmp_path / "index.json").write_text(json.dumps(index))
    assert read_image_config(tmp_path, "latest-linux-amd64") == HELLO_CONFIG
    with pytest.raises(ContainerError, match="not an image manifest"):
        read_image_config(tmp_path, "latest")
    with pytest.raises(ContainerError, match="0 manifests named 'nope'"):
        read_image_config(tmp_path, "nope")


# Volumes -------------------------------------------------------------------------


def test_a_volume_is_a_writable_bind_mount_that_runs_nothing() -> None:
    mounts = spec(volumes={"/data": "/srv/volume"})["mounts"]
    assert mounts[-1] == {
        "destination": "/data",
        "type": "bind",
        "source": "/srv/volume",
        "options": ["rbind", "rw", "nosuid", "nodev", "noexec"],
    }
    # Without volumes, the mounts are the hardened defaults alone.
    assert spec()["mounts"] == mounts[:-1]
    assert spec()["root"] == {"path": "/bundle/rootfs", "readonly": True}
