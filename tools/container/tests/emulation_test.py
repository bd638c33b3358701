"""arm64_emulation's decisions, against a fake binfmt_misc directory (no root),
and the binfmt rules and ELF headers it reads.
"""

from __future__ import annotations

import multiprocessing
import platform
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from container import emulation as emulation_module
from container import (
    BinfmtRule,
    ContainerError,
    EmulationUnavailable,
    arm64_emulation,
    emulation_for,
    is_static_elf,
    parse_entry,
    read_rule,
)

DEBIAN_QEMU_AARCH64 = (
    r":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    r"\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff"
    r"\xfe\xff\xff\xff:/usr/bin/qemu-aarch64:OPF"
)


# binfmt_misc ------------------------------------------------------------------


def test_binfmt_rule_round_trips_and_gains_f_once() -> None:
    rule = BinfmtRule.parse(DEBIAN_QEMU_AARCH64)
    assert rule.name == "qemu-aarch64"
    assert rule.interpreter == "/usr/bin/qemu-aarch64"
    assert rule.flags == "OPF"
    assert rule.line() == DEBIAN_QEMU_AARCH64
    assert rule.with_flags("F").flags == "OPF"
    assert (
        BinfmtRule.parse(DEBIAN_QEMU_AARCH64.replace(":OPF", ":OP"))
        .with_flags("F")
        .flags
        == "OPF"
    )


def test_read_rule_skips_comments(tmp_path: Path) -> None:
    conf = tmp_path / "qemu-aarch64.conf"
    conf.write_text(f"# made by qemu\n\n{DEBIAN_QEMU_AARCH64}\n")
    assert read_rule(conf) == BinfmtRule.parse(DEBIAN_QEMU_AARCH64)
    conf.write_text("# nothing\n")
    with pytest.raises(ValueError, match="expected one rule"):
        read_rule(conf)


def test_parse_entry() -> None:
    text = (
        "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: POF\noffset 0\n"
        "magic 7f454c46\n"
    )
    entry = parse_entry(text)
    assert entry["state"] == "enabled"
    assert entry["interpreter"] == "/usr/bin/qemu-aarch64"
    assert entry["flags"] == "POF"


def elf(interpreter: bool) -> bytes:
    """A minimal 64-bit little-endian ELF header with one program header."""
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)  # e_phoff
    struct.pack_into("<HH", header, 0x36, 56, 1)  # e_phentsize, e_phnum
    program = bytearray(56)
    struct.pack_into("<I", program, 0, 3 if interpreter else 1)  # PT_INTERP or PT_LOAD
    return bytes(header + program)


def test_is_static_elf() -> None:
    assert is_static_elf(elf(interpreter=False))
    assert not is_static_elf(elf(interpreter=True))
    assert not is_static_elf(b"#!/bin/sh\n")


