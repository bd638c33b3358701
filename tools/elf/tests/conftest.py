"""Puts elf.py and testing.py (the directory above) on sys.path.

Bazel's pytest runs with --import-mode=importlib, which does not add it.
"""

import sys
from pathlib import Path

_ELF = str(Path(__file__).absolute().parents[1])
if _ELF not in sys.path:
    sys.path.insert(0, _ELF)
