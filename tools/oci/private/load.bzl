"""oci_load: `bazel run` loads an image into podman or docker, as rules_oci's does."""

load(":providers.bzl", "OciImageInfo")

def _rlocation(ctx, file):
    """The runfiles path of `file`: "_main/images/hello" or "<repo>/..."."""
    if file.short_path.startswith("../"):
        return file.short_path[3:]
    return ctx.workspace_name + "/" + file.short_path

def _oci_load_impl(ctx):
    layout = ctx.file.image
    loader = ctx.attr._loader[DefaultInfo].files_to_run.executable
    tags = " ".join(["--repo-tag '{}'".format(tag) for tag in ctx.attr.repo_tags])

    # The runfiles directory is NAME.runfiles beside this script, or
    # $RUNFILES_DIR when the caller says so.
    ctx.actions.write(
        output = ctx.outputs.executable,
        is_executable = True,
        content = """#!/bin/sh
set -eu
runfiles="${{RUNFILES_DIR:-$0.runfiles}}"
exec "$runfiles/{loader}" --layout "$runfiles/{layout}" --loader "$runfiles/{script}" \\
  --format '{format}' {tags} "$@"
""".format(
            loader = _rlocation(ctx, loader),
            layout = _rlocation(ctx, layout),
            script = _rlocation(ctx, ctx.file._load_script),
            format = ctx.attr.format,
            tags = tags,
        ),
    )
    runfiles = ctx.runfiles(files = [layout, ctx.file._load_script])
    runfiles = runfiles.merge(ctx.attr._loader[DefaultInfo].default_runfiles)

    # The tarball output group: what `docker load -i` / `podman load -i` take.
    # One file for a single image, one per platform for an index.
    args = ctx.actions.args()
    args.add("--layout", layout.path).add("--format", ctx.attr.format)
    args.add_all(ctx.attr.repo_tags, before_each = "--repo-tag")
    if OciImageInfo in ctx.attr.image:
        tarball = ctx.actions.declare_file(ctx.label.name + ".tar")
        args.add("--platform", ctx.attr.image[OciImageInfo].platform)
    else:
        tarball = ctx.actions.declare_directory(ctx.label.name + "_tarballs")
        args.add("--all-platforms")
    args.add("--output", tarball.path)
    ctx.actions.run(
        executable = ctx.executable._tarball_tool,
        arguments = [args],
        inputs = [layout],
        outputs = [tarball],
        mnemonic = "OciTarball",
        progress_message = "Writing the image tarball of %{label}",
    )
    return [
        DefaultInfo(executable = ctx.outputs.executable, runfiles = runfiles),
        OutputGroupInfo(tarball = depset([tarball])),
    ]

oci_load = rule(
    implementation = _oci_load_impl,
    executable = True,
    doc = """`bazel run :NAME` loads `image` into podman or docker and tags it `repo_tags`.

The image for the machine's own platform is loaded (`-- --platform linux/arm64`
picks another); podman if it is installed, else docker (`-- --engine docker`
picks one); `-- --repo-tag NAME:TAG` adds tags. When Bazel runs in the
project's build root, the engine is the host's (tools/bazel runs the last step
there).

`bazel build :NAME --output_groups=tarball` writes what `docker load -i` and
`podman load -i` read, as rules_oci's tarball output group: `NAME.tar` for a
single image, `NAME_tarballs/OS-ARCH[-VARIANT].tar` for an index. It is not
built by a plain `bazel build`.""",
    attrs = {
        "image": attr.label(
            mandatory = True,
            allow_single_file = True,
            doc = "An oci_image, oci_platform_image or oci_image_index.",
        ),
        "repo_tags": attr.string_list(doc = 'NAME:TAG references to apply, e.g. ["hello:latest"].'),
        "format": attr.string(
            default = "docker",
            values = ["docker", "oci"],
            doc = "`docker` (docker save's format, read by docker and podman) or `oci` (an OCI layout; docker needs its containerd image store for it).",
        ),
        "_loader": attr.label(default = "//tools/oci/private:load", executable = True, cfg = "target"),
        "_load_script": attr.label(default = "//tools/oci/private:load.sh", allow_single_file = True),
        "_tarball_tool": attr.label(default = "//tools/oci/private:tarball", executable = True, cfg = "exec"),
    },
)
