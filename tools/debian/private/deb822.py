"""Debian control data (deb822): the one parser of Packages, Release and control files.

A file is paragraphs separated by blank lines; a paragraph is fields, each
"Name: value" on one line, continued on the lines that follow it when they
start with a space or a tab (Debian Policy 5.1). Lines starting with "#"
are comments and belong to no field.

Each field keeps the lines it was written as, so a paragraph can be written
back byte for byte (a dpkg status entry is the package's own control
paragraph); its value is those lines stripped and joined with newlines, the
form the archive's multi-line fields (SHA256 in a Release file) are read in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping


class Deb822Error(ValueError):
    """Text that is not deb822; the message quotes the line."""


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    lines: tuple[str, ...]  # As written: "Name: value", then continuation lines.

    @property
    def value(self) -> str:
        first = self.lines[0].partition(":")[2].strip()
        return "\n".join([first, *(line.strip() for line in self.lines[1:])])


class Paragraph(Mapping[str, str]):
    """One paragraph: field name -> value (the last field of a name wins),
    with the fields in their order for writing it back."""

    def __init__(self, fields: tuple[Field, ...]) -> None:
        self.fields = fields
        self._values = {field.name: field.value for field in fields}

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Paragraph({self._values!r})"


def parse(text: str) -> Iterator[Paragraph]:
    """Yields the paragraphs of a deb822 text, in order."""
    fields: list[Field] = []
    lines: list[str] = []  # Of the field being read.

    def finish_field() -> None:
        if lines:
            fields.append(Field(lines[0].partition(":")[0], tuple(lines)))
            lines.clear()

    for line in text.split("\n"):
        if not line.strip():
            finish_field()
            if fields:
                yield Paragraph(tuple(fields))
            fields = []
        elif line[0] in " \t":
            if not lines:
                raise Deb822Error(f"continuation line before any field: {line!r}")
            lines.append(line)
        elif not line.startswith("#"):
            finish_field()
            lines.append(line)
    finish_field()
    if fields:
        yield Paragraph(tuple(fields))
