"""The OCI runtime configuration (config.json) of a hardened container.

Pure functions of the image and the options: nothing here looks at the
machine, so every rule is checked by unit tests without runc.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from container.bundle import ImageConfig
from container.errors import ContainerError

# What Docker and containerd give a process whose image sets no PATH.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CAPABILITY_SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
# runc's own defaults (`runc spec`), as Docker uses them too.
MASKED_PATHS = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
READONLY_PATHS = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)
# Destination, type, source, options: runc's defaults (a read-only /sys), and
# /tmp as Docker's --tmpfs makes it (noexec, nosuid, nodev), sticky and world-writable.
MOUNTS = (
    ("/proc", "proc", "proc", "nosuid,noexec,nodev"),
    ("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"),
    (
        "/dev/pts",
        "devpts",
        "devpts",
        "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620",
    ),
    ("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"),
    ("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"),
    ("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"),
    ("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"),
    ("/tmp", "tmpfs", "tmpfs", "nosuid,nodev,noexec,mode=1777,size=65536k"),
)
# Machine (uname -m) -> OCI architecture.


def resolve_user(user: str, passwd: str, group: str) -> tuple[int, int]:
    """(uid, gid) for an image's User ("", "uid", "uid:gid", "name", "name:group").

    Names are looked up in the image's /etc/passwd and /etc/group text; a user
    given alone gets its primary group from passwd (or 0 if it has no entry), as
    Docker does. Raises ContainerError for a name that does not exist.
    """
    name, _, group_name = user.partition(":")
    users = _colon_table(passwd)
    if not name:
        uid, default_gid = 0, 0
    elif name.isdigit():
        uid = int(name)
        default_gid = next((int(e[3]) for e in users.values() if int(e[2]) == uid), 0)
    elif name in users:
        uid, default_gid = int(users[name][2]), int(users[name][3])
    else:
        raise ContainerError(f"user {name!r} is not in the image's /etc/passwd")
    if not group_name:
        return uid, default_gid
    if group_name.isdigit():
        return uid, int(group_name)
    groups = _colon_table(group)
    if group_name not in groups:
        raise ContainerError(f"group {group_name!r} is not in the image's /etc/group")
    return uid, int(groups[group_name][2])


def home_directory(uid: int, passwd: str) -> str:
    """The home directory of uid in passwd text, or "/" (Docker's fallback)."""
    for entry in _colon_table(passwd).values():
        if int(entry[2]) == uid and len(entry) > 5 and entry[5]:
            return entry[5]
    return "/"


def _colon_table(text: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if (
            len(fields) >= 4
            and fields[0]
            and not line.startswith("#")
            and fields[2].isdigit()
            and (fields[3].isdigit() or fields[3] == "")
        ):
            table.setdefault(fields[0], fields)
    return table


def process_env(
    image_env: Sequence[str], overrides: Mapping[str, str] | None, home: str
) -> list[str]:
    """The image's environment with overrides applied, as "NAME=value" strings.

    An override replaces the image's value in place; new names follow in the
    order given. PATH and HOME are added if nobody set them, as Docker does.
    """
    merged: dict[str, str] = {}
    for item in image_env:
        name, _, value = item.partition("=")
        merged[name] = value
    merged.update(overrides or {})
    merged.setdefault("PATH", DEFAULT_PATH)
    merged.setdefault("HOME", home)
    return [f"{name}={value}" for name, value in merged.items()]


def runtime_spec(
    *,
    rootfs: str,
    argv: Sequence[str],
    env: Sequence[str],
    cwd: str,
    uid: int,
    gid: int,
    netns: str,
    hostname: str,
    volumes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The OCI runtime config (config.json) of a hardened container.

    `volumes` (container directory -> host directory) are bind-mounted
    writable, nosuid, nodev and noexec, as a deployment mounts a volume
    on a read-only root.

    Read-only root, tmpfs /tmp (1777, noexec), no capabilities, no_new_privs,
    the given user, the network namespace at `netns`, fresh pid, ipc, uts,
    mount and cgroup namespaces, runc's masked and read-only /proc and /sys
    paths, every device denied but runc's defaults, cgroups where runc puts
    them by default. Nothing here depends on the machine: it is a pure function.
    """
    if not argv:
        raise ContainerError("nothing to run: the image has no Entrypoint or Cmd")
    return {
        "ociVersion": "1.0.2",
        "root": {"path": rootfs, "readonly": True},
        "hostname": hostname,
        "process": {
            "terminal": False,
            "user": {"uid": uid, "gid": gid},
            "args": list(argv),
            "env": list(env),
            "cwd": cwd or "/",
            "capabilities": {name: [] for name in CAPABILITY_SETS},
            "noNewPrivileges": True,
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        },
        "mounts": [
            {
                "destination": destination,
                "type": kind,
                "source": source,
                "options": options.split(","),
            }
            for destination, kind, source, options in MOUNTS
        ]
        + [
            {
                "destination": destination,
                "type": "bind",
                "source": source,
                "options": ["rbind", "rw", "nosuid", "nodev", "noexec"],
            }
            for destination, source in sorted((volumes or {}).items())
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
                {"type": "cgroup"},
                {"type": "network", "path": netns},
            ],
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def bundle_spec(
    bundle: Path,
    *,
    argv: Sequence[str] | None,
    env: Mapping[str, str] | None,
    netns: str,
    hostname: str,
    volumes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """runtime_spec for an unpacked bundle: its image config and its /etc/passwd."""
    bundle = Path(bundle).resolve()
    image = ImageConfig.of_bundle(bundle)
    rootfs = bundle / "rootfs"
    passwd = _read_text(rootfs / "etc/passwd")
    uid, gid = resolve_user(image.user, passwd, _read_text(rootfs / "etc/group"))
    return runtime_spec(
        rootfs=str(rootfs),
        argv=image.argv if argv is None else argv,
        env=process_env(image.env, env, home_directory(uid, passwd)),
        cwd=image.workdir,
        uid=uid,
        gid=gid,
        netns=netns,
        hostname=hostname,
        volumes=volumes,
    )


def bundle_user(bundle: Path) -> tuple[int, int]:
    """The uid and gid an unpacked bundle's image runs as (its User, its /etc/passwd)."""
    rootfs = Path(bundle).resolve() / "rootfs"
    return resolve_user(
        ImageConfig.of_bundle(bundle).user,
        _read_text(rootfs / "etc/passwd"),
        _read_text(rootfs / "etc/group"),
    )


def _read_text(path: Path) -> str:
    # Never follow the image's symlinks out of its root: read only plain files.
    if path.is_symlink() or not path.is_file():
        return ""
    return path.read_text(errors="replace")
