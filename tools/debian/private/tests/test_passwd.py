"""passwd.py writes distroless's accounts, or those of a spec."""

from __future__ import annotations

import json
from pathlib import Path

import passwd
import pytest


def run(tmp_path: Path, *extra: str) -> int:
    return passwd.main(
        [
            "--passwd-out",
            str(tmp_path / "passwd"),
            "--group-out",
            str(tmp_path / "group"),
            *extra,
        ]
    )


def test_distroless_accounts_by_default(tmp_path: Path) -> None:
    assert run(tmp_path, "--nsswitch-out", str(tmp_path / "nsswitch.conf")) == 0
    assert (tmp_path / "passwd").read_text() == (
        "root:x:0:0:root:/root:/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    )
    assert (tmp_path / "group").read_text() == (
        "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
    )
    nsswitch = (tmp_path / "nsswitch.conf").read_text()
    assert "\nhosts:          files dns\n" in nsswitch
    assert "passwd:         files\n" in nsswitch


def spec_file(tmp_path: Path, spec: dict) -> str:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return str(path)


def test_spec(tmp_path: Path) -> None:
    spec = {
        "users": [
            {
                "name": "root",
                "uid": 0,
                "gid": 0,
                "gecos": "root",
                "home": "/root",
                "shell": "/busybox/sh",
            },
            {
                "name": "app",
                "uid": 1000,
                "gid": 1000,
                "home": "/srv/app",
                "shell": "/sbin/nologin",
            },
        ],
        "groups": [
            {"name": "root", "gid": 0},
            {"name": "app", "gid": 1000, "members": ["root", "app"]},
        ],
    }
    assert run(tmp_path, "--spec", spec_file(tmp_path, spec)) == 0
    assert (tmp_path / "passwd").read_text() == (
        "root:x:0:0:root:/root:/busybox/sh\napp:x:1000:1000::/srv/app:/sbin/nologin\n"
    )
    assert (tmp_path / "group").read_text() == "root:x:0:\napp:x:1000:root,app\n"
    assert not (tmp_path / "nsswitch.conf").exists()


USER = {"name": "u", "uid": 1, "gid": 1, "home": "/h", "shell": "/s"}
GROUP = {"name": "u", "gid": 1}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"users": [USER, {**USER, "name": "v"}], "groups": [GROUP]},
            "duplicate uids: 1",
        ),
        ({"users": [USER], "groups": []}, "primary gid 1 has no group"),
        (
            {"users": [{**USER, "gecos": "a:b"}], "groups": [GROUP]},
            "may not contain ':'",
        ),
        ({"users": [{**USER, "uid": True}], "groups": [GROUP]}, "'uid' must be a int"),
        ({"users": [{**USER, "uid": -1}], "groups": [GROUP]}, "out of range"),
        (
            {"users": [{**USER, "name": "Root!"}], "groups": [GROUP]},
            "not a valid user or group name",
        ),
        ({"users": [{**USER, "home": "rel"}], "groups": [GROUP]}, "must be absolute"),
        (
            {"users": [USER], "groups": [{**GROUP, "members": ["ghost"]}]},
            "unknown members ghost",
        ),
        (
            {"users": [USER], "groups": [GROUP, {"name": "w", "gid": 1}]},
            "duplicate gids: 1",
        ),
    ],
)
def test_bad_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: dict, message: str
) -> None:
    path = spec_file(tmp_path, spec)
    assert run(tmp_path, "--spec", path) == 1
    error = capsys.readouterr().err
    assert path in error
    assert message in error
