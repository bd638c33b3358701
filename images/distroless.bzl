"""distroless_bases: the static, cc, python3 and python3_debug bases of one architecture.

Each base is an oci_image on top of the one before, one layer per Debian
package group (see debian_packages.toml), as Google's distroless builds them:

    static         base-files, netbase, tzdata, media-types, CA bundle, accounts, /tmp, /home/nonroot
    cc             + libc6, libssl, libgcc, libstdc++ ...
    python3        + the Python 3.13 runtime, python3 symlinks, /etc/ld.so.cache
                     (ctypes.util.find_library, libraries loaded by name); bytecode
                     comes with each service (stdlib_pyc.bzl)
    python3_debug  + busybox at /busybox (a shell: debug only)
"""

load("@debian//:packages.bzl", "PACKAGES")
load("//tools/debian:defs.bzl", "ca_bundle", "dpkg_status")
load("//tools/ldconfig:defs.bzl", "ld_so_cache")
load("//tools/oci:defs.bzl", "oci_image", "oci_layer")
load(":config.bzl", "BUILD_TIME_ONLY", "BUSYBOX_APPLETS", "DEBIAN_EXCLUDES", "NONROOT", "PARTS_OF_IMAGES", "PYTHON")

def _installed(arch, group):
    return [p for p in PACKAGES[arch][group] if p not in BUILD_TIME_ONLY]

def _package_layer(name, arch, group, files = {}, **kwargs):
    """One layer: a package group's data, its dpkg status entries, and extra files."""
    packages = _installed(arch, group)
    dpkg_status(
        name = name + "_status",
        tags = PARTS_OF_IMAGES,
        packages = packages,
        controls = ["@debian//{}:{}_control".format(arch, p) for p in packages],
        md5sums = ["@debian//{}:{}_md5sums".format(arch, p) for p in packages],
        excludes = DEBIAN_EXCLUDES,
    )
    oci_layer(
        name = name,
        tags = PARTS_OF_IMAGES,
        tars = ["@debian//{}:{}".format(arch, p) for p in packages],
        excludes = DEBIAN_EXCLUDES,
        files = dict(files, **{":" + name + "_status": "/var/lib/dpkg/status.d/"}),
        **kwargs
    )

# buildifier: disable=unnamed-macro
# (It declares one family of targets per architecture, named after it.)
def distroless_bases(arch):
    """Declares static_ARCH, cc_ARCH, python3_ARCH and python3_debug_ARCH.

    Args:
        arch: "amd64" or "arm64" (a key of PACKAGES).
    """
    ca_bundle(
        name = "ca_bundle_" + arch,
        tags = PARTS_OF_IMAGES,
        data_tar = "@debian//{}:ca-certificates".format(arch),
    )
    _package_layer(
        name = "static_layer_" + arch,
        arch = arch,
        group = "static",
        directories = ["/home/nonroot"],
        files = {
            ":accounts": "/etc/",
            ":ca_bundle_" + arch: "/etc/ssl/certs/ca-certificates.crt",
        },
        modes = {"/home/nonroot": "0700"},
        owners = {"/home/nonroot": NONROOT},
    )
    oci_image(
        name = "static_" + arch,
        tags = PARTS_OF_IMAGES,
        architecture = arch,
        env = {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
        },
        tars = [":static_layer_" + arch],
    )

    _package_layer(name = "cc_layer_" + arch, arch = arch, group = "cc")
    oci_image(
        name = "cc_" + arch,
        tags = PARTS_OF_IMAGES,
        architecture = arch,
        base = ":static_" + arch,
        tars = [":cc_layer_" + arch],
    )

    # What ldconfig would write at install time (maintainer scripts never run
    # here): every library of the static, cc and python3 packages, for
    # ctypes.util.find_library (which runs ldconfig -p) and dlopen by name.
    ld_so_cache(
        name = "ld_so_cache_" + arch,
        tags = PARTS_OF_IMAGES,
        arch = arch,
        tars = ["@debian//{}:{}".format(arch, p) for group in ("static", "cc", "python3") for p in _installed(arch, group)],
        # What the layers leave out is not in the image, so not in its cache.
        excludes = DEBIAN_EXCLUDES,
    )
    _package_layer(
        name = "python3_layer_" + arch,
        arch = arch,
        files = {":ld_so_cache_" + arch: "/etc/ld.so.cache"},
        group = "python3",
        symlinks = {
            "/usr/bin/python3": PYTHON,
            "/usr/bin/python": PYTHON,
        },
    )
    oci_image(
        name = "python3_" + arch,
        tags = PARTS_OF_IMAGES,
        architecture = arch,
        base = ":cc_" + arch,
        entrypoint = ["/usr/bin/" + PYTHON],
        env = {"LANG": "C.UTF-8"},
        tars = [":python3_layer_" + arch],
    )

    _package_layer(
        name = "debug_layer_" + arch,
        arch = arch,
        group = "debug",
        symlinks = dict(
            {"/busybox/busybox": "/usr/bin/busybox"},
            **{"/busybox/" + applet: "busybox" for applet in BUSYBOX_APPLETS}
        ),
    )
    oci_image(
        name = "python3_debug_" + arch,
        tags = PARTS_OF_IMAGES,
        architecture = arch,
        base = ":python3_" + arch,
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/busybox"},
        tars = [":debug_layer_" + arch],
    )
