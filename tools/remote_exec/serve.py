"""Serve remote execution on 127.0.0.1 until Ctrl-C: BuildGrid and buildbox workers.

    ./tools/bazel run //tools/remote_exec:serve [-- --workers 2 --port 8980]

Starts BuildGrid (CAS, action cache, execution; its state in a throwaway
PostgreSQL) on a free port (or --port) and N buildbox workers (default 2), all
in one temporary directory, and prints the user.bazelrc line that points
--config=remote-exec at it. The workers run in this build root and take only
actions that ask for it (build-root=KEY). On Ctrl-C or SIGTERM everything
stops and the directory is removed.
"""

from __future__ import annotations

import argparse
import sys

from build_root_key import build_root_key, properties
from checkout import workspace_dir
from grid import Grid, GridError
from processes import add_port_option, serve_until, stop_signals


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bazel run //tools/remote_exec:serve",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="buildbox workers to start (default 2)"
    )
    add_port_option(parser)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: at least one worker is needed")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = stop_signals()
    # The checkout `bazel run` names: its build root key is the workers'.
    platform = properties(build_root_key(workspace_dir()))
    grid = Grid(properties=platform, workers=args.workers, port=args.port)
    try:
        grid.start()
    except GridError as error:
        print(f"serve: error: {error}", file=sys.stderr)
        return 2
    try:
        shown = ", ".join(f"{key}={value}" for key, value in sorted(platform.items()))
        print(
            f"BuildGrid remote execution on {grid.url} with {args.workers} "
            f"buildbox worker(s)\n"
            f"  workers take actions with platform {shown}\n"
            f"  state: {grid.directory} (temporary, removed on exit)\n"
            f"Point builds at it with this line in user.bazelrc:\n"
            f"  common:remote-exec-endpoint --remote_executor={grid.url}\n"
            f"and build with --config=remote-exec; or, for one command:\n"
            f"  ./tools/bazel build --config=remote-exec-settings "
            f"--remote_executor={grid.url} //images:all\n"
            f"Ctrl-C stops it.",
            flush=True,
        )
        reported: set[str] = set()

        def check() -> str | None:
            if not grid.server_running:
                return f"BuildGrid exited unexpectedly:\n{grid.server_log()}"
            for worker in grid.workers:
                if not worker.running and worker.name not in reported:
                    reported.add(worker.name)
                    print(
                        f"serve: warning: {worker.name} stopped; its actions go to "
                        f"the others:\n{worker.log_tail()}",
                        file=sys.stderr,
                        flush=True,
                    )
            return None

        problem = serve_until(stop, check)
        if problem is not None:
            print(f"serve: error: {problem}", file=sys.stderr)
            return 1
    finally:
        grid.stop()
    print(
        "\nstopped: BuildGrid, its workers and PostgreSQL; state removed.", flush=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
