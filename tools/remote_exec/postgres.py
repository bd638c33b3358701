"""A throwaway PostgreSQL cluster: BuildGrid's scheduler keeps its state in one.

BuildGrid takes no other database for its scheduler (it refuses SQLite). This
makes a cluster in a given directory (initdb), serves it on a UNIX socket in
that directory only (no TCP port), with durability off (it lives as long as
the grid), and stops it. PostgreSQL refuses to run as root: as root, it runs as
the `postgres` user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from processes import parent_death_signal, stop_process


class PostgresError(RuntimeError):
    """PostgreSQL is missing, or its cluster could not be made or started."""


def find_bin_dir() -> Path:
    """Debian's /usr/lib/postgresql/<version>/bin (the newest, if several)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if not found:
        raise PostgresError(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres). "
            "The build root has it: run this through ./tools/bazel run; elsewhere "
            "apt-get install postgresql."
        )
    return Path(found[-1]).parent


class Postgres:
    """One PostgreSQL server with its data and socket under `directory`."""

    def __init__(self, directory: Path, *, start_timeout: float = 60) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.socket_dir = directory / "socket"
        self._start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log = directory / "postgres.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresError(
                    "running as root, PostgreSQL needs a 'postgres' user to run as "
                    "(Debian's postgresql package creates it)"
                ) from None
            self._user = "postgres"

    @property
    def url(self) -> str:
        """An SQLAlchemy URL for BuildGrid: psycopg 3, over the UNIX socket."""
        return f"postgresql+psycopg://bgd@/bgd?host={self.socket_dir}"

    def start(self) -> None:
        bin_dir = find_bin_dir()
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            for path in (self.directory, self.socket_dir):
                shutil.chown(path, self._user, self._user)
        self._run(
            [str(bin_dir / "initdb"), "--pgdata", str(self.data), "--username", "bgd",
             "--auth", "trust", "--encoding", "UTF8", "--no-sync", "--no-instructions"],
        )  # fmt: skip
        log = self._log.open("ab")
        self._process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(self.data),
             "-k", str(self.socket_dir), "-c", "listen_addresses=",
             # A throwaway cluster: speed over durability.
             "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            user=self._user, group=self._user, extra_groups=[] if self._user else None,
            start_new_session=True, preexec_fn=parent_death_signal,
        )  # fmt: skip
        log.close()
        self._wait_until_ready(bin_dir)
        self._run(
            [str(bin_dir / "createdb"), "-h", str(self.socket_dir), "-U", "bgd", "bgd"]
        )

    def _wait_until_ready(self, bin_dir: Path) -> None:
        deadline = time.monotonic() + self._start_timeout
        ready = [
            str(bin_dir / "pg_isready"),
            "-q",
            "-h",
            str(self.socket_dir),
            "-U",
            "bgd",
        ]
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise PostgresError(f"PostgreSQL exited at start:\n{self.log_tail()}")
            if subprocess.run(ready, check=False).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise PostgresError(
                    f"PostgreSQL did not accept connections within "
                    f"{self._start_timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False,
            user=self._user, group=self._user, extra_groups=[] if self._user else None,
        )  # fmt: skip
        if result.returncode != 0:
            raise PostgresError(
                f"{Path(command[0]).name} failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )

    def log_tail(self, lines: int = 20) -> str:
        if not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Fast shutdown (SIGINT: disconnect clients, no checkpoint wait)."""
        process, self._process = self._process, None
        stop_process(process, first_signal="SIGINT")
