"""service_images: every image of one Python service, for every platform."""

load("//platforms:platforms.bzl", "arch_select")
load("//tools/abi_check:defs.bzl", "abi_check")
load("//tools/oci:defs.bzl", "oci_image", "oci_image_index", "oci_load", "oci_platform_image", "py_image_layers")
load(":config.bzl", "ABI_CHECK_IGNORE", "ARCHES", "NONROOT", "PYTHON")
load(":slim.bzl", "python3_slim_bases")

# Variant -> the base it is built on (a per-architecture image in this
# package). {name} is the service: a slim base holds only what it imports.
VARIANTS = {
    "": "python3",
    "_debug": "python3_debug",
    "_slim": "{name}_python3_slim",
}

def _per_arch(base):
    return arch_select(
        {arch: ":{}_{}".format(base, arch) for arch in ARCHES},
        no_match_error = "base: there is no {} base for this platform; images are built for {}".format(base, ", ".join(ARCHES)),
    )

def service_images(name, library, module, port, labels, stamp_labels = {}):
    """NAME, NAME_debug, NAME_slim (indexes for every platform), NAME[_VARIANT]_linux_ARCH and NAME[_VARIANT]_load.

    Args:
        name: image name, e.g. "hello".
        library: the service's py_library (what `python -m` imports; its
            third-party code is taken for each image's platform).
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
        library = library,
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
    for variant, base in VARIANTS.items():
        image = name + variant
        oci_image(
            name = image + "_image_unchecked",
            base = _per_arch(base.format(name = name)),
            tars = [":" + name + "_layers"],
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

        # The image as it ships: building it (or anything that uses it) runs
        # the ABI check, which fails the build on an ELF file that would not
        # load on the image's platform.
        abi_check(
            name = image + "_image",
            image = ":" + image + "_image_unchecked",
            ignore = ABI_CHECK_IGNORE,
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
