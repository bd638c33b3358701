"""django_static: a Django project's static files, collected at build time."""

load("@rules_python//python:defs.bzl", "py_binary")
load("//tools/oci:defs.bzl", "oci_layer")

def _django_static_impl(ctx):
    out_dir = ctx.actions.declare_directory(ctx.attr.out)
    tar = ctx.actions.declare_file(ctx.label.name + ".tar")
    args = ctx.actions.args()
    args.add("--settings", ctx.attr.settings)
    args.add("--out-dir", out_dir.path)
    args.add("--tar", tar)
    args.add("--prefix", ctx.attr.image_dir)
    args.add_all(["{}={}".format(k, v) for k, v in sorted(ctx.attr.env.items())], before_each = "--env")
    ctx.actions.run(
        executable = ctx.executable.collector,
        arguments = [args],
        outputs = [out_dir, tar],
        mnemonic = "DjangoCollectStatic",
        progress_message = "Collecting the static files of %{label}",
    )
    return [
        DefaultInfo(files = depset([out_dir]), runfiles = ctx.runfiles([out_dir])),
        OutputGroupInfo(tar = depset([tar])),
    ]

_django_static = rule(
    implementation = _django_static_impl,
    doc = "Runs collectstatic (private/collectstatic.py) with the project's settings: a directory (default output) and a tar (output group `tar`).",
    attrs = {
        "collector": attr.label(mandatory = True, executable = True, cfg = "exec", doc = "collectstatic.py as a py_binary on the project's library."),
        "settings": attr.string(mandatory = True, doc = "The settings module, e.g. \"notes.settings\"."),
        "out": attr.string(mandatory = True, doc = "The directory, relative to the package: where the settings' STATIC_ROOT points in `bazel run`'s runfiles."),
        "image_dir": attr.string(mandatory = True, doc = "The files' directory in the image (STATIC_ROOT there), e.g. \"/app/static\"."),
        "env": attr.string_dict(doc = "Variables the settings require, build-time values only (the static files never contain them)."),
    },
)

def django_static(name, library, settings, out, image_dir, env = {}, **kwargs):
    """NAME (the collected directory), NAME_tar and NAME_layer (an oci_layer of the files at image_dir).

    Args:
        name: the target of the directory.
        library: the project's py_library (its settings, apps and their static files).
        settings: the settings module, e.g. "notes.settings".
        out: the directory, relative to the package, e.g. "src/static".
        image_dir: the files' directory in the image, e.g. "/app/static".
        env: variables the settings require at build time (dummy values).
        **kwargs: visibility, tags.
    """
    py_binary(
        name = name + "_collector",
        srcs = ["//tools/django/private:collectstatic.py"],
        main = "//tools/django/private:collectstatic.py",
        deps = [library],
        **kwargs
    )
    _django_static(
        name = name,
        collector = ":" + name + "_collector",
        settings = settings,
        out = out,
        image_dir = image_dir,
        env = env,
        **kwargs
    )
    native.filegroup(
        name = name + "_tar",
        srcs = [":" + name],
        output_group = "tar",
        **kwargs
    )
    oci_layer(
        name = name + "_layer",
        tars = [":" + name + "_tar"],
        **kwargs
    )
