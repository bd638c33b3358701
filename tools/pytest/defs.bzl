"""`pytest_test`: a py_test whose files are run by pytest."""

load("@pypi//:requirements.bzl", "requirement")
load("@rules_python//python:defs.bzl", "py_test")

def pytest_test(name, srcs, deps = [], args = [], **kwargs):
    """A py_test running pytest over `srcs`.

    Args:
        name: test name.
        srcs: test files (test_*.py) and helpers such as conftest.py.
        deps: libraries the tests import.
        args: extra pytest arguments, after the test files.
        **kwargs: passed to py_test (data, size, tags, env, ...).
    """
    py_test(
        name = name,
        srcs = srcs + ["//tools/pytest:pytest_main.py"],
        main = "//tools/pytest:pytest_main.py",
        args = ["$(location %s)" % src for src in srcs] + args,
        deps = deps + [requirement("pytest")],
        **kwargs
    )
