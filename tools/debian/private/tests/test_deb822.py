"""deb822.py, the one parser of Packages, Release and control files."""

from __future__ import annotations

import deb822
import pytest
from archive import parse_packages, parse_release
from resolve_error import ResolveError
from archive import Suite

CONTROL = """\
Package: libc6
Status: deinstall ok config-files
Version: 2.41-12
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 .
 the system.
"""


def test_paragraphs_fields_and_values() -> None:
    text = "A: 1\nB:  two  \n\n\n# a comment\nA: 3\n \tcontinued\nC:\n x\n y\n"
    first, second = deb822.parse(text)
    assert dict(first) == {"A": "1", "B": "two"}
    assert dict(second) == {"A": "3\ncontinued", "C": "\nx\ny"}
    assert [f.name for f in second.fields] == ["A", "C"]


def test_fields_keep_the_lines_they_were_written_as() -> None:
    [paragraph] = deb822.parse(CONTROL)
    description = paragraph.fields[-1]
    assert description.lines == (
        "Description: GNU C Library: Shared libraries",
        " Contains the standard libraries that are used by nearly all programs on",
        " .",
        " the system.",
    )
    written = [line for field in paragraph.fields for line in field.lines]
    assert "\n".join(written) + "\n" == CONTROL
    assert (
        paragraph["Description"].split("\n")[1]
        == "Contains the standard libraries that are used by nearly all programs on"
    )


def test_a_comment_does_not_end_a_field_and_the_last_field_of_a_name_wins() -> None:
    [paragraph] = deb822.parse("A: 1\n# note\n more\nA: 2\n")
    assert paragraph["A"] == "2"
    assert paragraph.fields[0].value == "1\nmore"
    assert "B" not in paragraph and paragraph.get("B") is None


def test_whitespace_only_lines_separate_paragraphs() -> None:
    assert [dict(p) for p in deb822.parse("A: 1\n \t\nA: 2")] == [
        {"A": "1"},
        {"A": "2"},
    ]
    assert list(deb822.parse("\n\n")) == []


def test_a_continuation_line_needs_a_field() -> None:
    with pytest.raises(
        deb822.Deb822Error, match="continuation line before any field: ' x'"
    ):
        list(deb822.parse("A: 1\n\n x\n"))


def test_the_resolver_names_the_index_of_a_bad_paragraph() -> None:
    with pytest.raises(ResolveError, match="trixie: Packages: continuation line"):
        parse_packages(" stray\nPackage: a\n", "trixie")
    with pytest.raises(ResolveError, match="InRelease: continuation line"):
        parse_release(" stray\n", Suite("trixie", "debian"), "http://mirror.test")
