"""Package relationship fields (Debian Policy 7.1): Depends, Pre-Depends, Provides, ...

parse_relations("libc6 (>= 2.38), libssl3t64 | libssl3")
-> [[Atom("libc6", None, ">=", "2.38")], [Atom("libssl3t64"), Atom("libssl3")]]
"""

from __future__ import annotations

import dataclasses
import re

from versions import OBSOLETE_OPERATORS


@dataclasses.dataclass(frozen=True)
class Atom:
    """One possibility in a relationship: name[:arch] [(op version)]."""

    name: str
    arch: str | None = None
    operator: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        text = self.name + (f":{self.arch}" if self.arch else "")
        if self.operator:
            text += f" ({self.operator} {self.version})"
        return text


ATOM_RE = re.compile(
    r"(?P<name>[a-z0-9][a-z0-9+.-]*)(?::(?P<arch>[a-z0-9-]+))?"
    r"\s*(?:\(\s*(?P<op><<|<=|>=|>>|=|<|>)\s*(?P<version>[^\s)]+)\s*\))?"
)


def parse_atom(text: str) -> Atom:
    match = ATOM_RE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"cannot parse relationship {text.strip()!r}")
    operator = match["op"]
    if operator:
        operator = OBSOLETE_OPERATORS.get(operator, operator)
    return Atom(match["name"], match["arch"], operator, match["version"])


def parse_relations(text: str) -> list[list[Atom]]:
    """Parses a Depends-style field: a list of alternatives lists."""
    return [
        [parse_atom(alternative) for alternative in group.split("|")]
        for group in text.split(",")
        if group.strip()
    ]


def format_alternatives(group: list[Atom]) -> str:
    return " | ".join(str(atom) for atom in group)
