"""whl_library: one wheel of the lock, downloaded by Bazel and installed, as a py_library.

One repository per distribution and wheel (rules_python's whl_library is the
model), so a build fetches only the wheels of what it builds, for the
platforms it builds for. Bazel's downloader fetches the wheel by its locked
sha256 (through the repository cache); install_wheel.py installs it with
pypa's `installer` (itself a locked wheel), in `python -I`: no pip, no host
PIP_*/PYTHON* variables, no network beyond the two pinned URLs.
"""

_BUILD = """\
load("@rules_python//python:defs.bzl", "py_library")

package(default_visibility = ["//visibility:public"])

# {distribution} {version}: {filename}, locked in {lock}.
py_library(
    name = "pkg",
    srcs = glob(["site-packages/**/*.py"], allow_empty = True),
    data = glob(
        ["site-packages/**"],
        exclude = [
            "site-packages/**/*.py",
            "site-packages/**/__pycache__/**",
        ],
    ),
    imports = ["site-packages"],
    tags = [
        "pypi_name={distribution}",
        "pypi_version={version}",
    ],
    deps = {deps},
)

# Its scripts: console scripts of its entry points and the wheel's own.
filegroup(
    name = "bin",
    srcs = glob(["bin/*"], allow_empty = True),
)
"""

def _download(rctx, url, sha256, output, what):
    """Downloads `url` to `output`, pinned by sha256; fails naming `what` and the lock."""
    if rctx.download(url = url, output = output, sha256 = sha256, allow_fail = True).success:
        return

    # Say why: fetch it again unpinned, into a file that is only hashed, then
    # deleted, so a wrong file is reported with its sha256 and never used.
    unverified = "_unverified/" + output.rpartition("/")[2]
    check = rctx.download(url = url, output = unverified, allow_fail = True)
    rctx.delete("_unverified")
    if check.success:
        fail(("hash mismatch for {what}: {lock} pins {url} at sha256 {sha256}, " +
              "but the file downloaded has sha256 {got}. If you edited requirements.in " +
              "or the lock by hand, regenerate the lock (./tools/bazel run " +
              "//:requirements.update); otherwise the file served is not the one " +
              "that was locked: do not trust it.").format(
            what = what,
            lock = rctx.attr.lock,
            url = url,
            sha256 = sha256,
            got = check.sha256,
        ))
    fail("could not download {what} from {url} (locked in {lock}): is the index reachable? (Bazel's downloader; see the warning above)".format(
        what = what,
        url = url,
        lock = rctx.attr.lock,
    ))

def _whl_library_impl(rctx):
    what = "{} {} ({})".format(rctx.attr.distribution, rctx.attr.version, rctx.attr.filename)
    wheel = "_download/" + rctx.attr.filename
    installer = "_download/installer/" + rctx.attr.installer_url.rpartition("/")[2]
    _download(rctx, rctx.attr.url, rctx.attr.sha256, wheel, what)
    _download(rctx, rctx.attr.installer_url, rctx.attr.installer_sha256, installer, "the wheel installer (installer, in the same lock)")
    python = rctx.attr.python_interpreter
    result = rctx.execute(
        [
            python,
            "-I",
            "-B",
            rctx.path(rctx.attr._install),
            "--installer",
            rctx.path(installer),
            "--wheel",
            rctx.path(wheel),
            "--interpreter",
            python,
            "--dest",
            ".",
        ],
        quiet = True,
    )
    if result.return_code != 0:
        fail("{} (locked in {}): {}".format(what, rctx.attr.lock, result.stderr))
    rctx.delete("_download")
    rctx.file("BUILD.bazel", _BUILD.format(
        distribution = rctx.attr.distribution,
        version = rctx.attr.version,
        filename = rctx.attr.filename,
        lock = rctx.attr.lock,
        deps = repr(["@{}//{}".format(rctx.attr.hub, dep) for dep in rctx.attr.deps]),
    ))

whl_library = repository_rule(
    implementation = _whl_library_impl,
    doc = "One locked wheel, installed under site-packages/, as `//:pkg` (py_library) and `//:bin`.",
    attrs = {
        "deps": attr.string_list(doc = "Bazel names of the distributions it requires (`@HUB//NAME`)."),
        "distribution": attr.string(mandatory = True),
        "filename": attr.string(mandatory = True),
        "hub": attr.string(mandatory = True, doc = "Name of the hub repository its deps are in."),
        "installer_sha256": attr.string(mandatory = True),
        "installer_url": attr.string(mandatory = True),
        "lock": attr.string(mandatory = True, doc = "The lock file, for messages."),
        "python_interpreter": attr.string(mandatory = True),
        "sha256": attr.string(mandatory = True),
        "url": attr.string(mandatory = True),
        "version": attr.string(mandatory = True),
        "_install": attr.label(default = "//tools/pypi/private:install_wheel.py"),
    },
)
