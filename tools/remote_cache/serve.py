"""Serve a Bazel HTTP remote cache on 127.0.0.1 until Ctrl-C.

    ./tools/bazel run //tools/remote_cache:serve [-- --port 9090 --dir ~/bazel-cache]

nginx with WebDAV PUT, on a free port (or --port), storing in a temporary
directory that is removed on exit (or in --dir, kept). Prints the user.bazelrc
line that points --config=remote-cache at it. On Ctrl-C or SIGTERM it stops
nginx and prints what it served.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from cache_server import MODES, CacheServer, CacheServerError
from processes import add_port_option, serve_until, stop_signals


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bazel run //tools/remote_cache:serve",
        description=__doc__.split("\n\n")[0],
    )
    add_port_option(parser)
    parser.add_argument(
        "--dir",
        type=Path,
        help="where to store the cache, kept after exit (default: a temporary "
        "directory, removed on exit); relative to where bazel was run",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="ok",
        help="read-only: refuse every upload; error: answer 500 to everything "
        "(to see how a build copes with a broken cache)",
    )
    args = parser.parse_args(argv)
    if args.dir is not None:
        # `bazel run` starts us in the runfiles; the user meant their own cwd.
        base = Path(os.environ.get("BUILD_WORKING_DIRECTORY", "."))
        args.dir = (base / args.dir.expanduser()).resolve()
        if args.dir.exists() and not args.dir.is_dir():
            parser.error(f"--dir {args.dir} exists and is not a directory")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = stop_signals()
    try:
        server = CacheServer(port=args.port, storage=args.dir, mode=args.mode)
        server.start()
    except CacheServerError as error:
        print(f"serve: error: {error}", file=sys.stderr)
        return 2
    try:
        kept = "kept after exit" if args.dir else "temporary, removed on exit"
        print(
            f"Bazel remote cache (nginx, mode {server.mode}) on {server.url}\n"
            f"  storage: {server.storage} ({kept})\n"
            f"Point builds at it with this line in user.bazelrc:\n"
            f"  common:remote-cache-endpoint --remote_cache={server.url}\n"
            f"and build with --config=remote-cache; or, for one command:\n"
            f"  ./tools/bazel build --config=remote-cache-settings "
            f"--remote_cache={server.url} //images:all\n"
            f"Ctrl-C stops it.",
            flush=True,
        )
        problem = serve_until(
            stop, lambda: None if server.running else "nginx exited unexpectedly"
        )
        if problem is not None:
            print(f"serve: error: {problem}", file=sys.stderr)
            return 1
    finally:
        server.stop()
    traffic = server.traffic()
    print(
        f"\nstopped. served {traffic.hits} hits "
        f"({traffic.bytes_served / 1e6:.1f} MB), {traffic.misses} misses; "
        f"stored {traffic.uploads} uploads ({traffic.bytes_stored / 1e6:.1f} MB); "
        f"{traffic.errors} errors",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
