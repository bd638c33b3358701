"""ld_so_cache: the /etc/ld.so.cache `ldconfig -r ROOT` would write, from tars."""

load("//platforms:platforms.bzl", "PLATFORMS")

def _ld_so_cache_impl(ctx):
    cache = ctx.actions.declare_file(ctx.label.name + ".cache")
    listing = ctx.actions.declare_file(ctx.label.name + ".txt")
    args = ctx.actions.args()
    args.add("--arch", ctx.attr.arch).add("--output", cache).add("--listing", listing)
    args.add_all(ctx.files.tars, before_each = "--tar")
    args.add_all(ctx.attr.excludes, before_each = "--exclude")
    ctx.actions.run(
        executable = ctx.executable._ldconfig_tool,
        arguments = [args],
        inputs = ctx.files.tars,
        outputs = [cache, listing],
        mnemonic = "LdSoCache",
        progress_message = "Writing the ld.so.cache of %{label} (" + ctx.attr.arch + ")",
    )
    return [
        DefaultInfo(files = depset([cache])),
        OutputGroupInfo(listing = depset([listing])),
    ]

ld_so_cache = rule(
    implementation = _ld_so_cache_impl,
    doc = """/etc/ld.so.cache for the root the `tars` make, unpacked in order, for `arch`.

What glibc's `ldconfig -r ROOT` writes (the directories of the root's
/etc/ld.so.conf, then the trusted ones; one entry per SONAME), byte for byte
the same on every machine: no ldconfig runs, no root privileges, no machine of
the target architecture. Put the file at /etc/ld.so.cache in a layer of the
same image. Output group `listing`: what `ldconfig -p` prints for it.""",
    attrs = {
        "tars": attr.label_list(mandatory = True, allow_files = [".tar", ".tar.gz", ".tgz", ".tar.xz"], doc = "The root's tars (Debian data tars or layers), in order."),
        "excludes": attr.string_list(doc = "Globs of paths the image's layers leave out of `tars` (oci_layer's `excludes`): their libraries are not listed."),
        "arch": attr.string(mandatory = True, values = sorted(PLATFORMS.keys()), doc = "The libraries' architecture (//platforms:platforms.bzl)."),
        "_ldconfig_tool": attr.label(default = "//tools/ldconfig/private:ldconfig", executable = True, cfg = "exec"),
    },
)
