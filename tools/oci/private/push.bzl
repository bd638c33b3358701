"""oci_push: `bazel run` pushes an image by digest, then tags it."""

load("@rules_python//python:defs.bzl", "py_binary")

def oci_push(name, image, repository = "", remote_tags = [], **kwargs):
    """`bazel run :name` pushes `image` to `repository` by digest, then applies `remote_tags`.

    Like rules_oci, `bazel run :name -- --repository HOST/NAME --tag T` overrides
    the repository and adds tags.

    Args:
        name: target name.
        image: an oci_image or oci_image_index.
        repository: HOST[:PORT]/NAME; may be left empty and given with --repository.
        remote_tags: tags, as a list or as the label of a file with one tag per line.
        **kwargs: passed to the underlying py_binary (tags, visibility, ...).
    """
    args = ["--layout", "$(rootpath %s)" % image]
    data = [image]
    if repository:
        args.append("--repository=" + repository)
    if type(remote_tags) == "list":
        args.extend(["--tag=" + tag for tag in remote_tags])
    else:
        args.extend(["--tags-file", "$(rootpath %s)" % remote_tags])
        data.append(remote_tags)
    py_binary(
        name = name,
        srcs = [Label("//tools/oci/private:push.py")],
        main = Label("//tools/oci/private:push.py"),
        args = args,
        data = data,
        deps = [Label("//tools/oci/private:ocireader")],
        **kwargs
    )
