"""oci_load: `bazel run` loads an image into podman or docker."""

load("@rules_python//python:defs.bzl", "py_binary")

def oci_load(name, image, repo_tags = [], **kwargs):
    """`bazel run :name` loads `image` into podman or docker and tags it.

    Args:
        name: target name.
        image: an oci_image or oci_image_index (the host's platform is loaded).
        repo_tags: NAME:TAG references to apply, e.g. ["hello:latest"].
        **kwargs: passed to the underlying py_binary (tags, visibility, ...).
    """
    py_binary(
        name = name,
        srcs = [Label("//tools/oci/private:load.py")],
        main = Label("//tools/oci/private:load.py"),
        args = ["--layout", "$(rootpath %s)" % image] + ["--repo-tag=" + tag for tag in repo_tags],
        data = [image],
        **kwargs
    )
