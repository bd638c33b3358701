"""Runs pytest on the test files given as arguments; the `main` of every pytest_test."""

import os
import sys

import pytest

if __name__ == "__main__":
    args = [
        "-q",
        # The runfiles tree is read-only and shared: no cache, no bytecode.
        "-p",
        "no:cacheprovider",
        "--import-mode=importlib",
    ]
    if "XML_OUTPUT_FILE" in os.environ:
        args.append("--junitxml=" + os.environ["XML_OUTPUT_FILE"])
    sys.dont_write_bytecode = True
    sys.exit(pytest.main(args + sys.argv[1:]))
