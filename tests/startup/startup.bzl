"""startup_import_test: one service's start-up imports against its list (NAME.txt)."""

load("//platforms:platform_files.bzl", "platform_files")
load("//tools/pytest:defs.bzl", "pytest_test")

# buildifier: disable=unnamed-macro
# (Its targets are named after the service's entry, whose name the table holds.)
def startup_import_test(service):
    """NAME_test: the modules NAME imports before its first request, against NAME.txt.

    Args:
        service: the service's entry in the table (images/services.bzl).
    """
    name = service.name
    platform_files(
        name = name + "_startup_modules",
        srcs = ["//images:{}_stdlib_pyc_amd64_tar".format(name)],
        output_group = "startup",
        platform = "//platforms:linux_amd64",
    )
    pytest_test(
        name = name + "_test",
        size = "small",
        srcs = ["startup_test.py"],
        data = [
            ":{}_startup_modules".format(name),
            "{}.txt".format(name),
        ],
        env = {
            "IMPORTED": "$(rootpath :{}_startup_modules)".format(name),
            "LISTED": "$(rootpath {}.txt)".format(name),
            "SERVICE": name,
        },
    )
