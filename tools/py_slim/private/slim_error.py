"""The error of py_slim.py and its modules."""

import ocilib


class SlimError(ocilib.OciError):
    """Something the runtime needs is not in the packages (or the inputs are wrong)."""
