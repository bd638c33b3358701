"""The Python toolchain Bazel uses is the 3.13 the images ship, not whatever is on PATH."""

import os
import sys
import unittest


class InterpreterTest(unittest.TestCase):
    def test_version_is_3_13(self) -> None:
        self.assertEqual(sys.version_info[:2], (3, 13), sys.version)

    def test_interpreter_is_the_toolchain_one(self) -> None:
        self.assertEqual(os.path.realpath(sys.executable), "/usr/bin/python3.13")


if __name__ == "__main__":
    unittest.main()
