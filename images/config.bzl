"""What the images are made of: a data table, read by distroless.bzl and BUILD.bazel."""

load("//platforms:platforms.bzl", _ARCHES = "ARCHES")

# Image architecture -> the platform its images are built for (platforms.bzl).
ARCHES = _ARCHES

# The tags of every target an image is made of (bases, layers, runtimes, the
# per-platform oci_image): built only through the image indexes and
# oci_platform_image, whose platform transition configures them. Without
# "manual", `bazel build //images:all` and `bazel test //...` would build each
# of them once more in the top-level configuration: the same bytes a second
# time, half the actions of a clean build. `bazel build //images:NAME` still
# builds any of them.
PARTS_OF_IMAGES = ["manual"]

# Package contents no image needs. Measured in docs/OPTIMIZATION.md.
DEBIAN_EXCLUDES = [
    # Documentation: each package keeps only its copyright file (the licence
    # texts it names are in /usr/share/common-licenses, from base-files).
    # "[!c]*" is every other file (README, NEWS, AUTHORS, TODO, examples...);
    # changelogs are the only other names that start with a c.
    "usr/share/doc/*/[!c]*",
    "usr/share/doc/*/changelog*",
    "usr/share/info",
    "usr/share/lintian",
    "usr/share/locale",
    "usr/share/man",
    # For a desktop, a debugger or the host, never for a container: menu
    # entries and icons, gdb's pretty-printers for libstdc++, binfmt_misc
    # registrations (run .pyc files directly on the host), reportbug scripts.
    "usr/share/applications",
    "usr/share/pixmaps",
    "usr/share/gcc",
    "usr/share/gdb",
    "usr/share/binfmts",
    "usr/lib/binfmt.d",
    "usr/share/bug",
    # glibc's iconv converters (8 MB): Python has its own codecs and never
    # calls iconv; nothing else in the images does either.
    "usr/lib/*/gconv",
    # libc-bin's tools that do nothing here: ldd and tzselect are shell
    # scripts (there is no shell), localedef and zic compile locale and time
    # zone sources the image does not have, iconvconfig indexes the gconv
    # modules left out above. ldconfig stays (ctypes.util.find_library runs
    # it), and so do getent, getconf, locale, iconv and zdump.
    "usr/bin/ldd",
    "usr/bin/tzselect",
    "usr/bin/localedef",
    "usr/sbin/zic",
    "usr/sbin/iconvconfig",
    # Shared libraries of the python3 packages that no file in the images
    # links (checked with readelf; the slim variant's ELF walk agrees) and
    # nothing loads: the wide-character build of expat (Python links
    # libexpat), ncurses' forms and menus (the curses module binds the core
    # and panels only) and terminfo compiler, GNU history alone (libreadline
    # has it built in), and Kerberos' SPAKE pre-authentication plugin (for
    # kinit; Kerberos is there only because libtirpc links GSS-API).
    "usr/lib/*/libexpatw.so*",
    "usr/lib/*/libformw.so*",
    "usr/lib/*/libmenuw.so*",
    "usr/lib/*/libtic.so*",
    "usr/lib/*/libhistory.so*",
    "usr/lib/*/krb5/plugins",
    # CPython's own regression tests and the extension modules only they
    # import ("for internal use by Python only"): the standard-library walk
    # (//tests/stdlib) skips `test` for the same reason.
    "usr/lib/python3*/test",
    "usr/lib/python3*/lib-dynload/_test*",
    "usr/lib/python3*/lib-dynload/_ctypes_test.*",
    "usr/lib/python3*/lib-dynload/_xxtestfuzz.*",
    "usr/lib/python3*/lib-dynload/xx*",
]

# ELF files of the bases that never load, on purpose, each with the reason:
# the ABI check (//tools/abi_check) skips them, and fails if one would load
# after all. None today: the python3 base carries every library its standard
# library links, as distroless's python3-debian13 does.
ABI_CHECK_IGNORE = {}

# Used only at build time (to generate the CA bundle), never installed.
BUILD_TIME_ONLY = ["ca-certificates"]

