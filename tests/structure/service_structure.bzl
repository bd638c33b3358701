"""service_structure_tests: the structure tests of every image of one service of the table."""

load("@bazel_skylib//rules:write_file.bzl", "write_file")
load("//images:config.bzl", "PYTHON")
load("//images:service_table.bzl", "VARIANTS")
load("//platforms:platforms.bzl", "PLATFORMS")
load("//tools/structure_test:defs.bzl", "container_structure_test")

# python3.13 -> cpython-313, the tag of its .pyc files.
_PYC_TAG = "cpython-" + PYTHON.removeprefix("python").replace(".", "")

def _labels(service):
    """Unstamped images carry `labels`; a stamped label only has to be set."""
    return [
        {"key": key, "value": ".", "isRegex": True} if key in service.stamp_labels else {"key": key, "value": value}
        for key, value in service.labels.items()
    ]

def service_config(service, variant):
    """What the table says of one image of `service`, as a container-structure-test config.

    Args:
        service: the service's entry in the table (images/services.bzl).
        variant: the image's suffix in VARIANTS ("", "_debug", "_slim").
    Returns:
        The config, a dict (schemaVersion 2.0.0).
    """
    package = "/app/" + service.module.replace(".", "/")

    # The module the image starts from: the service's __main__, or for an
    # app named by the table (service.app), its package.
    main = package + ("/__init__.py" if service.app else "/__main__.py")
    load_app = "import {}.__main__".format(service.module)
    if service.app:
        load_app = "from wsgi_service import loader; loader.load_app({})".format(repr(service.app))

    # What a deployment gives the service (its deploy_env): loading the app
    # may need it (a Django project's settings).
    deploy_env = [{"key": key, "value": value} for key, value in service.deploy_env.items()]
    commands = [{
        "name": "the service imports every module it needs",
        "command": PYTHON,
        "args": ["-c", "{}; import waitress.server; print('ok')".format(load_app)],
        "envVars": deploy_env,
        "expectedOutput": ["^ok$"],
        "excludedError": ["."],
    }]
    if variant == "_debug":
        commands.append({
            "name": "busybox applets on PATH, as nonroot",
            "command": "sh",
            "args": ["-c", "id -u; ls " + main],
            "expectedOutput": ["^65532\\n{}$".format(main)],
        })
    if variant == "_slim":
        commands.append({
            "name": "every module the service imports, including the lazy ones",
            "command": PYTHON,
            "args": ["-c", "{}; import waitress.server, traceback, tempfile, logging; print('ok')".format(load_app)],
            "envVars": deploy_env,
            "expectedOutput": ["^ok$"],
            "excludedError": ["."],
        })
    return {
        "schemaVersion": "2.0.0",
        "metadataTest": {
            "entrypoint": ["/usr/bin/" + PYTHON, "-m", service.run_module],
            "exposedPorts": ["{}/tcp".format(service.port)],
            "envVars": [{"key": "PORT", "value": str(service.port)}] + [
                {"key": key, "value": value}
                for key, value in dict(service.run_env, **service.env).items()
            ],
            "labels": _labels(service),
            # What a deployment gives it (a Secret's SECRET_KEY) is never in the image.
            "unboundEnvVars": [{"key": key} for key in service.deploy_env],
        },
        "fileExistenceTests": [
            {
                "name": main.removeprefix("/app/"),
                "path": main,
                "shouldExist": True,
                "permissions": "-rw-r--r--",
                "uid": 0,
                "gid": 0,
            },
            {
                "name": main.removeprefix("/app/").removesuffix(".py") + " .pyc",
                "path": "{}/__pycache__/{}.{}.pyc".format(package, main.rpartition("/")[2].removesuffix(".py"), _PYC_TAG),
                "shouldExist": True,
                "permissions": "-rw-r--r--",
            },
            {"name": "no tests in the image", "path": package + "/tests", "shouldExist": False},
        ] + [
            # The mount point of each volume, the image's user's alone.
            {
                "name": "volume " + volume,
                "path": volume,
                "shouldExist": True,
                "permissions": "drwx------",
                "uid": 65532,
                "gid": 65532,
            }
            for volume in service.volumes
        ],
        "commandTests": commands,
    }

def service_structure_tests(service, configs):
    """IMAGE_linux_ARCH_test for every image of `service` and every platform.

    Each image is tested against what the table says of it (service_config,
    written to IMAGE_structure.json), service.yaml (every image of every
    service), NAME.yaml if there is one (what only this service's images hold),
    and the configs of its variant.

    Args:
        service: the service's entry in the table (images/services.bzl).
        configs: variant suffix -> the shared configs of that variant, for every
            suffix in VARIANTS.
    """
    missing = [variant for variant in VARIANTS if variant not in configs]
    if missing:
        fail("configs: no configs for the variants {}; give every variant in VARIANTS its own".format(missing))
    own = native.glob([service.name + ".yaml"], allow_empty = True)
    for variant in VARIANTS:
        image = service.name + variant
        own_variant = native.glob([image + ".yaml"], allow_empty = True) if variant else []
        write_file(
            name = image + "_structure",
            out = image + "_structure.json",
            content = [json.encode_indent(service_config(service, variant), indent = "  "), ""],
        )
        for arch, p in PLATFORMS.items():
            container_structure_test(
                name = "{}_linux_{}_test".format(image, arch),
                size = "medium",
                configs = [":{}_structure".format(image), "service.yaml"] + own + configs[variant] + own_variant,
                image = "//images:" + image,
                platform = p["platform"],
                # commandTests run in runc containers, which need real root: no sandbox,
                # no remote worker. arm64 ones run under qemu-user, registered
                # machine-wide with binfmt_misc and shared by every test that
                # needs it at the time (arm64_emulation): not exclusive.
                tags = ["no-remote-exec", "no-sandbox"],
            )
