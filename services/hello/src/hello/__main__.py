"""Entry point: python -m hello.

Exit status: 0 after a clean shutdown; 1 if start-up fails (unusable build info,
cannot listen) or the shutdown could not drain in time; 2 on a configuration error.
"""

from __future__ import annotations

import os
import sys

from hello import accesslog, app, buildinfo, config, metrics, server

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def main(environ: Mapping[str, str] = os.environ) -> int:
    try:
        cfg = config.load_config(environ)
    except config.ConfigError as err:
        # Before the log exists (its format is configuration): one plain line.
        print(f"config error: {err}", file=sys.stderr)
        return 2
    log = accesslog.Logger(sys.stdout, cfg.log_level, cfg.log_format)
    try:
        info = buildinfo.load_build_info()
    except buildinfo.BuildInfoError as err:
        log.error("invalid build info", error=str(err))
        return 1
    log.info(
        "starting",
        version=info.version,
        revision=info.revision,
        threads=cfg.threads,
        shutdown_grace_seconds=cfg.shutdown_grace_seconds,
    )
    state = app.State()
    application = app.create_app(cfg, info, metrics.Registry(), state, log)
    return server.serve(application, cfg, state, log)


if __name__ == "__main__":
    sys.exit(main())
