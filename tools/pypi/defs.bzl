"""Public API of the third-party Python rules: the lock and its updater.

    load("//tools/pypi:defs.bzl", "requirements_lock")

    requirements_lock(
        name = "requirements",
        requirements_in = "requirements.in",
        lock = "requirements_lock.txt",
        python_version = "3.13",
        glibc = "2.41",
        platforms = ["linux_x86_64", "linux_aarch64"],
    )

makes, like rules_python's compile_pip_requirements:
- `NAME.update`: `bazel run` it to rewrite the lock (`-- --check` reports drift,
  `-- --upgrade` moves pins; see tools/pypi/private/update_lock.py);
- `NAME_test`: fails when the lock no longer satisfies requirements_in on every
  platform, without the network.
The `pip` extension (extensions.bzl) turns the lock into repositories.
"""

load("@rules_python//python:defs.bzl", "py_binary", "py_test")

_MAIN = Label("//tools/pypi/private:update_lock.py")
_LIB = Label("//tools/pypi/private:lock_updater")

def requirements_lock(name, requirements_in, lock, python_version, glibc, platforms, uv = "@pypi//uv:bin", **kwargs):
    """The updater and the consistency test of one requirements lock.

    Args:
        name: prefix of the targets.
        requirements_in: the hand-written requirements (a file in this package).
        lock: the lock file (in this package).
        python_version: MAJOR.MINOR of the Python the wheels are for.
        glibc: MAJOR.MINOR of the oldest glibc the wheels must run on.
        platforms: the lock's target platforms, `linux_<machine>`; the `pip`
            extension selects among them with @platforms constraints.
        uv: uv's scripts (a filegroup holding `uv`).
        **kwargs: passed to both targets (tags, visibility, ...).
    """
    command = "./tools/bazel run //{}:{}.update".format(native.package_name(), name)
    args = [
        "--requirements-in",
        "$(rootpath {})".format(requirements_in),
        "--lock",
        "$(rootpath {})".format(lock),
        "--python-version",
        python_version,
        "--glibc",
        glibc,
        "--command",
        "'{}'".format(command),
    ]
    for platform in platforms:
        args += ["--platform", platform]
    py_binary(
        name = name + ".update",
        srcs = [_MAIN],
        main = _MAIN,
        args = args + ["--uv", "$(rootpaths {})".format(uv)],
        data = [requirements_in, lock, uv],
        deps = [_LIB],
        **kwargs
    )
    py_test(
        name = name + "_test",
        size = "small",
        srcs = [_MAIN],
        main = _MAIN,
        args = args + ["--check", "--offline"],
        data = [requirements_in, lock],
        deps = [_LIB],
        **kwargs
    )
