"""The `pip` module extension: third-party Python from a hashed lock, offline-friendly.

Shaped like rules_python's:

    pip = use_extension("//tools/pypi:extensions.bzl", "pip")
    pip.parse(hub_name = "pypi", requirements_lock = "//:requirements_lock.txt")
    use_repo(pip, "pypi")

then `@pypi//waitress` or `load("@pypi//:requirements.bzl", "requirement")`.
The lock is installed with the build's own Python and pip
(`--require-hashes --no-deps --only-binary=:all:`); see private/install.py.
"""

load("//tools/pypi/private:hub_repository.bzl", "hub_repository")

_parse = tag_class(
    doc = "Installs one requirements lock as a hub repository.",
    attrs = {
        "hub_name": attr.string(mandatory = True, doc = "Name of the repository, e.g. `pypi`."),
        "python_interpreter": attr.string(
            default = "/usr/bin/python3.13",
            doc = "Python (with pip) that installs the lock; the toolchain's interpreter.",
        ),
        "requirements_lock": attr.label(mandatory = True, doc = "A `--generate-hashes` lock file."),
    },
)

def _pip_impl(module_ctx):
    for mod in module_ctx.modules:
        for parse in mod.tags.parse:
            hub_repository(
                name = parse.hub_name,
                python_interpreter = parse.python_interpreter,
                requirements_lock = parse.requirements_lock,
            )

pip = module_extension(
    implementation = _pip_impl,
    tag_classes = {"parse": _parse},
)
