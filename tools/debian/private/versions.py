"""Debian version comparison (Debian Policy 5.6.12) and relation operators (7.1).

compare_versions("1:1.0-1", "2.0") > 0    # the epoch wins
version_satisfies("2.41-6", ">=", "2.38")
"""

from __future__ import annotations

from collections.abc import Callable

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def split_version(version: str) -> tuple[int, str, str]:
    """Splits [epoch:]upstream[-revision] into its three parts."""
    # dpkg splits the epoch off at the first colon.
    epoch_text, colon, rest = version.partition(":")
    if not colon:
        epoch_text, rest = "0", version
    if not epoch_text.isdigit():
        raise ValueError(f"invalid epoch in version {version!r}")
    # The revision is after the last hyphen: upstream may contain hyphens.
    upstream, hyphen, revision = rest.rpartition("-")
    if not hyphen:
        upstream, revision = rest, ""
    if not upstream:
        raise ValueError(f"empty upstream version in {version!r}")
    return int(epoch_text), upstream, revision


def _char_order(char: str) -> int:
    """Sort weight of one non-digit character: '~' before the end of the
    string, the end before letters, letters before everything else."""
    if char == "~":
        return -1
    if char == "":
        return 0
    if char in LETTERS:
        return ord(char)
    return ord(char) + 256


def _compare_non_digits(left: str, right: str) -> int:
    for index in range(max(len(left), len(right))):
        left_order = _char_order(left[index] if index < len(left) else "")
        right_order = _char_order(right[index] if index < len(right) else "")
        if left_order != right_order:
            return -1 if left_order < right_order else 1
    return 0


def _take(text: str, start: int, digits: bool) -> int:
    """Index after the run of digits (or of non-digits) starting at start."""
    end = start
    while end < len(text) and (text[end] in DIGITS) == digits:
        end += 1
    return end


def compare_fragment(left: str, right: str) -> int:
    """Compares two upstream versions or two revisions: alternating runs of
    non-digits (compared with the order above) and digits (compared as
    numbers, an empty run counting as zero)."""
    i = j = 0
    while i < len(left) or j < len(right):
        i_end, j_end = _take(left, i, False), _take(right, j, False)
        result = _compare_non_digits(left[i:i_end], right[j:j_end])
        if result:
            return result
        i, j = i_end, j_end
        i_end, j_end = _take(left, i, True), _take(right, j, True)
        left_number = int(left[i:i_end] or "0")
        right_number = int(right[j:j_end] or "0")
        if left_number != right_number:
            return -1 if left_number < right_number else 1
        i, j = i_end, j_end
    return 0


def compare_versions(left: str, right: str) -> int:
    """Returns <0, 0 or >0 as left sorts before, with or after right."""
    left_epoch, left_upstream, left_revision = split_version(left)
    right_epoch, right_upstream, right_revision = split_version(right)
    if left_epoch != right_epoch:
        return -1 if left_epoch < right_epoch else 1
    return compare_fragment(left_upstream, right_upstream) or compare_fragment(
        left_revision, right_revision
    )


RELATION_OPERATORS: dict[str, Callable[[int], bool]] = {
    "<<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    "=": lambda c: c == 0,
    ">=": lambda c: c >= 0,
    ">>": lambda c: c > 0,
}

# Policy 7.1: the obsolete single '<' and '>' mean '<=' and '>='.
OBSOLETE_OPERATORS = {"<": "<=", ">": ">="}


def version_satisfies(version: str, operator: str, wanted: str) -> bool:
    return RELATION_OPERATORS[operator](compare_versions(version, wanted))
