"""Public API of the project's structure tests, shaped like container-structure-test's Bazel rule.

    load("//tools/structure_test:defs.bzl", "container_structure_test")

    container_structure_test(
        name = "hello_test",
        image = "//images:hello",
        configs = ["hello.yaml"],
        platform = "linux/amd64",  # optional: default, every platform of an index
    )

See README.md here for the supported schema and the differences from the original.
"""

load("//tools/structure_test/private:structure_test.bzl", _container_structure_test = "container_structure_test")

container_structure_test = _container_structure_test
