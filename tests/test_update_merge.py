"""merge.py: git merge-file as the three-way primitive, and its one-line refusal without git."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fastapi_patterns.update.errors import UpdateError
from fastapi_patterns.update.merge import Labels, has_markers, merge3

LABELS = Labels("ours (your project)", "base (0.1.0)", "theirs (0.2.0)")
BASE = b"a\nb\nc\nd\ne\n"


def test_clean_merge_takes_both_sides() -> None:
    merged = merge3("f", b"A\nb\nc\nd\ne\n", BASE, b"a\nb\nc\nd\nE\n", LABELS)
    assert (merged.content, merged.conflicts) == (b"A\nb\nc\nd\nE\n", 0)
    assert not has_markers(merged.content)


def test_conflicts_are_counted_and_labelled() -> None:
    merged = merge3("f", b"A\nb\nc\nd\nE1\n", BASE, b"A2\nb\nc\nd\nE2\n", LABELS)
    assert merged.conflicts == 2
    text = merged.content.decode()
    assert text.count("<<<<<<< ours (your project)\n") == 2
    assert text.count("||||||| base (0.1.0)\n") == 2
    assert text.count(">>>>>>> theirs (0.2.0)\n") == 2
    assert has_markers(merged.content)


def test_markers_are_recognised_only_at_line_starts() -> None:
    assert not has_markers(b'separator = "======="\nx = "<<<<<<< "\n')
    assert has_markers(b"x\n=======\n")


def test_without_git_a_merge_stops_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder without git
    assert shutil.which("git") is None
    with pytest.raises(UpdateError) as error:
        merge3("app/main.py", b"x\n", b"y\n", b"z\n", LABELS)
    message = str(error.value)
    assert "\n" not in message and "app/main.py" in message and "install git" in message
    assert os.environ["PATH"] == str(tmp_path)
