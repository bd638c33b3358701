"""The `pip` module extension: third-party Python from a hashed, multi-platform lock.

Shaped like rules_python's:

    pip = use_extension("//tools/pypi:extensions.bzl", "pip")
    pip.parse(hub_name = "pypi", requirements_lock = "//:requirements_lock.txt")
    use_repo(pip, "pypi")

then `@pypi//waitress`, `@pypi//uv:bin`, or
`load("@pypi//:requirements.bzl", "requirement")`.

The lock (written by the requirements_lock macro's updater, defs.bzl) names,
per distribution, the wheel of each target platform. Each wheel becomes its
own repository (private/whl_library.bzl), fetched only when a build needs it;
the hub `@pypi` (private/hub_repository.bzl) selects among them on the target
platform. Wheels are installed with pypa's `installer`, which the lock must
pin too.
"""

load("//tools/pypi/private:hub_repository.bzl", "hub_repository")
load("//tools/pypi/private:lock.bzl", "REQUIREMENTS_IN", "bazel_name", "parse_lock")
load("//tools/pypi/private:platforms.bzl", "platform_constraints")
load("//tools/pypi/private:whl_library.bzl", "whl_library")

_parse = tag_class(
    doc = "Makes one hub repository, and a repository per wheel, from one lock.",
    attrs = {
        "hub_name": attr.string(mandatory = True, doc = "Name of the hub repository, e.g. `pypi`."),
        "python_interpreter": attr.string(
            default = "/usr/bin/python3.13",
            doc = "Python that runs the wheel installer at fetch time; the toolchain's interpreter.",
        ),
        "requirements_lock": attr.label(mandatory = True, doc = "A lock written by the requirements_lock macro."),
    },
)

def _lock_path(label):
    return label.package + "/" + label.name if label.package else label.name

def _hub(module_ctx, parse):
    hub = parse.hub_name
    lock = _lock_path(parse.requirements_lock)
    pins = {bazel_name(pin.name): pin for pin in parse_lock(module_ctx.read(parse.requirements_lock), lock)}
    installer = pins.get("installer")
    if installer == None or "any" not in installer.wheels:
        fail("{}: no pure-Python wheel of `installer`, which installs the wheels: add `installer` to requirements.in and regenerate the lock".format(lock))

    # The lock says what requires each distribution; the repositories need the reverse.
    deps = {name: [] for name in pins}
    for name, pin in pins.items():
        for parent in pin.via:
            if parent == REQUIREMENTS_IN or parent.startswith("-"):
                continue
            if bazel_name(parent) not in deps:
                fail("{}: {} is required by {}, which the lock does not pin; regenerate the lock".format(lock, pin.name, parent))
            deps[bazel_name(parent)].append(name)

    platforms = {}
    distributions = []
    for name, pin in sorted(pins.items()):
        repos = {}
        for platform, wheel in pin.wheels.items():
            if platform != "any":
                platforms[platform] = platform_constraints(platform, "{} ({})".format(lock, pin.name))
            repo = "{}_{}".format(hub, name) + ("" if platform == "any" else "_" + platform)
            whl_library(
                name = repo,
                hub = hub,
                distribution = pin.name,
                version = pin.version,
                filename = wheel.filename,
                url = wheel.url,
                sha256 = wheel.sha256,
                deps = sorted(deps[name]),
                installer_url = installer.wheels["any"].url,
                installer_sha256 = installer.wheels["any"].sha256,
                lock = lock,
                python_interpreter = parse.python_interpreter,
            )
            repos[platform] = repo
        distributions.append({"distribution": pin.name, "name": name, "repos": repos, "version": pin.version})
    hub_repository(
        name = hub,
        hub_name = hub,
        distributions = json.encode(distributions),
        lock = lock,
        platforms = json.encode(platforms),
    )

def _pip_impl(module_ctx):
    for mod in module_ctx.modules:
        for parse in mod.tags.parse:
            _hub(module_ctx, parse)

pip = module_extension(
    implementation = _pip_impl,
    tag_classes = {"parse": _parse},
)
