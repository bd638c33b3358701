"""Which of a distribution's published wheels each target platform installs.

For every target the distribution is needed on (its marker), the wheel pip
would pick there: the compatible one whose best tag comes first in the
target's order. The best pure-Python wheel, if there is one, is kept too, as
the wheel for platforms the lock does not name. A distribution that cannot be
installed from a wheel on a target is an error that says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.markers import Marker
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from targets import Target, pure_tags

# The lock's name for the pure-Python wheel.
ANY = "any"


class WheelChoiceError(ValueError):
    """No wheel to install for a distribution on a target platform."""


@dataclass(frozen=True)
class File:
    """A file PyPI publishes: its URL and sha256."""

    url: str
    sha256: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1].split("#", 1)[0]


@dataclass(frozen=True)
class Published:
    """A resolved distribution: its version and the files published for it."""

    name: str
    version: str
    marker: str | None
    wheels: tuple[File, ...]
    sdist: File | None = None


def applies(published: Published, target: Target) -> bool:
    """Whether the resolution needs this distribution on the target."""
    if published.marker is None:
        return True
    return Marker(published.marker).evaluate(target.marker_environment)


def choose_wheels(published: Published, targets: list[Target]) -> dict[str, File]:
    """{target name or ANY: wheel}; targets where the pure wheel is best are left out.

    Raises WheelChoiceError naming the distribution, and the target when one
    has no wheel.
    """
    label = f"{published.name} {published.version}"
    if not published.wheels:
        sdist = f" ({published.sdist.filename})" if published.sdist else ""
        raise WheelChoiceError(
            f"{label} publishes only a source distribution{sdist}, no wheel. "
            "Builds here install wheels only (no compiler runs at fetch time): pin, "
            "in requirements.in, an older version of it that has wheels, or replace "
            "it with a distribution that publishes them."
        )
    tagged = [(wheel, _tags(published, wheel)) for wheel in published.wheels]
    chosen: dict[str, File] = {}
    # The targets share one Python version (the images').
    pure = _best(tagged, pure_tags(targets[0].python_version))
    if pure is not None:
        chosen[ANY] = pure
    for target in targets:
        if not applies(published, target):
            continue
        best = _best(tagged, target.tags)
        if best is None:
            names = ", ".join(sorted(wheel.filename for wheel in published.wheels))
            raise WheelChoiceError(
                f"{label} has no wheel for {target.name} ({target.description}). "
                f"It publishes: {names}. Pin, in requirements.in, a version that "
                f"publishes a wheel for {target.name}, or drop the distribution."
            )
        if best != pure:
            chosen[target.name] = best
    return chosen


def _tags(published: Published, wheel: File) -> frozenset[Tag]:
    try:
        return parse_wheel_filename(wheel.filename)[3]
    except InvalidWheelFilename as err:
        raise WheelChoiceError(
            f"{published.name} {published.version}: {wheel.url} is not a wheel file name ({err})"
        ) from None


def _best(
    tagged: list[tuple[File, frozenset[Tag]]], order: dict[Tag, int]
) -> File | None:
    """The wheel with the most preferred tag; the file name breaks ties."""
    ranked = [
        (min(order[tag] for tag in tags if tag in order), wheel.filename, wheel)
        for wheel, tags in tagged
        if any(tag in order for tag in tags)
    ]
    return min(ranked)[2] if ranked else None
