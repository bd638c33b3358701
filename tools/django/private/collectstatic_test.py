"""collectstatic.py's own steps: the tar, the manifest, the gzip check."""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

import pytest
from collectstatic import CollectError, check_gzip_files, normalise_manifest, write_tar


def test_the_tar_is_sorted_below_the_prefix_with_fixed_metadata(tmp_path: Path) -> None:
    root = tmp_path / "static"
    (root / "b").mkdir(parents=True)
    (root / "b" / "z.css").write_text("z")
    (root / "a.js").write_text("a")
    out = tmp_path / "static.tar"
    write_tar(root, "/app/static", out)
    with tarfile.open(out) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == [
            "app",
            "app/static",
            "app/static/a.js",
            "app/static/b",
            "app/static/b/z.css",
        ]
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {
            (0, 0, 0, "", "")
        }
        assert {m.name: oct(m.mode) for m in members if m.isfile()} == {
            "app/static/a.js": "0o644",
            "app/static/b/z.css": "0o644",
        }
        assert tar.extractfile("app/static/b/z.css").read() == b"z"
    first = out.read_bytes()
    write_tar(root, "app/static/", out)
    assert out.read_bytes() == first


def test_a_symlink_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "static"
    root.mkdir()
    (root / "link").symlink_to("/etc/passwd")
    with pytest.raises(CollectError, match="link: a symlink"):
        write_tar(root, "app/static", tmp_path / "out.tar")


def test_the_manifest_is_rewritten_with_sorted_keys(tmp_path: Path) -> None:
    (tmp_path / "staticfiles.json").write_text(
        json.dumps(
            {"paths": {"b.css": "b.1.css", "a.css": "a.2.css"}, "version": "1.1"}
        )
    )
    normalise_manifest(tmp_path)
    text = (tmp_path / "staticfiles.json").read_text()
    assert text.index('"a.css"') < text.index('"b.css"')
    assert json.loads(text)["paths"]["b.css"] == "b.1.css"


def test_a_time_stamped_gzip_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "ok.css.gz").write_bytes(gzip.compress(b"x", mtime=0))
    check_gzip_files(tmp_path)
    (tmp_path / "bad.css.gz").write_bytes(gzip.compress(b"x", mtime=12345))
    with pytest.raises(CollectError, match="bad.css.gz: gzip header carries a time"):
        check_gzip_files(tmp_path)
