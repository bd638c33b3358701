"""Public API of the slim Python runtime: Debian's Python trimmed to what one service imports.

    load("//tools/py_slim:defs.bzl", "py_slim_runtime")

See README.md here; images/slim.bzl builds the hello_slim bases with it.
"""

load("//tools/py_slim/private:py_slim.bzl", _py_slim_runtime = "py_slim_runtime")

py_slim_runtime = _py_slim_runtime
