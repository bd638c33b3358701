"""arm64 images on an amd64 machine: qemu-user through binfmt_misc, for a while.

    with emulation_for(architecture):   # nothing natively, arm64_emulation() else
        ...

Raises EmulationUnavailable, with the reason and what to install, where the
machine cannot do it; the caller decides what that means (a test skips).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import fcntl
import os
import platform
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from container.errors import ContainerError, EmulationUnavailable
from image_platforms import host_architecture

BINFMT_MISC = Path("/proc/sys/fs/binfmt_misc")
QEMU_AARCH64_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
# Held while a user joins or leaves (files beside it hold who uses what), so
# that no test unregisters what another one still runs on. /dev/shm is one
# directory for every build root and the host.
EMULATION_LOCK = Path("/dev/shm/bazel-python-containers-binfmt.lock")
EMULATION_LOCK_TIMEOUT = 600.0


@dataclass(frozen=True)
class BinfmtRule:
    """A binfmt_misc registration, :name:type:offset:magic:mask:interpreter:flags."""

    name: str
    kind: str
    offset: str
    magic: str
    mask: str
    interpreter: str
    flags: str

    @classmethod
    def parse(cls, line: str) -> BinfmtRule:
        line = line.strip()
        if len(line) < 2:
            raise ValueError("empty binfmt_misc rule")
        fields = line[1:].split(line[0])
        if len(fields) != 7:
            raise ValueError(
                f"a binfmt_misc rule has 7 fields, not {len(fields)}: {line!r}"
            )
        return cls(*fields)

    def with_flags(self, flags: str) -> BinfmtRule:
        missing = "".join(f for f in flags if f not in self.flags)
        return dataclasses.replace(self, flags=self.flags + missing)

    def line(self) -> str:
        return ":" + ":".join(dataclasses.astuple(self))


def read_rule(conf: Path) -> BinfmtRule:
    """The rule of a binfmt.d file (comments and blank lines skipped)."""
    lines = [
        line
        for line in conf.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", ";"))
    ]
    if len(lines) != 1:
        raise ValueError(f"{conf}: expected one rule, found {len(lines)}")
    return BinfmtRule.parse(lines[0])


def parse_entry(text: str) -> dict[str, str]:
    """A /proc/sys/fs/binfmt_misc/NAME file: enabled, interpreter, flags, ..."""
    entry: dict[str, str] = {}
    for line in text.splitlines():
        if line in ("enabled", "disabled"):
            entry["state"] = line
        else:  # "interpreter /usr/bin/qemu-aarch64", "flags: POF", ...
            key, _, value = line.partition(" ")
            entry[key.rstrip(":")] = value.strip()
    return entry


def is_static_elf(data: bytes) -> bool:
    """True for an ELF file with no program interpreter (static or static-pie)."""
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2):
        return False
    order = "<" if data[5] == 1 else ">"
    try:
        if data[4] == 2:  # 64-bit
            (phoff,) = struct.unpack_from(order + "Q", data, 0x20)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 0x36)
        else:
            (phoff,) = struct.unpack_from(order + "I", data, 0x1C)
            phentsize, phnum = struct.unpack_from(order + "HH", data, 0x2A)
        types = [
            struct.unpack_from(order + "I", data, phoff + index * phentsize)[0]
            for index in range(phnum)
        ]
    except struct.error:  # program headers beyond what was read: cannot tell
        return False
    return 3 not in types  # PT_INTERP


_emulation_depth = 0
_emulation_lock = threading.Lock()


@contextlib.contextmanager
def arm64_emulation(
    conf: Path = QEMU_AARCH64_CONF,
    binfmt_misc: Path = BINFMT_MISC,
    lock: Path = EMULATION_LOCK,
) -> Iterator[None]:
    """Let this machine run linux/arm64 binaries, in container roots too, for a while.

    Mounts binfmt_misc if it is not mounted and registers qemu-aarch64 from
    Debian's binfmt.d file (with the F flag: the kernel opens the interpreter
    now, so it need not exist in the container root) if it is not registered.
    Any number of users, in any number of processes, share one registration:
    the last one out undoes what users of this protocol did, and nothing that
    was there before the first one came (see _SharedUse). Raises
    EmulationUnavailable (with the reason) if the machine cannot do it.
    Re-entrant, and safe from several threads. Native on an arm64 machine.
    """
    global _emulation_depth
    if platform.machine() == "aarch64":
        yield
        return
    rule = _emulator_rule(conf)
    lock = _lock_path(lock)
    # The mount is per mount namespace (each build root has its own), the
    # registration is the kernel's: one set of users for each.
    mount_users = _SharedUse(lock.with_name(f"{lock.name}.mnt-{_mount_namespace()}"))
    rule_users = _SharedUse(lock.with_name(f"{lock.name}.{rule.name}"))
    with _exclusive_lock(lock, EMULATION_LOCK_TIMEOUT):
        mount_users.join()
        rule_users.join()
        try:
            if _mount_binfmt_misc(binfmt_misc):
                mount_users.record_done()
            if _register(binfmt_misc, rule):
                rule_users.record_done()
        except BaseException:
            _leave(binfmt_misc, rule, rule_users, mount_users)
            raise
    with _emulation_lock:
        _emulation_depth += 1
    try:
        yield
    finally:
        with _emulation_lock:
            _emulation_depth -= 1
        with _exclusive_lock(lock, EMULATION_LOCK_TIMEOUT):
            _leave(binfmt_misc, rule, rule_users, mount_users)


def _leave(
    binfmt_misc: Path, rule: BinfmtRule, rule_users: _SharedUse, mount_users: _SharedUse
) -> None:
    """One user's exit, under the exclusive lock: the last one undoes what users did."""
    try:
        if rule_users.leave_last() and (binfmt_misc / rule.name).exists():
            (binfmt_misc / rule.name).write_text("-1")
    finally:
        if mount_users.leave_last():
            _umount(binfmt_misc)


