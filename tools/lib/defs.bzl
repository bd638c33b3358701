"""nested_bazel_test: a pytest_test that runs Bazel itself on copies of the checkout.

    load("//tools/lib:defs.bzl", "nested_bazel_test")

Such a test (reproducibility, release, remote cache, benchmark smoke run):
- finds the checkout through //:MODULE.bazel's real path (checkout.workspace_dir);
- inherits the launcher's cache directory, whose repository and pip caches save
  downloads, and whether it runs inside the build root (nested_bazel.py);
- runs unsandboxed (Bazel, runc, registries, nginx need the real root) and never
  on a remote worker: the checkout it finds through MODULE.bazel's real path is
  not an input.
It need not run alone, so it is not tagged exclusive: each nested Bazel has its
own copy of the checkout, output base, install base (HOME) and scratch
directory under its TEST_TMPDIR; its servers (nginx, BuildGrid, PostgreSQL,
registries) listen on ports the kernel picks; what it shares with other tests,
the repository cache, pip's cache and (bench --quick) the launcher's disk
cache, is content-addressed and safe for concurrent Bazel servers. No test of
this kind asserts a duration that another test's CPU use could break (the one
bound, remote_exec's "fails within 60 s", has a wide margin). Exclusive tests
run one by one after all the others, which cost the suite most of its
parallelism: their idle time (server starts, fetches, timeouts) now overlaps.
Put what it builds in `data`, so its cached result is dropped when that changes;
for every image, //images:digests.lock.json (it changes with every image, and
needs no build: the test starts at once, not after the outer build's images).
"""

load("//tools/pytest:defs.bzl", "pytest_test")

def nested_bazel_test(name, data = [], deps = [], tags = [], **kwargs):
    """pytest_test with the data, environment, tags and libraries above.

    Args:
        name: test name.
        data: what the test builds or compares against, besides the checkout.
        deps: libraries besides checkout, nested_bazel and nested_bazel_testing.
        tags: tags besides no-remote-exec and no-sandbox.
        **kwargs: passed to pytest_test (srcs, size, args, env, ...).
    """
    pytest_test(
        name = name,
        data = data + [Label("//:MODULE.bazel")],
        env_inherit = [
            "TOOLS_BAZEL_CACHE",
            "TOOLS_BAZEL_IN_BUILD_ROOT",
        ],
        tags = tags + [
            "no-remote-exec",
            "no-sandbox",
        ],
        deps = deps + [
            Label("//tools/lib:checkout"),
            Label("//tools/lib:nested_bazel"),
            Label("//tools/lib:nested_bazel_testing"),
        ],
        **kwargs
    )
