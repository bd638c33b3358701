"""Puts the programs (the directory above) on sys.path.

Bazel's pytest runs with --import-mode=importlib, which adds neither directory.
"""

import sys
from pathlib import Path

_TESTS = Path(__file__).absolute().parent
for _path in (_TESTS.parent, _TESTS):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
