"""python3_slim_bases: a service's own Python base, trimmed to what it imports.

    static            base-files, netbase, tzdata, media-types, CA bundle, accounts, /tmp, /home/nonroot
    + runtime         python3.13, the standard-library modules the service imports and the
                      shared libraries they need (from the cc and python3 package groups)
    + runtime .pyc    those modules precompiled

There is no cc layer: libc and the few other libraries needed are in the
runtime layer. See py_slim_runtime in //tools/py_slim:defs.bzl for how the
runtime is chosen, and config.bzl for the allowlist and the excludes.
"""

load("@debian//:packages.bzl", "PACKAGES")
load("//platforms:platform_files.bzl", "platform_files")
load("//tools/oci:defs.bzl", "oci_image", "oci_layer")
load("//tools/py_slim:defs.bzl", "py_slim_reports", "py_slim_runtime")
load(
    ":config.bzl",
    "ARCHES",
    "BUILD_TIME_ONLY",
    "PARTS_OF_IMAGES",
    "PYTHON",
    "PYTHON_PYC_DEBUG_RANGES",
    "PYTHON_PYC_INVALIDATION",
    "PYTHON_SLIM_ALLOWLIST",
    "PYTHON_SLIM_EXCLUDES",
    "PYTHON_SLIM_LIBRARIES",
    "PYTHON_STDLIB",
    "SLIM_GZIP_LEVEL",
)

# The runtime is chosen from these package groups (debian_packages.toml).
_GROUPS = ["cc", "python3"]

# As the python3 base (distroless.bzl).
ENV = {"LANG": "C.UTF-8"}

def python3_slim_bases(name, app, module, env, requests, volumes = [], jobs = {}):
    """Declares NAME_ARCH for every architecture, the layers behind it and NAME_report.

    Args:
        name: prefix of the targets, e.g. "hello_python3_slim".
        app: the service's py_image_layers target, or a list of it and its
            other layers (the probe runs the service from them).
        module: what `python -m` runs, e.g. "hello".
        env: the service image's environment (PYTHONPATH, ...), for the probe.
        volumes: directories a deployment mounts writable (the probe's own).
        jobs: name -> [module, args...] run before the service (py_slim's `jobs`).
        requests: "METHOD /PATH" requests the probe sends while recording the imports.
    """
    for arch in ARCHES:
        packages = [p for group in _GROUPS for p in PACKAGES[arch][group] if p not in BUILD_TIME_ONLY]
        runtime = "{}_runtime_{}".format(name, arch)
        py_slim_runtime(
            name = runtime,
            tags = PARTS_OF_IMAGES,
            app = [app] if type(app) == "string" else app,
            module = module,
            env = dict(ENV, **env),
            requests = requests,
            volumes = volumes,
            jobs = jobs,
            allowlist = PYTHON_SLIM_ALLOWLIST,
            excludes = PYTHON_SLIM_EXCLUDES,
            libraries = PYTHON_SLIM_LIBRARIES,
            arch = arch,
            packages = {"@debian//{}:{}".format(arch, p): p for p in packages},
            controls = {"@debian//{}:{}_control".format(arch, p): p for p in packages},
            md5sums = {"@debian//{}:{}_md5sums".format(arch, p): p for p in packages},
            python = "/usr/bin/" + PYTHON,
            stdlib = PYTHON_STDLIB,
            invalidation = PYTHON_PYC_INVALIDATION,
            debug_ranges = PYTHON_PYC_DEBUG_RANGES,
        )

        # The slim image is the one built for size: its own two layers take
        # gzip's best level (about 3 % smaller for three times the CPU, paid
        # only when what the service imports changes). The layers it shares
        # with the other images keep the default, so they stay one blob.
        oci_layer(
            name = "{}_layer_{}".format(name, arch),
            tags = PARTS_OF_IMAGES,
            gzip_level = SLIM_GZIP_LEVEL,
            tars = [":" + runtime],
            symlinks = {
                "/usr/bin/python3": PYTHON,
                "/usr/bin/python": PYTHON,
            },
        )
        native.filegroup(
            name = runtime + "_pyc",
            tags = PARTS_OF_IMAGES,
            srcs = [":" + runtime],
            output_group = "pyc",
        )
        oci_layer(
            name = "{}_pyc_layer_{}".format(name, arch),
            tags = PARTS_OF_IMAGES,
            gzip_level = SLIM_GZIP_LEVEL,
            tars = [":{}_pyc".format(runtime)],
        )
        oci_image(
            name = "{}_{}".format(name, arch),
            tags = PARTS_OF_IMAGES,
            architecture = arch,
            base = ":static_" + arch,
            entrypoint = ["/usr/bin/" + PYTHON],
            env = ENV,
            tars = [
                ":{}_layer_{}".format(name, arch),
                ":{}_pyc_layer_{}".format(name, arch),
            ],
        )

    # What each architecture's runtime kept and left out (py_slim's report),
    # for the release's VEX statements (tools/release/vex.py): NAME_report/ARCH.report.txt,
    # each built through the platform transition of the images, so by the
    # images' own actions.
    for arch, platform in ARCHES.items():
        platform_files(
            name = "{}_report_{}".format(name, arch),
            srcs = [":{}_runtime_{}".format(name, arch)],
            output_group = "report",
            platform = platform,
            tags = PARTS_OF_IMAGES,
        )
    py_slim_reports(
        name = name + "_report",
        reports = {":{}_report_{}".format(name, arch): arch for arch in ARCHES},
        tags = PARTS_OF_IMAGES,
    )