class _SharedUse:
    """Who uses a shared change of the machine, and whether one of them made it.

    Every user holds a shared flock on `path` while it uses the change; the
    file's content says whether a user of this protocol made the change (empty:
    it was there before anyone came, or it has not been made). join() and
    leave_last() run only under the exclusive setup lock, so nobody joins
    while a user checks whether it is the last: the last one out gets the
    flock exclusively, learns whether to undo the change, and removes the
    file. A user that dies releases its flock with its process, so a crash
    never leaves a change that nobody will undo.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def join(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # Cannot block: only leave_last() locks it exclusively, under the setup lock.
        fcntl.flock(fd, fcntl.LOCK_SH)
        self.fd = fd

    def record_done(self) -> None:
        assert self.fd is not None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, b"made by a user of arm64_emulation\n", 0)

    def leave_last(self) -> bool:
        """Stop using it; True if this was the last user and a user made the change."""
        if self.fd is None:
            return False
        os.close(self.fd)  # releases this user's shared lock
        self.fd = None
        fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # others still use it
            made = os.pread(fd, 64, 0) != b""
            self.path.unlink(missing_ok=True)
            return made
        finally:
            os.close(fd)


def _mount_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/mnt").st_ino
    except OSError:
        return 0


def _emulator_rule(conf: Path) -> BinfmtRule:
    if not conf.exists():
        raise EmulationUnavailable(
            f"cannot run arm64 images: {conf} does not exist"
            " (Debian: apt-get install qemu-user qemu-user-binfmt)"
        )
    try:
        rule = read_rule(conf).with_flags("F")
    except (OSError, ValueError) as err:
        raise EmulationUnavailable(f"cannot run arm64 images: {err}") from None
    interpreter = Path(rule.interpreter)
    if not os.access(interpreter, os.X_OK):
        raise EmulationUnavailable(
            f"cannot run arm64 images: the interpreter {interpreter} is missing"
            " (Debian: apt-get install qemu-user)"
        )
    with open(interpreter, "rb") as stream:
        head = stream.read(64 * 1024)
    if not is_static_elf(head):
        raise EmulationUnavailable(
            f"cannot run arm64 images: {interpreter} is dynamically linked and"
            " could not load its libraries inside a container root (install a"
            " static qemu-user)"
        )
    return rule


def _mount_binfmt_misc(binfmt_misc: Path) -> bool:
    """Mount binfmt_misc unless it is; True if this call mounted it."""
    if (binfmt_misc / "register").exists():
        return False
    try:
        _mount("binfmt_misc", binfmt_misc, "binfmt_misc")
    except OSError as err:
        raise EmulationUnavailable(
            f"cannot run arm64 images: mounting binfmt_misc on {binfmt_misc}"
            f" failed: {err.strerror}"
        ) from None
    return True


def _register(binfmt_misc: Path, rule: BinfmtRule) -> bool:
    """Register rule unless its name is registered; True if this call registered it."""
    status = (binfmt_misc / "status").read_text().strip()
    if status != "enabled":
        raise EmulationUnavailable(
            f"cannot run arm64 images: binfmt_misc is {status} on this machine"
        )
    entry = binfmt_misc / rule.name
    if entry.exists():
        found = parse_entry(entry.read_text())
        if found.get("state") != "enabled":
            raise EmulationUnavailable(
                f"cannot run arm64 images: {entry} is registered but disabled"
            )
        if "F" not in found.get("flags", ""):
            raise EmulationUnavailable(
                f"cannot run arm64 images in containers: {entry} is registered"
                f" without the F flag (flags {found.get('flags', '')!r}); its"
                " interpreter would have to be in the image"
            )
        return False
    try:
        with open(binfmt_misc / "register", "w") as register:
            register.write(rule.line())
    except OSError as err:
        raise EmulationUnavailable(
            f"cannot run arm64 images: registering {rule.name} with binfmt_misc"
            f" failed: {err.strerror}"
        ) from None
    return True


def _lock_path(path: Path) -> Path:
    """path, or the same name in the temporary directory where /dev/shm is missing."""
    if not path.parent.is_dir():
        return Path(tempfile.gettempdir()) / path.name
    return path


@contextlib.contextmanager
def _exclusive_lock(path: Path, timeout: float) -> Iterator[None]:
    """flock(path) for the duration; the file is removed after, leaving nothing behind.

    The holder unlinks the file before unlocking; whoever then gets the lock on
    the unlinked file sees that the path no longer names it, and starts over.
    """
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ContainerError(
                            f"waited {timeout:.0f} s for {path}: another test holds the"
                            " arm64 emulation"
                        ) from None
                    time.sleep(0.2)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                continue  # unlinked by the previous holder: lock the new file
            mine = os.fstat(fd)
            if (current.st_dev, current.st_ino) != (mine.st_dev, mine.st_ino):
                continue  # replaced meanwhile: lock the file the path names now
            try:
                yield
            finally:
                path.unlink(missing_ok=True)
            return
        finally:
            os.close(fd)  # releases the lock


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(source: str, target: Path, fstype: str) -> None:
    if (
        _libc().mount(source.encode(), str(target).encode(), fstype.encode(), 0, None)
        != 0
    ):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def _umount(target: Path) -> None:
    libc = _libc()
    if libc.umount2(str(target).encode(), 0) != 0:
        code = ctypes.get_errno()
        if code == errno.EBUSY:  # someone is reading it right now: detach
            if libc.umount2(str(target).encode(), 2) == 0:  # MNT_DETACH
                return
            code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(target))


def emulation_for(architecture: str) -> contextlib.AbstractContextManager[None]:
    """What running `architecture` images needs: nothing, or arm64_emulation()."""
    if architecture == host_architecture():
        return contextlib.nullcontext()
    if architecture == "arm64":
        return arm64_emulation()
    return _unavailable(f"cannot run {architecture} images on {host_architecture()}")


@contextlib.contextmanager
def _unavailable(reason: str) -> Iterator[None]:
    # A context manager, so that the error comes where emulations fail: on entering.
    raise EmulationUnavailable(reason)
    yield  # Unreachable; makes this a generator.


def check_can_run(architecture: str) -> None:
    """Raises ContainerError unless an `architecture` image can run here now."""
    if not architecture or architecture == host_architecture():
        return
    if architecture == "arm64" and (
        _emulation_depth > 0 or (BINFMT_MISC / "qemu-aarch64").exists()
    ):
        return
    if architecture == "arm64":
        raise ContainerError(
            "this is an arm64 image on an amd64 machine: run it inside"
            " `with arm64_emulation():` (or emulation_for(architecture))"
        )
    raise ContainerError(f"cannot run a {architecture} image on {host_architecture()}")
