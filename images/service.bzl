"""service_images: every image of one Python service, for every platform."""

load("//platforms:platforms.bzl", "arch_select")
load("//tools/oci:defs.bzl", "oci_image", "oci_image_index", "oci_load", "oci_platform_image", "py_image_layers")
load(":config.bzl", "ARCHES", "NONROOT", "PYTHON")
load(":slim.bzl", "python3_slim_bases")
load(":stdlib_pyc.bzl", "stdlib_pyc_layers")

# Variant -> the base it is built on (a per-architecture image in this
# package). {name} is the service: a slim base holds only what it imports.
VARIANTS = {
    "": "python3",
    "_debug": "python3_debug",
    "_slim": "{name}_python3_slim",
}

# Variants whose base has no bytecode: they get the service's own layer of
# .pyc files for the standard library it imports (stdlib_pyc.bzl). The slim
# base has its own.
STDLIB_PYC_VARIANTS = ["", "_debug"]

def _per_arch(base):
    return arch_select(
        {arch: ":{}_{}".format(base, arch) for arch in ARCHES},
        no_match_error = "base: there is no {} base for this platform; images are built for {}".format(base, ", ".join(ARCHES)),
    )

def service_images(name, binary, module, port, labels, stamp_labels = {}):
    """NAME, NAME_debug, NAME_slim (indexes for every platform), NAME[_VARIANT]_linux_ARCH and NAME[_VARIANT]_load.

    Args:
        name: image name, e.g. "hello".
        binary: the service's py_binary.
        module: what `python -m` runs, e.g. "hello".
        port: the port the service listens on.
        labels: org.opencontainers.image.* labels.
        stamp_labels: labels taken from the workspace status in stamped builds
            (--stamp), e.g. {"org.opencontainers.image.version": "{STABLE_VERSION}"};
            stamped images are also `created` at the commit time. Unstamped
            builds use `labels` alone.
    """
    py_image_layers(
        name = name + "_layers",
        binary = binary,
    )
    env = {
        "PYTHONPATH": "/app:/app/site-packages",
        # The root filesystem is read-only; the .pyc files are built in.
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PORT": str(port),
    }
    python3_slim_bases(
        name = name + "_python3_slim",
        app = ":" + name + "_layers",
        module = module,
        env = env,
    )
    stdlib_pyc_layers(
        name = name + "_stdlib_pyc",
        app = ":" + name + "_layers",
        module = module,
        env = env,
    )
    for variant, base in VARIANTS.items():
        image = name + variant
        stdlib_pyc = arch_select({arch: [":{}_stdlib_pyc_{}".format(name, arch)] for arch in ARCHES}) if variant in STDLIB_PYC_VARIANTS else []
        oci_image(
            name = image + "_image",
            base = _per_arch(base.format(name = name)),
            tars = stdlib_pyc + [":" + name + "_layers"],
            # No shell: python runs the module directly.
            entrypoint = ["/usr/bin/" + PYTHON, "-m", module],
            env = env,
            exposed_ports = ["{}/tcp".format(port)],
            labels = labels,
            stamp_labels = stamp_labels,
            stamp_created = "{STABLE_BUILD_TIME}" if stamp_labels else "",
            user = NONROOT,
            workdir = "/app",
        )
        oci_image_index(
            name = image,
            images = [":" + image + "_image"],
            platforms = ARCHES.values(),
        )
        for arch, platform in ARCHES.items():
            oci_platform_image(
                name = "{}_linux_{}".format(image, arch),
                image = ":" + image + "_image",
                platform = platform,
            )
        oci_load(
            name = image + "_load",
            image = ":" + image,
            repo_tags = ["{}:latest".format(image)],
        )
