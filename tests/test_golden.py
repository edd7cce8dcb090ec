"""Whole-project golden comparisons; `make golden` refreshes them after intended changes."""

import difflib

import pytest

from factories import make_detection
from fastapi_patterns.resolve import resolve
from golden import GOLDEN, GOLDEN_DIR, GoldenCase, golden_path, render_case


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: c.id)
def test_generated_project_matches_golden(case: GoldenCase) -> None:
    expected = golden_path(case).read_text()
    actual = render_case(case)
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
            f"Generated output differs from {golden_path(case)}; run `make golden` "
            f"if the change is intended.\n{diff[:5000]}"
        )


def test_every_golden_file_belongs_to_a_case() -> None:
    assert {path.name for path in GOLDEN_DIR.glob("*.txt")} == {
        golden_path(case).name for case in GOLDEN
    }


def test_the_cases_cover_every_option_value() -> None:
    combos = [case.combo for case in GOLDEN]
    assert {c.db for c in combos} == {"sqlite", "postgresql", "mysql", "none"}
    assert {c.redis for c in combos} == {True, False}
    assert {c.auth for c in combos} == {"jwt", "none"}
    assert {c.layout for c in combos} == {"flat", "src"}
    assert {case.package_manager for case in GOLDEN} >= {"pip", "uv", "poetry"}


def test_the_first_case_is_the_project_made_without_options() -> None:
    # What `create-fastapi-app NAME` (and `make demo`) writes in an empty folder.
    options, _ = resolve("svc", make_detection())
    default = GOLDEN[0]
    assert (default.package_manager, options.package_manager) == ("pip", "pip")
    made = (options.db, options.redis, options.auth, options.layout, options.server)
    combo = default.combo
    assert made == (combo.db, combo.redis, combo.auth, combo.layout, combo.server)
    assert {case.combo.server for case in GOLDEN} == {"uvicorn", "granian"}