# The Python the images ship, and where its standard library lives.
PYTHON = "python3.13"
PYTHON_STDLIB = "usr/lib/python3.13"

# Bytecode for the standard library (docs/OPTIMIZATION.md): the bases carry
# none, as distroless's do; each service's image carries .pyc files for the
# standard-library modules it imports at start-up, found by running it at
# build time (stdlib_pyc.bzl, with the probe requests and allowlist below).
# Anything else compiles in memory when imported. Compiled without column
# positions (python -X no_debug_ranges): a fifth smaller compressed, and a
# traceback through the standard library shows its lines without ^^^ marks.
PYTHON_PYC_DEBUG_RANGES = False

# PEP 552 hash-based .pyc files, valid whatever the file times (0 in the
# layers). "unchecked-hash": Python uses the .pyc without reading and hashing
# its source (checked-hash does both on every import; measured in
# docs/OPTIMIZATION.md). Correct here because the images are immutable: each
# .pyc is compiled in the same build from the very bytes that ship beside it
# (//images:image_test checks every one against its source), and the root
# filesystem is read-only. An image built FROM these that replaces a
# standard-library source must recompile it, or run Python with
# --check-hash-based-pycs always.
PYTHON_PYC_INVALIDATION = "unchecked-hash"

# Slim images (slim.bzl): the runtime keeps only what the service imports
# while the probe below runs it at build time, plus these modules, which
# only rare paths import (each one's own imports are kept too). The same
# probe, without the excludes, chooses the bytecode of the other variants.
PYTHON_SLIM_ALLOWLIST = [
    # Formatting an exception: hello's 500 path (app.py imports it lazily),
    # logging's formatException (waitress logs errors with it) and the
    # interpreter's report of an uncaught exception in a thread.
    "traceback",
    # waitress spills a buffered response over 1 MB (outbuf_overflow), and a
    # request body over 512 KB, to a temporary file (waitress/buffers.py).
    "tempfile",
]

# zlib-ng's level for the slim images' own layers (the runtime and its
# bytecode) when layers are tar+gzip: the best, since slim is the variant
# built for size (docs/OPTIMIZATION.md, section 6: 3 % smaller than the
# default 6 for three times the CPU). Every other layer keeps the default.
SLIM_GZIP_LEVEL = 9

# Modules left out of slim images although something tries to import them:
# their importers treat them as optional. The probe runs the service without
# them, so a service that needs one fails to build.
PYTHON_SLIM_EXCLUDES = [
    # shutil (imported by tempfile) tries both for its archive formats;
    # leaving them out saves _bz2, _lzma, libbz2 and liblzma.
    "bz2",
    "lzma",
]

# Shared libraries slim images keep although no ELF file links them:
# loaded with dlopen().
PYTHON_SLIM_LIBRARIES = [
    # glibc loads it to unwind a thread in pthread_exit(), which CPython 3.13
    # calls when a daemon thread (waitress's workers) runs into interpreter
    # shutdown; without it the process aborts. (NSS files/dns, for host
    # names, are built into glibc since 2.34: no libnss_* is needed.)
    "libgcc_s.so.1",
]

# What the probe asks every service while recording its imports, after the
# service's own requests (services.bzl): the endpoints the shared library
# (services/wsgi_service) adds to every service, a HEAD and an unknown path
# (404). Any answer but a 5xx will do. The probe also sends one malformed
# request, which waitress answers itself (400).
PYTHON_SLIM_PROBE_REQUESTS = [
    "HEAD /healthz",
    "GET /healthz",
    "GET /readyz",
    "GET /version",
    "GET /metrics",
    "GET /no/such/path",
]

# Debug images: busybox at /busybox, these applets linked beside it.
BUSYBOX_APPLETS = [
    "cat",
    "cp",
    "env",
    "find",
    "grep",
    "head",
    "id",
    "less",
    "ls",
    "mkdir",
    "mv",
    "nslookup",
    "ps",
    "rm",
    "sh",
    "sleep",
    "tail",
    "top",
    "vi",
    "wget",
]

NONROOT = "65532:65532"

# org.opencontainers.image.source of every image: where this repository lives.
SOURCE_URL = "https://example.invalid/bazel-python-containers"
