"""bench_image: an image measured beside the shipped ones, as a two-platform index."""

load("//images:config.bzl", "NONROOT", "PARTS_OF_IMAGES")
load("//platforms:platforms.bzl", "ARCHES", "arch_select")
load("//tools/oci:defs.bzl", "oci_image", "oci_image_index")

def bench_image(name, base, entrypoint, tars, arch_tars = None, env = {}, workdir = "/app"):
    """NAME: an oci_image_index for every platform; NAME_image, the image behind it.

    Configured as images/service.bzl configures a service: nonroot, port 8080.

    Args:
        name: the index, e.g. "hello_nopyc".
        base: a base image name in //images, suffixed with _ARCH, e.g. "python3".
        entrypoint: what the container runs.
        tars: layers on top of the base, the same on every platform.
        arch_tars: a layer name suffixed with _ARCH, under `tars`, e.g.
            "//images:debug_layer".
        env: environment variables.
        workdir: the working directory.
    """
    per_arch = arch_select({arch: [arch_tars + "_" + arch] for arch in ARCHES}) if arch_tars else []
    oci_image(
        name = name + "_image",
        tags = PARTS_OF_IMAGES,
        base = arch_select({arch: "//images:{}_{}".format(base, arch) for arch in ARCHES}),
        entrypoint = entrypoint,
        env = env,
        exposed_ports = ["8080/tcp"],
        tars = per_arch + tars,
        user = NONROOT,
        workdir = workdir,
    )
    oci_image_index(
        name = name,
        images = [":" + name + "_image"],
        platforms = ARCHES.values(),
    )
