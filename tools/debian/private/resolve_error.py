"""The one error of the lock resolver (resolve.py and the modules it uses)."""


class ResolveError(Exception):
    """A problem the user must fix; the message says what and where."""
