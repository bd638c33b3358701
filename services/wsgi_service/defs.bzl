"""py_wsgi_service: the targets every service on the library declares alike.

    load("//services/wsgi_service:defs.bzl", "py_wsgi_service")

    py_wsgi_service(name = "greet", deps = [requirement("orjson")])

declares, for the package in src/NAME/ (the import root is src/):

    NAME_lib     py_library of src/NAME/*.py on //services/wsgi_service, with
                 its build info; what the images ship (the table's `library`)
    NAME         py_binary running src/NAME/__main__.py: `bazel run //services/NAME`
    build_info   src/NAME/build_info.json, only in stamped builds (--stamp)

The package lives in src/, not beside the BUILD file: the py_binary NAME is
the runfiles path services/NAME/NAME, and a package directory of the same
name there would be shadowed by the launcher file (`bazel run` could not
import it). py_image_layers maps files by import root, so the images still
hold /app/NAME/. A service's tests stay in its BUILD file.
"""

load("@bazel_skylib//rules:write_file.bzl", "write_file")
load("@rules_python//python:defs.bzl", "py_binary", "py_library")
load("//tools/stamping:defs.bzl", "stamp_json")

def py_wsgi_service(name, deps = [], app = None, data = [], binary_data = []):
    """NAME_lib, NAME and build_info for the service package src/NAME/.

    Args:
        name: the service's package name, e.g. "hello".
        deps: its third-party and other libraries besides the service library.
        app: for an app not written on the library (Flask, Django, any WSGI
            callable): its name as loader.py takes it, e.g.
            "shelf:create_app()"; NAME then runs `wsgi_service.main.serve_app`
            on it. Without it, NAME runs src/NAME/__main__.py.
        data: files the app reads at run time (templates, static files),
            shipped beside its code.
        binary_data: files only the py_binary NAME (`bazel run`) takes,
            which the images ship in layers of their own (a Django project's
            collected static files: //tools/django:defs.bzl).
    """
    py_library(
        name = name + "_lib",
        srcs = native.glob(["src/{}/**/*.py".format(name)]),
        data = [":build_info"] + data,
        imports = ["src"],
        deps = ["//services/wsgi_service"] + deps,
    )
    main = "src/{}/__main__.py".format(name)
    if app:
        main = name + "_main.py"
        write_file(
            name = name + "_main",
            out = main,
            content = [
                "import sys",
                "from wsgi_service import main",
                "sys.exit(main.serve_app({}))".format(repr(app)),
                "",
            ],
        )
    py_binary(
        name = name,
        srcs = [main],
        main = main,
        data = binary_data,
        deps = [":" + name + "_lib"],
    )

    # Read by the library's buildinfo.py (the /version endpoint) from the
    # service's package; from tools/stamping/workspace_status.sh. Unstamped
    # builds have no such file and serve the placeholders.
    stamp_json(
        name = "build_info",
        out = "src/{}/build_info.json".format(name),
        values = {
            "build_time": "{STABLE_BUILD_TIME}",
            "revision": "{STABLE_GIT_REVISION}",
            "version": "{STABLE_VERSION}",
        },
    )
