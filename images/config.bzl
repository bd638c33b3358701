"""What the images are made of: a data table, read by distroless.bzl and BUILD.bazel."""

load("//platforms:platforms.bzl", _ARCHES = "ARCHES")

# Image architecture -> the platform its images are built for (platforms.bzl).
ARCHES = _ARCHES

# Package contents no image needs: documentation (but each package's
# copyright file stays), manuals, translations and packaging metadata.
DEBIAN_EXCLUDES = [
    "usr/share/doc/*/changelog*",
    "usr/share/doc/*/NEWS*",
    "usr/share/doc/*/README*",
    "usr/share/doc/*/examples",
    "usr/share/info",
    "usr/share/lintian",
    "usr/share/locale",
    "usr/share/man",
    # glibc's iconv converters (8 MB): Python has its own codecs and never
    # calls iconv; nothing else in the images does either.
    "usr/lib/*/gconv",
]

# ELF files of the python3 base that never load, on purpose: the libraries
# they link are left out (debian_packages.toml's [exclude] says why), so
# importing their module raises ImportError. The ABI check
# (//tools/abi_check) skips them, and fails if one would load after all.
ABI_CHECK_IGNORE = {
    "/usr/lib/python3.13/lib-dynload/_curses.cpython-313-*-linux-gnu.so": "curses: libncursesw6 and libtinfo6 are left out, there is no terminal in a container",
    "/usr/lib/python3.13/lib-dynload/_curses_panel.cpython-313-*-linux-gnu.so": "curses.panel: libncursesw6 is left out, there is no terminal in a container",
    "/usr/lib/python3.13/lib-dynload/_dbm.cpython-313-*-linux-gnu.so": "dbm.ndbm: libdb5.3t64 is left out, services keep state in a database server",
    "/usr/lib/python3.13/lib-dynload/_sqlite3.cpython-313-*-linux-gnu.so": "sqlite3: libsqlite3-0 is left out, services keep state in a database server",
    "/usr/lib/python3.13/lib-dynload/readline.cpython-313-*-linux-gnu.so": "readline: libreadline8t64 is left out, there is no terminal in a container",
}

# Used only at build time (to generate the CA bundle), never installed.
BUILD_TIME_ONLY = ["ca-certificates"]

# The Python the images ship, and where its standard library lives.
PYTHON = "python3.13"
PYTHON_STDLIB = "usr/lib/python3.13"

# The standard library is precompiled except what a server never imports.
PYTHON_PYC_EXCLUDES = [
    "usr/lib/python3.13/idlelib/*",
    "usr/lib/python3.13/lib2to3/*",
    "usr/lib/python3.13/pydoc_data/*",
    "usr/lib/python3.13/tkinter/*",
    "usr/lib/python3.13/turtledemo/*",
]

# Slim images (slim.bzl): the runtime keeps only what the service imports
# while the probe below runs it at build time, plus these modules, which
# only rare paths import (each one's own imports are kept too).
PYTHON_SLIM_ALLOWLIST = [
    # Formatting an exception: hello's 500 path (app.py imports it lazily),
    # logging's formatException (waitress logs errors with it) and the
    # interpreter's report of an uncaught exception in a thread.
    "traceback",
    # waitress spills a buffered response over 1 MB (outbuf_overflow), and a
    # request body over 512 KB, to a temporary file (waitress/buffers.py).
    "tempfile",
]

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
