from pathlib import Path

import pytest

from factories import make_options as options
from factories import make_tree
from fastapi_patterns.plan import MANIFEST, plan, target_path

TREE = [
    "README.md.jinja",
    "dot-gitignore",
    "alembic.ini.jinja",
    "migrations/env.py.jinja",
    "migrations/versions/0001_initial.py.jinja",
    "__package__/__init__.py",
    "__package__/main.py.jinja",
    "__package__/db.py.jinja",
    "__package__/core/security.py.jinja",
    "__package__/services/cache.py.jinja",
    "__package__/__pycache__/stale.pyc",
    "tests/test_auth.py.jinja",
    "tests/test_security.py.jinja",
    "tests/test_cache.py.jinja",
]


def test_target_paths_map_package_dotfiles_and_suffix() -> None:
    flat = options()
    assert target_path("__package__/main.py.jinja", flat) == "orders_api/main.py"
    assert target_path("dot-gitignore", flat) == ".gitignore"
    assert target_path("tests/test_x.py.jinja", flat) == "tests/test_x.py"
    src = options(layout="src")
    assert target_path("__package__/core/x.py.jinja", src) == "src/orders_api/core/x.py"
    assert target_path("tests/test_x.py.jinja", src) == "tests/test_x.py"


def test_plan_is_sorted_and_marks_rendered_files(tmp_path: Path) -> None:
    planned = plan(options(), make_tree(tmp_path, TREE))
    targets = [p.target for p in planned]
    assert targets == sorted(targets)
    by_target = {p.target: p for p in planned}
    assert by_target[".gitignore"].render is False
    assert by_target["orders_api/main.py"].render is True
    assert not any("__pycache__" in t for t in targets)


@pytest.mark.parametrize(
    ("overrides", "present", "absent"),
    [
        (
            {},
            {"orders_api/db.py", "migrations/env.py", "orders_api/core/security.py"},
            {"orders_api/services/cache.py", "tests/test_cache.py"},
        ),
        (
            {},
            {"tests/test_auth.py", "tests/test_security.py"},
            set(),
        ),
        (
            {"db": "none", "auth": "none", "redis": True},
            {"orders_api/services/cache.py", "tests/test_cache.py"},
            {"orders_api/db.py", "alembic.ini", "migrations/env.py", "tests/test_auth.py"},
        ),
        (
            {"auth": "none"},
            {"orders_api/db.py"},
            {"orders_api/core/security.py", "tests/test_auth.py", "tests/test_security.py"},
        ),
    ],
)
def test_conditional_files(
    tmp_path: Path, overrides: dict[str, object], present: set[str], absent: set[str]
) -> None:
    targets = {p.target for p in plan(options(**overrides), make_tree(tmp_path, TREE))}
    assert present <= targets
    assert not absent & targets


def test_two_templates_for_one_target_are_refused(tmp_path: Path) -> None:
    make_tree(tmp_path, ["README.md", "README.md.jinja"])
    with pytest.raises(ValueError, match="same generated file"):
        plan(options(), tmp_path)


def test_a_template_may_not_shadow_the_manifest(tmp_path: Path) -> None:
    make_tree(tmp_path, ["dot-create-fastapi-app.yml"])
    assert target_path("dot-create-fastapi-app.yml", options()) == MANIFEST
    with pytest.raises(ValueError):
        plan(options(), tmp_path)
