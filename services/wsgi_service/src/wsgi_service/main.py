"""A service's entry point in one call: `sys.exit(main.run("NAME", create_app))`.

Exit status: 0 after a clean shutdown; 1 if start-up fails (unusable build
info, cannot listen) or the shutdown could not drain in time; 2 on a
configuration error (the server's settings, the service's own, or a
connection limit the process's open-files limit cannot hold).
"""

from __future__ import annotations

import os
import sys

from wsgi_service import accesslog, buildinfo, config, connections, server
from wsgi_service.app import Runtime, State
from wsgi_service.metrics import Metrics

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    AppFactory = Callable[[Runtime, Mapping[str, str]], Callable[..., Any]]

EXIT_CONFIG = 2


def run(
    package: str,
    create_app: AppFactory,
    environ: Mapping[str, str] = os.environ,
    build_info_path: str | None = None,
) -> int:
    """Configure, build the app with create_app(runtime, environ), serve it
    (inside the middleware: server.py) until SIGTERM or SIGINT, drain; return the exit
    status. create_app may return any WSGI application.

    package: the service's package, which names it (the SERVICE_build_info
    metric, the Server header) and holds its build_info.json.
    """
    try:
        cfg = config.load_config(environ)
        connections.reserve_file_descriptors(cfg.max_connections)
    except config.ConfigError as err:
        return _config_error(err)
    log = accesslog.Logger(sys.stdout, cfg.log_level, cfg.log_format, background=True)
    try:
        return _run(package, create_app, environ, build_info_path, cfg, log)
    finally:
        log.close()


def _run(
    package: str,
    create_app: AppFactory,
    environ: Mapping[str, str],
    build_info_path: str | None,
    cfg: config.ServerConfig,
    log: accesslog.Logger,
) -> int:
    try:
        path = build_info_path or buildinfo.path_in_package(package)
        info = buildinfo.load_build_info(path)
    except buildinfo.BuildInfoError as err:
        log.error("invalid build info", error=str(err))
        return server.EXIT_FAILURE
    runtime = Runtime(package, cfg, info, Metrics(package, info), State(), log)
    try:
        application = create_app(runtime, environ)
    except config.ConfigError as err:
        return _config_error(err)
    log.info(
        "starting",
        version=info.version,
        revision=info.revision,
        threads=cfg.threads,
        shutdown_grace_seconds=cfg.shutdown_grace_seconds,
        max_connections=cfg.max_connections,
    )
    return server.serve(application, runtime)


def serve_app(spec: str, environ: Mapping[str, str] = os.environ) -> int:
    """run() for any WSGI app, named as loader.py says ("shelf:create_app()"):
    what `python -m wsgi_service` and a service's py_binary call."""
    from wsgi_service import loader

    try:
        loader.parse(spec)
    except ValueError as err:
        return _config_error(config.ConfigError(f"{loader.VARIABLE}={spec!r}: {err}"))
    return run(
        loader.package_of(spec),
        lambda runtime, env: loader.load_app(spec),
        environ,
    )


def _config_error(err: config.ConfigError) -> int:
    # Before the log exists (its format is configuration): one plain line.
    print(f"config error: {err}", file=sys.stderr)
    return EXIT_CONFIG
