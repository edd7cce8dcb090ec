"""Whole-project golden comparisons; `make golden` refreshes them after intended changes."""

import difflib

import pytest

from combos import GOLDEN, Combo
from golden import golden_path, render_combo


@pytest.mark.parametrize("combo", GOLDEN, ids=lambda c: c.id)
def test_generated_project_matches_golden(combo: Combo) -> None:
    expected = golden_path(combo).read_text()
    actual = render_combo(combo)
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                "golden",
                "now",
            )
        )
        pytest.fail(
            f"Generated output differs from {golden_path(combo)}; run `make golden` "
            f"if the change is intended.\n{diff[:5000]}"
        )
