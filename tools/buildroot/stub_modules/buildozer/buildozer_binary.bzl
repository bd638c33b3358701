"""Stub of buildozer's module extension: bazel_tools declares `use_repo(buildozer_binary, "buildozer_binary")` (for `bazel mod tidy`), so the stub makes that repository, empty."""

def _empty_repo_impl(repository_ctx):
    repository_ctx.file("BUILD.bazel", "# Empty: buildozer is not available offline.\n")

_empty_repo = repository_rule(implementation = _empty_repo_impl)

def _buildozer_binary_impl(_module_ctx):
    _empty_repo(name = "buildozer_binary")

buildozer_binary = module_extension(implementation = _buildozer_binary_impl)
