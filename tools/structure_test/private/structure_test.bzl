"""container_structure_test: container-structure-test configs run against an OCI image layout."""

load("@rules_python//python:defs.bzl", "py_test")

_RUNNER = Label("//tools/structure_test/private:runner.py")
_RUNNER_LIB = Label("//tools/structure_test/private:runner_lib")

def _check_platform(platform):
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        fail("platform: {} is not a platform; expected OS/ARCH[/VARIANT], e.g. \"linux/arm64\"".format(repr(platform)))
    return platform

def container_structure_test(name, image, configs, platform = None, **kwargs):
    """A test running container-structure-test `configs` against `image`.

    Shaped like container_structure_test of @container_structure_test (and of
    rules_oci's examples): `image` and `configs` mean the same, and configs
    written for it run unchanged here, with stricter checking (unknown keys
    are errors). File, metadata and license tests read the image layout
    directly; command tests run each command in a runc container of the image,
    so targets with commandTests need tags = ["no-sandbox"] (another
    architecture's image runs under qemu, whose registration tests share).

    Args:
        name: test name.
        image: an oci_image, or an oci_image_index (every platform in it is
            tested, unless `platform` picks one).
        configs: container-structure-test YAML (or JSON) files, schemaVersion "2.0.0" or "1.0.0".
        platform: "linux/amd64", "linux/arm64", ...: the one platform of an index to test.
        **kwargs: passed to the underlying py_test (size, tags, timeout, ...).
    """
    args = ["--image", "$(rootpath {})".format(image)]
    if platform:
        args.append("--platform=" + _check_platform(platform))
    args.extend(["$(rootpaths {})".format(config) for config in configs])
    py_test(
        name = name,
        srcs = [_RUNNER],
        main = _RUNNER,
        args = args,
        data = [image] + configs,
        deps = [_RUNNER_LIB],
        **kwargs
    )
