"""What the images are made of: a data table, read by distroless.bzl and BUILD.bazel."""

# Image architecture -> the platform its images are built for.
ARCHES = {
    "amd64": "//platforms:linux_amd64",
    "arm64": "//platforms:linux_arm64",
}

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
