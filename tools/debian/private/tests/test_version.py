"""Debian version comparison follows Policy 5.6.12 (and dpkg) exactly."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest
from versions import compare_versions, split_version, version_satisfies

# (left, right, expected sign of compare_versions(left, right))
CASES = [
    # Plain numbers compare numerically, not as text.
    ("1.0", "1.0", 0),
    ("1.0", "1.0.1", -1),
    ("1.10", "1.9", 1),
    ("10", "9", 1),
    ("1.01", "1.1", 0),
    ("1.00", "1.0", 0),
    # Epochs dominate everything else.
    ("1:0.1", "9.9", 1),
    ("2:1.0", "1:9.9", 1),
    ("0:1.0", "1.0", 0),
    # A missing revision equals revision 0.
    ("1.0", "1.0-0", 0),
    ("1.0-1", "1.0-2", -1),
    ("1.0-1", "1.0-1.1", -1),
    ("1.0-1+b1", "1.0-1", 1),
    ("1.0-9", "1.0-10", -1),
    # Upstream may contain hyphens: the revision follows the last one.
    ("1.0-beta-2", "1.0-beta-10", -1),
    ("1.0-beta-2", "1.0-2", 1),
    # '~' sorts before anything, even the end of the string.
    ("1.0~rc1", "1.0", -1),
    ("1.0~rc1", "1.0~rc2", -1),
    ("1.0~~", "1.0~~a", -1),
    ("1.0~~a", "1.0~", -1),
    ("1.0~", "1.0", -1),
    ("0~", "0", -1),
    ("1.0-1~bpo1", "1.0-1", -1),
    # The end of the string sorts before letters, letters before others.
    ("1.0", "1.0a", -1),
    ("1.0a", "1.0+", -1),
    ("1.0+", "1.0.", -1),
    ("1.0+dfsg", "1.0.1", -1),
    ("1.0Z", "1.0a", -1),
    # Versions seen in trixie.
    ("3.5.9-1~deb13u1", "3.5.9-1", -1),
    ("2.41-12+deb13u5", "2.41-12", 1),
    ("1:1.3.dfsg+really1.3.1-1+deb13u1", "1:1.3.dfsg-3", 1),
    ("2026f-0+deb13u1", "2025b-4", 1),
    ("8.2-6", "8.2-6+b1", -1),
    ("5.8.1-1+deb13u2", "5.8.1-1.1", -1),
    ("1:1.37.0-6+b9", "1.37.0-7", 1),
    ("2.9.0-1~deb13u1", "2.9.0-1~deb13u2", -1),
]


@pytest.mark.parametrize(("left", "right", "expected"), CASES)
def test_compare(left: str, right: str, expected: int) -> None:
    assert _sign(compare_versions(left, right)) == expected
    assert _sign(compare_versions(right, left)) == -expected


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def test_split() -> None:
    assert split_version("1:2.0-3") == (1, "2.0", "3")
    assert split_version("2.0") == (0, "2.0", "")
    assert split_version("1.0-beta-2") == (0, "1.0-beta", "2")
    # dpkg splits the epoch at the first colon.
    assert split_version("1:2:3-4") == (1, "2:3", "4")


@pytest.mark.parametrize("bad", ["a:1.0", ":1.0", "1:", "-1"])
def test_invalid(bad: str) -> None:
    with pytest.raises(ValueError):
        split_version(bad)


@pytest.mark.parametrize(
    ("version", "operator", "wanted", "expected"),
    [
        ("1.0", "<<", "1.1", True),
        ("1.1", "<<", "1.1", False),
        ("1.1", "<=", "1.1", True),
        ("1.1", "=", "1.1-0", True),
        ("1.1", ">=", "1.1~", True),
        ("1.1~", ">=", "1.1", False),
        ("1.2", ">>", "1.1", True),
        ("1.1", ">>", "1.1", False),
    ],
)
def test_satisfies(version: str, operator: str, wanted: str, expected: bool) -> None:
    assert version_satisfies(version, operator, wanted) is expected


def _random_version(rng: random.Random) -> str:
    alphabet = "0123456789" * 3 + "ab.+~-" + "z"
    upstream = rng.choice("0123456789") + "".join(
        rng.choice(alphabet.replace("-", "")) for _ in range(rng.randint(0, 5))
    )
    epoch = f"{rng.randint(0, 2)}:" if rng.random() < 0.2 else ""
    revision = (
        "-"
        + "".join(
            rng.choice(alphabet.replace("-", "")) for _ in range(rng.randint(1, 4))
        )
        if rng.random() < 0.6
        else ""
    )
    return epoch + upstream + revision


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
def test_agrees_with_dpkg() -> None:
    """Random versions compare the way dpkg --compare-versions does."""
    rng = random.Random(1312)
    for _ in range(150):
        left, right = _random_version(rng), _random_version(rng)
        dpkg_less = (
            subprocess.run(
                ["dpkg", "--compare-versions", left, "lt", right],
                check=False,
                capture_output=True,
            ).returncode
            == 0
        )
        assert (compare_versions(left, right) < 0) == dpkg_less, (left, right)
