"""service_images: every image of one service of the table (services.bzl), for every platform."""

load("//platforms:platforms.bzl", "arch_select")
load("//tools/abi_check:defs.bzl", "abi_check")
load("//tools/oci:defs.bzl", "oci_image", "oci_image_index", "oci_layer", "oci_load", "oci_platform_image", "py_image_layers")
load(":config.bzl", "ABI_CHECK_IGNORE", "ARCHES", "NONROOT", "PARTS_OF_IMAGES", "PYTHON", "PYTHON_SLIM_PROBE_REQUESTS")
load(":service_table.bzl", "VARIANTS")
load(":slim.bzl", "python3_slim_bases")
load(":stdlib_pyc.bzl", "stdlib_pyc_layers")

# Variants whose base has no bytecode: they get the service's own layer of
# .pyc files for the standard library it imports (stdlib_pyc.bzl). The slim
# base has its own.
STDLIB_PYC_VARIANTS = ["", "_debug"]

def probe_requests(service):
    """What the build-time run of `service` is sent (slim runtime, start-up bytecode).

    Args:
        service: the service's entry in the table.
    Returns:
        "METHOD /PATH" strings (with "<TAB>CONTENT-TYPE<TAB>BODY" for a
        request with a typed body): its own requests, then what the library
        answers for every service.
    """
    return [
        "{} {}".format(r["method"], r["path"]) + ("" if r["content_type"] == None else "\t{}\t{}".format(r["content_type"], r["body"]))
        for r in service.requests
    ] + PYTHON_SLIM_PROBE_REQUESTS

def _per_arch(base):
    return arch_select(
        {arch: ":{}_{}".format(base, arch) for arch in ARCHES},
        no_match_error = "base: there is no {} base for this platform; images are built for {}".format(base, ", ".join(ARCHES)),
    )

# buildifier: disable=unnamed-macro
# (Its targets are named after the service's entry, whose name the table holds.)
def service_images(service):
    """NAME, NAME_debug, NAME_slim (indexes for every platform), NAME[_VARIANT]_linux_ARCH and NAME[_VARIANT]_load.

    Args:
        service: the service's entry in the table (service() in service_table.bzl).
    """
    name = service.name
    module = service.run_module
    port = service.port
    py_image_layers(
        name = name + "_layers",
        tags = PARTS_OF_IMAGES,
        library = service.library,
    )
    env = {
        "PYTHONPATH": "/app:/app/site-packages",
        # The root filesystem is read-only; the .pyc files are built in.
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PORT": str(port),
    }
    env.update(service.run_env)
    env.update(service.env)

    # The build-time run of the service: its code and its own layers, with
    # what a deployment gives it (volumes, its deploy_env, its jobs first).
    probe = dict(
        app = [":" + name + "_layers"] + service.layers,
        module = module,
        env = dict(env, **service.deploy_env),
        requests = probe_requests(service),
        volumes = service.volumes,
        jobs = service.jobs,
    )
    python3_slim_bases(name = name + "_python3_slim", **probe)
    stdlib_pyc_layers(name = name + "_stdlib_pyc", **probe)

    # The mount point of each volume (the root is read-only), the image's
    # user's alone, as distroless's /home/nonroot.
    volumes = []
    if service.volumes:
        oci_layer(
            name = name + "_volumes",
            tags = PARTS_OF_IMAGES,
            directories = service.volumes,
            modes = {v: "0700" for v in service.volumes},
            owners = {v: NONROOT for v in service.volumes},
        )
        volumes = [":" + name + "_volumes"]
    for variant, base in VARIANTS.items():
        image = name + variant
        stdlib_pyc = arch_select({arch: [":{}_stdlib_pyc_{}".format(name, arch)] for arch in ARCHES}) if variant in STDLIB_PYC_VARIANTS else []
        oci_image(
            name = image + "_image_unchecked",
            tags = PARTS_OF_IMAGES,
            base = _per_arch(base.format(name = name)),
            tars = stdlib_pyc + [":" + name + "_layers"] + service.layers + volumes,
            # No shell: python runs the module directly.
            entrypoint = ["/usr/bin/" + PYTHON, "-m", module],
            env = env,
            exposed_ports = ["{}/tcp".format(port)],
            labels = service.labels,
            stamp_labels = service.stamp_labels,
            stamp_created = "{STABLE_BUILD_TIME}" if service.stamp_labels else "",
            user = NONROOT,
            workdir = "/app",
        )

        # The image as it ships: building it (or anything that uses it) runs
        # the ABI check, which fails the build on an ELF file that would not
        # load on the image's platform.
        abi_check(
            name = image + "_image",
            tags = PARTS_OF_IMAGES,
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
