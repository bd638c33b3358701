"""Repository rules behind the `debian` extension: one repository per .deb, and a hub."""

def repo_name(arch, package):
    """Repository name of one package: debian_<arch>_<name>, with +, - and . made safe."""
    return "debian_{}_{}".format(arch, package.replace("+", "x").replace("-", "_").replace(".", "_"))

def _deb_package_impl(rctx):
    deb = "package.deb"
    result = rctx.download(
        url = rctx.attr.urls,
        output = deb,
        sha256 = rctx.attr.sha256,
        allow_fail = True,
    )
    if not result.success:
        fail((
            "Debian package {name} {version} ({arch}) could not be fetched with sha256 {sha256} " +
            "from any of:\n  {urls}\n{error}\nEither the mirror no longer has this version (Debian removes " +
            "superseded packages) or it served different bytes. Refresh the lock with\n" +
            "  ./tools/bazel run //images:debian_lock.update\nand commit images/debian_packages.lock.json."
        ).format(
            name = rctx.attr.package,
            version = rctx.attr.version,
            arch = rctx.attr.arch,
            sha256 = rctx.attr.sha256,
            urls = "\n  ".join(rctx.attr.urls),
            error = getattr(result, "error", ""),
        ))
    extracted = rctx.execute([
        rctx.attr.python_interpreter,
        rctx.path(rctx.attr._extract),
        "--deb",
        deb,
        "--data-out",
        "data.tar",
        "--control-out",
        "control",
        "--md5sums-out",
        "md5sums",
    ])
    if extracted.return_code != 0:
        fail("extracting Debian package {} ({}) failed:\n{}".format(rctx.attr.package, rctx.attr.arch, extracted.stderr))
    rctx.delete(deb)
    rctx.file("BUILD.bazel", """\
package(default_visibility = ["//visibility:public"])

exports_files(["data.tar", "control", "md5sums"])
""")

deb_package = repository_rule(
    implementation = _deb_package_impl,
    doc = "Downloads one pinned .deb and splits it into data.tar, control and md5sums.",
    attrs = {
        "arch": attr.string(mandatory = True),
        "package": attr.string(mandatory = True),
        "python_interpreter": attr.string(default = "/usr/bin/python3.13"),
        "sha256": attr.string(mandatory = True),
        "urls": attr.string_list(mandatory = True),
        "version": attr.string(mandatory = True),
        "_extract": attr.label(default = "//tools/debian/private:deb_extract.py"),
    },
)

def _deb_hub_impl(rctx):
    packages = json.decode(rctx.attr.packages_json)
    groups = {}
    for p in packages:
        groups.setdefault(p["arch"], {}).setdefault(p["group"], []).append(p)
    for arch, by_group in groups.items():
        lines = ['package(default_visibility = ["//visibility:public"])', ""]
        for group, members in sorted(by_group.items()):
            for kind in ("data", "control", "md5sums"):
                files = ['"@{}//:{}"'.format(p["repo"], "data.tar" if kind == "data" else kind) for p in members]
                lines.append('filegroup(\n    name = "{}_{}",\n    srcs = [{}],\n)\n'.format(group, kind, ", ".join(files)))
        for p in [p for members in by_group.values() for p in members]:
            for suffix, target in (("", "data.tar"), ("_control", "control"), ("_md5sums", "md5sums")):
                lines.append('alias(\n    name = "{}{}",\n    actual = "@{}//:{}",\n)\n'.format(p["name"], suffix, p["repo"], target))
        rctx.file(arch + "/BUILD.bazel", "\n".join(lines))
    summary = {
        arch: {group: sorted([p["name"] for p in members]) for group, members in by_group.items()}
        for arch, by_group in groups.items()
    }
    rctx.file("BUILD.bazel", "")
    rctx.file("packages.bzl", "# Generated from the Debian lock: arch -> group -> package names.\nPACKAGES = {}\n".format(json.encode_indent(summary, indent = "    ")))

deb_hub = repository_rule(
    implementation = _deb_hub_impl,
    doc = "@debian//ARCH:GROUP_data (data tars), GROUP_control, GROUP_md5sums, ARCH:PKG (data tar), ARCH:PKG_control, ARCH:PKG_md5sums; packages.bzl.",
    attrs = {"packages_json": attr.string(mandatory = True)},
)
