"""smoke_tests: the HTTP smoke test of one image, once per platform."""

load("//platforms:platforms.bzl", "PLATFORMS")
load("//tools/pytest:defs.bzl", "pytest_test")

# The machines run amd64 natively. Every other platform runs under qemu-user:
# "exclusive", so that nothing else runs while binfmt_misc is changed (the
# tests lock it too).
NATIVE = "amd64"

def smoke_tests(name, srcs = ["smoke_test.py"], deps = []):
    """NAME_amd64_test, NAME_arm64_test and a test_suite NAME running both.

    Args:
        name: the name of an image index in //images, e.g. "hello".
        srcs: the test files (default: hello's smoke_test.py).
        deps: libraries they import (smoke_test.py as :smoke_lib, for its fixture).
    """
    image = name
    for platform in PLATFORMS:
        tags = [] if platform == NATIVE else ["exclusive"]
        pytest_test(
            name = "{}_{}_test".format(image, platform),
            size = "medium",
            srcs = srcs,
            data = ["//images:" + image],
            env = {
                "IMAGE": "$(rootpath //images:{})".format(image),
                "PLATFORM": platform,
            },
            # runc, umoci and binfmt_misc need real root: no Bazel sandbox, and
            # no remote worker (which runs actions unprivileged, in a sandbox).
            tags = ["no-sandbox", "no-remote-exec"] + tags,
            deps = deps + [
                "//platforms:image_platforms",
                "//tests/lib:skips",
                "//tools/container",
            ],
        )
    native.test_suite(
        name = name,
        tests = [":{}_{}_test".format(image, platform) for platform in PLATFORMS],
    )
