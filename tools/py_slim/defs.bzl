"""Public API of the slim Python runtime: Debian's Python trimmed to what one service imports.

    load("//tools/py_slim:defs.bzl", "py_slim_runtime")

See README.md here; images/slim.bzl builds the hello_slim bases with it.
"""

load("//tools/py_slim/private:py_slim.bzl", _py_slim_runtime = "py_slim_runtime")

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
