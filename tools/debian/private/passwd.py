"""Write /etc/passwd, /etc/group and /etc/nsswitch.conf for an image.

    passwd.py [--spec users.json] --passwd-out passwd --group-out group
              [--nsswitch-out nsswitch.conf]

No package's maintainer script runs in a distroless image (base-passwd
would create these files), so they are generated. Without --spec the
accounts are distroless's: root (0), nobody (65534) and nonroot (65532,
home /home/nonroot), every shell /sbin/nologin, and the groups root,
nobody, tty (5), staff (50) and nonroot. A spec is JSON of the same shape
as DEFAULT_SPEC below:

    {"users": [{"name", "uid", "gid", "gecos", "home", "shell"}, ...],
     "groups": [{"name", "gid", "members": [user names]}, ...]}

nsswitch.conf matters because glibc without one looks hosts up in DNS
before /etc/hosts; the one written here lists only the sources glibc has
built in ("files" and "dns"), as no other NSS module is in the image.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_SPEC: dict[str, Any] = {
    "users": [
        {
            "name": "root",
            "uid": 0,
            "gid": 0,
            "gecos": "root",
            "home": "/root",
            "shell": "/sbin/nologin",
        },
        {
            "name": "nobody",
            "uid": 65534,
            "gid": 65534,
            "gecos": "nobody",
            "home": "/nonexistent",
            "shell": "/sbin/nologin",
        },
        {
            "name": "nonroot",
            "uid": 65532,
            "gid": 65532,
            "gecos": "nonroot",
            "home": "/home/nonroot",
            "shell": "/sbin/nologin",
        },
    ],
    "groups": [
        {"name": "root", "gid": 0, "members": []},
        {"name": "nobody", "gid": 65534, "members": []},
        {"name": "tty", "gid": 5, "members": []},
        {"name": "staff", "gid": 50, "members": []},
        {"name": "nonroot", "gid": 65532, "members": []},
    ],
}

NSSWITCH = """\
# Name Service Switch configuration: the image has no NSS modules beyond
# glibc's built-in "files" and "dns" sources.
passwd:         files
group:          files
shadow:         files
gshadow:        files

hosts:          files dns
networks:       files

protocols:      files
services:       files
ethers:         files
rpc:            files
"""

# What shadow-utils' useradd accepts by default, minus the trailing '$'
# that only Samba machine accounts use.
NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
MAX_ID = 2**32 - 2  # (uid_t)-1 means "no id" to the kernel


class SpecError(Exception):
    """A spec that would write a broken passwd or group file."""


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str


@dataclasses.dataclass(frozen=True)
class Group:
    name: str
    gid: int
    members: tuple[str, ...]


def _field(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = entry.get(key)
    # bool is an int in Python; a JSON true is no id.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SpecError(f"{where}: {key!r} must be a {kind.__name__}")
    return value


def _check_id(value: int, where: str) -> int:
    if not 0 <= value <= MAX_ID:
        raise SpecError(f"{where}: id {value} is out of range 0..{MAX_ID}")
    return value


def _check_text(value: str, where: str) -> str:
    if ":" in value or "\n" in value:
        raise SpecError(f"{where}: {value!r} may not contain ':' or a newline")
    return value


def _check_name(value: str, where: str) -> str:
    if not NAME.fullmatch(value):
        raise SpecError(f"{where}: {value!r} is not a valid user or group name")
    return value


def parse_user(entry: dict[str, Any], index: int) -> User:
    where = f"users[{index}]"
    name = _check_name(_field(entry, "name", str, where), where)
    where = f"user {name}"
    home = _check_text(_field(entry, "home", str, where), where)
    shell = _check_text(_field(entry, "shell", str, where), where)
    if not home.startswith("/") or not shell.startswith("/"):
        raise SpecError(f"{where}: home and shell must be absolute paths")
    return User(
        name=name,
        uid=_check_id(_field(entry, "uid", int, where), where),
        gid=_check_id(_field(entry, "gid", int, where), where),
        gecos=_check_text(entry.get("gecos", ""), where),
        home=home,
        shell=shell,
    )


def parse_group(entry: dict[str, Any], index: int) -> Group:
    where = f"groups[{index}]"
    name = _check_name(_field(entry, "name", str, where), where)
    members = entry.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise SpecError(f"group {name}: 'members' must be a list of user names")
    gid = _check_id(_field(entry, "gid", int, f"group {name}"), f"group {name}")
    return Group(name, gid, tuple(members))


def _unique(values: list[Any], what: str) -> None:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise SpecError(f"duplicate {what}: {', '.join(map(str, duplicates))}")


def parse_spec(spec: dict[str, Any]) -> tuple[list[User], list[Group]]:
    users = [parse_user(entry, i) for i, entry in enumerate(spec.get("users", []))]
    groups = [parse_group(entry, i) for i, entry in enumerate(spec.get("groups", []))]
    _unique([u.name for u in users], "user names")
    _unique([u.uid for u in users], "uids")
    _unique([g.name for g in groups], "group names")
    _unique([g.gid for g in groups], "gids")
    gids = {g.gid for g in groups}
    for user in users:
        if user.gid not in gids:
            raise SpecError(f"user {user.name}: primary gid {user.gid} has no group")
    names = {u.name for u in users}
    for group in groups:
        unknown = [m for m in group.members if m not in names]
        if unknown:
            raise SpecError(f"group {group.name}: unknown members {', '.join(unknown)}")
    return users, groups


def passwd_text(users: list[User]) -> str:
    # The password lives in /etc/shadow ("x"); the image has none, so no
    # account can log in with a password.
    return "".join(
        f"{u.name}:x:{u.uid}:{u.gid}:{u.gecos}:{u.home}:{u.shell}\n" for u in users
    )


def group_text(groups: list[Group]) -> str:
    return "".join(f"{g.name}:x:{g.gid}:{','.join(g.members)}\n" for g in groups)


def load_accounts(path: Path | None) -> tuple[list[User], list[Group]]:
    """The accounts of the spec file, or distroless's without one."""
    if path is None:
        return parse_spec(DEFAULT_SPEC)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(spec, dict):
            raise SpecError("expected a JSON object with users and groups")
        return parse_spec(spec)
    except (SpecError, json.JSONDecodeError) as error:
        raise SpecError(f"{path}: {error}") from None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--spec", type=Path, help="users and groups (JSON); default: distroless's"
    )
    parser.add_argument(
        "--passwd-out", required=True, type=Path, help="the passwd file to write"
    )
    parser.add_argument(
        "--group-out", required=True, type=Path, help="the group file to write"
    )
    parser.add_argument("--nsswitch-out", type=Path, help="the nsswitch.conf to write")
    args = parser.parse_args(argv)
    try:
        users, groups = load_accounts(args.spec)
        args.passwd_out.write_text(passwd_text(users), encoding="utf-8")
        args.group_out.write_text(group_text(groups), encoding="utf-8")
        if args.nsswitch_out:
            args.nsswitch_out.write_text(NSSWITCH, encoding="utf-8")
    except (SpecError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
