"""Public API of the slim Python runtime: Debian's Python trimmed to what one service imports.

    load("//tools/py_slim:defs.bzl", "py_slim_reports", "py_slim_runtime", "py_startup_pyc")

py_slim_runtime: the runtime, for slim images. py_startup_pyc: bytecode for
the standard-library modules a service imports at start-up, for images on the
full runtime. py_slim_reports: the runtimes' reports (what each kept and left
out) at NAME/ARCH.report.txt. See README.md here; images/slim.bzl and images/stdlib_pyc.bzl
use them.
"""

load("//tools/py_slim/private:py_slim.bzl", _py_slim_runtime = "py_slim_runtime")
load("//tools/py_slim/private:py_startup_pyc.bzl", _py_startup_pyc = "py_startup_pyc")
load("//tools/py_slim/private:reports.bzl", _py_slim_reports = "py_slim_reports")

py_slim_reports = _py_slim_reports

def py_slim_runtime(name, app, **kwargs):
    """Debian's Python runtime trimmed to what one service imports (see the rule's doc).

    Args:
        name: target name.
        app: the service's layers (a py_image_layers target), built for the
            image's platform; the probe runs the same target built for the
            build machine.
        **kwargs: the rule's other attributes (module, env, requests, arch, ...).
    """
    _py_slim_runtime(name = name, app = app, probe_app = app, **kwargs)

def py_startup_pyc(name, app, **kwargs):
    """Bytecode for the standard-library modules a service imports at start-up (see the rule's doc).

    Args:
        name: target name.
        app: the service's layers (a py_image_layers target); the probe runs
            them built for the build machine.
        **kwargs: the rule's other attributes (module, env, requests, tars, ...).
    """
    _py_startup_pyc(name = name, probe_app = app, **kwargs)
