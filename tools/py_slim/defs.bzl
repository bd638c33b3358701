"""Public API of the slim Python runtime: Debian's Python trimmed to what one service imports.

    load("//tools/py_slim:defs.bzl", "py_slim_runtime", "py_startup_pyc")

py_slim_runtime: the runtime, for slim images. py_startup_pyc: bytecode for
the standard-library modules a service imports at start-up, for images on the
full runtime. See README.md here; images/slim.bzl and images/stdlib_pyc.bzl
use them.
"""

load("//tools/py_slim/private:py_slim.bzl", _py_slim_runtime = "py_slim_runtime")
load("//tools/py_slim/private:py_startup_pyc.bzl", _py_startup_pyc = "py_startup_pyc")

py_slim_runtime = _py_slim_runtime
py_startup_pyc = _py_startup_pyc
