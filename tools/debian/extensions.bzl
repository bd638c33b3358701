"""The `debian` module extension: pinned Debian packages from a lock, for image layers.

    debian = use_extension("//tools/debian:extensions.bzl", "debian")
    debian.lock(name = "debian", lock = "//images:debian_packages.lock.json")
    use_repo(debian, "debian")

Every .deb is fetched by Bazel's downloader, pinned by sha256 (deb.debian.org
first, snapshot.debian.org as the fallback for superseded versions), then split
into data.tar / control / md5sums. Targets: `@debian//amd64:python3_data`
(the data tars of a layer group), `@debian//arm64:libc6` (one package), and
`load("@debian//:packages.bzl", "PACKAGES")`.
"""

load("//tools/debian/private:deb_repository.bzl", "deb_hub", "deb_package", "repo_name")

_lock = tag_class(
    doc = "A lock written by tools/debian/private/resolve.py.",
    attrs = {
        "name": attr.string(mandatory = True, doc = "Name of the hub repository."),
        "lock": attr.label(mandatory = True, allow_single_file = True),
    },
)

def _debian_impl(module_ctx):
    for mod in module_ctx.modules:
        for tag in mod.tags.lock:
            lock = json.decode(module_ctx.read(tag.lock))
            if lock.get("version") != 1:
                fail("{}: unsupported lock version {}; regenerate it with ./tools/bazel run //images:debian_lock.update".format(tag.lock, lock.get("version")))
            packages = []
            for p in lock["packages"]:
                name = repo_name(p["arch"], p["name"])

                # deb.debian.org first: the snapshot archive is the fallback
                # for versions the mirror has dropped.
                urls = sorted(p["urls"], key = lambda url: 0 if "deb.debian.org" in url else 1)
                deb_package(
                    name = name,
                    package = p["name"],
                    version = p["version"],
                    arch = p["arch"],
                    sha256 = p["sha256"],
                    urls = urls,
                )
                packages.append({"arch": p["arch"], "group": p["group"], "name": p["name"], "repo": name})
            deb_hub(name = tag.name, packages_json = json.encode(packages))

debian = module_extension(
    implementation = _debian_impl,
    tag_classes = {"lock": _lock},
)
