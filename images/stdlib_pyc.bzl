"""stdlib_pyc_layers: one service's bytecode for the standard library it imports at start-up.

The python3 bases carry the standard library's sources only. Each service's
production and debug images add this layer: .pyc files for the modules the
service imports while it starts and serves (py_startup_pyc runs it at build
time, as the slim variant's probe does), so its cold start compiles nothing.
config.bzl says how they are compiled.
"""

load("@debian//:packages.bzl", "PACKAGES")
load("//tools/oci:defs.bzl", "oci_layer")
load("//tools/py_slim:defs.bzl", "py_startup_pyc")
load(
    ":config.bzl",
    "ARCHES",
    "BUILD_TIME_ONLY",
    "PARTS_OF_IMAGES",
    "PYTHON",
    "PYTHON_PYC_DEBUG_RANGES",
    "PYTHON_PYC_INVALIDATION",
    "PYTHON_SLIM_ALLOWLIST",
    "PYTHON_STDLIB",
)

# As the python3 base (distroless.bzl).
ENV = {"LANG": "C.UTF-8"}

def stdlib_pyc_layers(name, app, module, env, requests, volumes = [], jobs = {}, invalidation = PYTHON_PYC_INVALIDATION):
    """Declares NAME_ARCH for every architecture: an oci_layer of .pyc files.

    Args:
        name: prefix of the targets, e.g. "hello_stdlib_pyc".
        app: the service's py_image_layers target, or a list of it and its
            other layers (the probe runs the service from them).
        module: what `python -m` runs, e.g. "hello".
        env: the service image's environment (PYTHONPATH, ...), for the probe.
        volumes: directories a deployment mounts writable (the probe's own).
        jobs: name -> [module, args...] run before the service (py_slim's `jobs`).
        requests: "METHOD /PATH" requests the probe sends (service.bzl's
            probe_requests: the same as the slim runtime's).
        invalidation: "checked-hash" or "unchecked-hash" (PEP 552).
    """
    for arch in ARCHES:
        py_startup_pyc(
            name = "{}_{}_tar".format(name, arch),
            tags = PARTS_OF_IMAGES,
            app = [app] if type(app) == "string" else app,
            module = module,
            arch = arch,
            env = dict(ENV, **env),
            requests = requests,
            volumes = volumes,
            jobs = jobs,
            allowlist = PYTHON_SLIM_ALLOWLIST,
            tars = ["@debian//{}:{}".format(arch, p) for p in PACKAGES[arch]["python3"] if p not in BUILD_TIME_ONLY],
            python = "/usr/bin/" + PYTHON,
            stdlib = PYTHON_STDLIB,
            invalidation = invalidation,
            debug_ranges = PYTHON_PYC_DEBUG_RANGES,
        )
        oci_layer(
            name = "{}_{}".format(name, arch),
            tags = PARTS_OF_IMAGES,
            tars = [":{}_{}_tar".format(name, arch)],
        )