@pytest.fixture
def fake_binfmt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A binfmt_misc directory as mounted, a qemu conf naming a static interpreter."""
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    binfmt = tmp_path / "binfmt_misc"
    binfmt.mkdir()
    (binfmt / "register").write_text("")
    (binfmt / "status").write_text("enabled\n")
    qemu = tmp_path / "qemu-aarch64"
    qemu.write_bytes(elf(interpreter=False))
    qemu.chmod(0o755)
    conf = tmp_path / "qemu-aarch64.conf"
    conf.write_text(
        DEBIAN_QEMU_AARCH64.replace("/usr/bin/qemu-aarch64", str(qemu)).replace(
            ":OPF", ":OP"
        )
    )
    return {"binfmt": binfmt, "conf": conf, "lock": tmp_path / "lock", "qemu": qemu}


def emulation(paths: dict[str, Path]) -> Any:
    return arm64_emulation(
        conf=paths["conf"], binfmt_misc=paths["binfmt"], lock=paths["lock"]
    )


def kernel_adds_entry(paths: dict[str, Path]) -> None:
    """What the kernel does on a write to register: an entry appears."""
    rule = BinfmtRule.parse((paths["binfmt"] / "register").read_text())
    (paths["binfmt"] / rule.name).write_text(
        f"enabled\ninterpreter {rule.interpreter}\nflags: {rule.flags}\n"
    )


def test_emulation_registers_with_f_and_unregisters(
    fake_binfmt: dict[str, Path],
) -> None:
    with emulation(fake_binfmt):
        written = (fake_binfmt["binfmt"] / "register").read_text()
        assert written == f"{read_rule(fake_binfmt['conf']).line()}F"
        # Users hold the registration's file, not the lock (only held to join).
        assert (fake_binfmt["lock"].parent / "lock.qemu-aarch64").exists()
        assert not fake_binfmt["lock"].exists()
        kernel_adds_entry(fake_binfmt)
    assert (fake_binfmt["binfmt"] / "qemu-aarch64").read_text() == "-1"
    assert not list(fake_binfmt["lock"].parent.glob("lock*"))


def test_emulation_uses_and_keeps_an_existing_registration(
    fake_binfmt: dict[str, Path],
) -> None:
    entry = fake_binfmt["binfmt"] / "qemu-aarch64"
    entry.write_text("enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: OCF\n")
    with emulation(fake_binfmt):
        pass
    assert (fake_binfmt["binfmt"] / "register").read_text() == ""
    assert entry.read_text().startswith("enabled\n")


def test_emulation_is_reentrant(fake_binfmt: dict[str, Path]) -> None:
    entry = fake_binfmt["binfmt"] / "qemu-aarch64"
    with emulation(fake_binfmt):
        kernel_adds_entry(fake_binfmt)
        with emulation(fake_binfmt):
            pass
        assert entry.read_text().startswith("enabled\n"), "the inner one unregistered"
    assert entry.read_text() == "-1"


# Several users at once, in several processes -----------------------------------


def user(paths: dict[str, Path], entered: Any, leave: Any, done: Any) -> None:
    """A user in a process of its own: enters, says so, waits to be told to leave."""
    with emulation(paths):
        entered.set()
        leave.wait(30)
    done.set()


class Users:
    """Users of the emulation, each in a forked process, entered and left at will."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths
        self.context = multiprocessing.get_context("fork")
        self.running: list[Any] = []

    def enter(self) -> Any:
        entered, leave, done = (self.context.Event() for _ in range(3))
        process = self.context.Process(
            target=user, args=(self.paths, entered, leave, done)
        )
        process.start()
        assert entered.wait(30), "a user did not get the emulation"
        handle = (process, leave, done)
        self.running.append(handle)
        return handle

    def leave(self, handle: Any) -> None:
        process, leave, done = handle
        leave.set()
        process.join(30)
        assert done.is_set() and process.exitcode == 0, "a user failed to leave"
        self.running.remove(handle)

    def close(self) -> None:
        for process, leave, _ in self.running:
            leave.set()
            process.join(30)


@pytest.fixture
def users(fake_binfmt: dict[str, Path]) -> Iterator[Users]:
    running = Users(fake_binfmt)
    yield running
    running.close()


def test_two_users_overlap_and_the_last_one_out_unregisters(
    fake_binfmt: dict[str, Path], users: Users
) -> None:
    register = fake_binfmt["binfmt"] / "register"
    entry = fake_binfmt["binfmt"] / "qemu-aarch64"
    first = users.enter()
    assert register.read_text().endswith("F"), "the first user did not register"
    kernel_adds_entry(fake_binfmt)
    register.write_text("")
    second = users.enter()  # at once: the first one holds nothing exclusively
    assert register.read_text() == "", "the second user registered again"
    users.leave(first)  # the first one out, while the second one runs
    assert entry.read_text().startswith("enabled\n"), "unregistered under a user"
    third = users.enter()  # joins the registration the first one made
    users.leave(second)
    assert entry.read_text().startswith("enabled\n"), "unregistered under a user"
    users.leave(third)
    assert entry.read_text() == "-1", "the last one out did not unregister"
    assert sorted(path.name for path in fake_binfmt["lock"].parent.iterdir()) == [
        "binfmt_misc",
        "qemu-aarch64",
        "qemu-aarch64.conf",
    ], "left files behind"


def test_a_registration_made_before_anyone_came_is_left_alone(
    fake_binfmt: dict[str, Path], users: Users
) -> None:
    entry = fake_binfmt["binfmt"] / "qemu-aarch64"
    before = "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: OCF\n"
    entry.write_text(before)
    first = users.enter()
    second = users.enter()
    users.leave(first)
    users.leave(second)  # the last one out: still not its to undo
    assert entry.read_text() == before
    assert (fake_binfmt["binfmt"] / "register").read_text() == ""


def test_a_user_that_dies_does_not_keep_the_registration(
    fake_binfmt: dict[str, Path], users: Users
) -> None:
    entry = fake_binfmt["binfmt"] / "qemu-aarch64"
    first = users.enter()
    kernel_adds_entry(fake_binfmt)
    second = users.enter()
    first[0].kill()  # SIGKILL: no exit code of its own runs
    first[0].join(30)
    users.running.remove(first)
    assert entry.read_text().startswith("enabled\n")
    users.leave(second)  # the dead one's shared lock went with its process
    assert entry.read_text() == "-1"


def test_the_last_user_out_unmounts_what_a_user_mounted(
    fake_binfmt: dict[str, Path], users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    binfmt = fake_binfmt["binfmt"]
    register = binfmt / "register"
    register.unlink()  # not mounted: mounting makes register appear

    def mount(_source: str, target: Path, _fstype: str) -> None:
        (target / "register").write_text("")

    monkeypatch.setattr(emulation_module, "_mount", mount)
    monkeypatch.setattr(emulation_module, "_umount", lambda target: register.unlink())
    first = users.enter()
    assert register.exists()
    second = users.enter()
    users.leave(first)
    assert register.exists(), "unmounted under a user"
    users.leave(second)
    assert not register.exists(), "the last one out did not unmount"


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        ("no conf", "does not exist"),
        ("no interpreter", "is missing"),
        ("dynamic interpreter", "dynamically linked"),
        ("disabled", "binfmt_misc is disabled"),
        ("registered without F", "without the F flag"),
        ("registered but disabled", "registered but disabled"),
    ],
)
def test_emulation_unavailable_says_why(
    fake_binfmt: dict[str, Path], breakage: str, reason: str
) -> None:
    entry = fake_binfmt["binfmt"] / "qemu-aarch64"
    if breakage == "no conf":
        fake_binfmt["conf"].unlink()
    elif breakage == "no interpreter":
        fake_binfmt["qemu"].unlink()
    elif breakage == "dynamic interpreter":
        fake_binfmt["qemu"].write_bytes(elf(interpreter=True))
    elif breakage == "disabled":
        (fake_binfmt["binfmt"] / "status").write_text("disabled\n")
    elif breakage == "registered without F":
        entry.write_text("enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: OC\n")
    else:
        entry.write_text("disabled\ninterpreter /usr/bin/qemu-aarch64\nflags: F\n")
    with (
        pytest.raises(EmulationUnavailable, match=reason) as raised,
        emulation(fake_binfmt),
    ):
        pass
    # Its own error, not a test framework's: tests turn it into a skip
    # (tests/lib/skips.py, whose test checks that).
    assert isinstance(raised.value, ContainerError)
    assert "cannot run arm64 images" in str(raised.value)
    assert not list(fake_binfmt["lock"].parent.glob("lock*"))


def test_emulation_is_native_on_arm64(
    fake_binfmt: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    fake_binfmt["conf"].unlink()  # not even looked at
    with emulation(fake_binfmt):
        pass
    assert (fake_binfmt["binfmt"] / "register").read_text() == ""


def test_emulation_for_another_architecture_fails_on_entering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    manager = emulation_for("s390x")  # Nothing raised yet: callers enter it.
    with pytest.raises(EmulationUnavailable, match="cannot run s390x images on amd64"):
        with manager:
            pass
