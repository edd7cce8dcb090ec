import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from factories import make_options as options
from factories import make_tree
from fastapi_patterns.assets import project_templates, template_files
from fastapi_patterns.errors import TemplateError
from fastapi_patterns.plan import (
    MANIFEST,
    TEMPLATE_SUFFIX,
    Kind,
    PlannedFile,
    plan,
    target_path,
)

TREE = [
    "README.md.jinja",
    "dot-gitignore",
    "alembic.ini.jinja",
    "migrations/env.py.jinja",
    "migrations/versions/0001_initial.py.jinja",
    "__package__/__init__.py",
    "__package__/__main__.py.uvicorn.jinja",
    "__package__/__main__.py.granian.jinja",
    "__package__/main.py.jinja",
    "__package__/db.py",
    "__package__/core/security.py",
    "__package__/services/cache.py",
    "__package__/services/items.py.db.jinja",
    "__package__/services/items.py.nodb.jinja",
    "tests/test_auth.py.jinja",
    "tests/test_security.py.jinja",
    "tests/test_cache.py.jinja",
]


def test_target_paths_map_package_dotfiles_and_suffix() -> None:
    flat = options()
    assert target_path("__package__/main.py.jinja", flat) == "orders_api/main.py"
    assert target_path("dot-gitignore", flat) == ".gitignore"
    assert target_path("dot-env.example.jinja", flat) == ".env.example"
    assert target_path("tests/test_x.py.jinja", flat) == "tests/test_x.py"
    assert target_path("migrations/script.py.mako", flat) == "migrations/script.py.mako"
    src = options(layout="src")
    assert target_path("__package__/core/x.py.jinja", src) == "src/orders_api/core/x.py"
    assert target_path("__package__/core/x.py", src) == "src/orders_api/core/x.py"
    assert target_path("tests/test_x.py.jinja", src) == "tests/test_x.py"


def test_a_variant_tag_is_dropped_from_the_target() -> None:
    assert target_path("__package__/services/items.py.db.jinja", options()) == (
        "orders_api/services/items.py"
    )
    assert target_path("a.nodb", options()) == "a"


def test_plan_is_sorted_with_the_manifest_last_and_marks_how_files_are_made() -> None:
    planned = plan(options(), TREE)
    targets = [p.target for p in planned]
    assert planned[-1] == PlannedFile(None, MANIFEST, Kind.MANIFEST)
    assert targets[:-1] == sorted(targets[:-1])
    by_target = {p.target: p for p in planned}
    assert by_target[".gitignore"].kind is Kind.COPY
    assert by_target["orders_api/db.py"].kind is Kind.COPY
    assert by_target["orders_api/main.py"].kind is Kind.TEMPLATE


def test_the_plan_is_made_from_the_listing_alone() -> None:
    # Nothing is read from disk: the paths need not exist anywhere.
    assert [p.target for p in plan(options(), ["README.md.jinja"])] == ["README.md", MANIFEST]


def test_the_listing_leaves_out_tool_caches(tmp_path: Path) -> None:
    make_tree(tmp_path, [*TREE, "__package__/__pycache__/stale.pyc", "tests/.ruff_cache/x"])
    assert template_files(tmp_path) == sorted(TREE)


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
    overrides: dict[str, object], present: set[str], absent: set[str]
) -> None:
    targets = {p.target for p in plan(options(**overrides), TREE)}
    assert present <= targets
    assert not absent & targets


@pytest.mark.parametrize(("db", "variant"), [("sqlite", "db"), ("none", "nodb")])
def test_the_variant_for_the_options_is_chosen(db: str, variant: str) -> None:
    planned = plan(options(db=db, auth="none"), TREE)
    (items,) = [p for p in planned if p.target == "orders_api/services/items.py"]
    assert items.template == f"__package__/services/items.py.{variant}.jinja"


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_the_entry_point_is_the_servers_variant(server: str) -> None:
    planned = plan(options(server=server), TREE)
    (entry,) = [p for p in planned if p.target == "orders_api/__main__.py"]
    assert entry.template == f"__package__/__main__.py.{server}.jinja"


def test_two_templates_for_one_target_are_refused() -> None:
    with pytest.raises(TemplateError, match="same generated file"):
        plan(options(), ["README.md", "README.md.jinja"])
    with pytest.raises(TemplateError, match="same generated file"):
        plan(options(), ["a.py.jinja", "a.py.db.jinja"])


def test_a_template_may_not_shadow_the_manifest() -> None:
    assert target_path("dot-create-fastapi-app.yml", options()) == MANIFEST
    with pytest.raises(TemplateError):
        plan(options(), ["dot-create-fastapi-app.yml"])


def has_jinja(text: str) -> bool:
    """Whether Jinja would treat any of `text` as markup (not only as data)."""
    return any(token != "data" for _, token, _ in jinja2.Environment().lex(text))


def test_exactly_the_files_with_jinja_syntax_are_templates() -> None:
    root = project_templates()
    listing = template_files(root)
    assert any(name.endswith(TEMPLATE_SUFFIX) for name in listing)
    wrong = [
        name
        for name in listing
        if has_jinja((root / name).read_text()) != name.endswith(TEMPLATE_SUFFIX)
    ]
    assert wrong == [], "give these .jinja exactly when they hold Jinja syntax"


def test_has_jinja_sees_every_kind_of_markup() -> None:
    assert not has_jinja("x = {'a': 1}\nf'{x}'\n")
    assert all(has_jinja(text) for text in ("{{ x }}", "{% if x %}{% endif %}", "{# c #}"))


def test_every_variant_of_the_real_tree_has_its_counterpart() -> None:
    # Each project gets items.py, with or without a database.
    listing = template_files(project_templates())
    for db in ("sqlite", "none"):
        targets = [p.target for p in plan(options(db=db, auth="none"), listing)]
        assert targets.count("orders_api/services/items.py") == 1
    # And __main__.py, for either server.
    for server in ("uvicorn", "granian"):
        targets = [p.target for p in plan(options(server=server), listing)]
        assert targets.count("orders_api/__main__.py") == 1


def test_the_stages_after_resolve_do_not_import_the_detector() -> None:
    script = (
        "import sys, fastapi_patterns.plan, fastapi_patterns.render, fastapi_patterns.write;"
        "print(sorted(m for m in sys.modules if m.startswith('fastapi_patterns.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "fastapi_patterns.plan" in loaded and "fastapi_patterns.manifest" in loaded
    assert "fastapi_patterns.detect" not in loaded and "fastapi_patterns.resolve" not in loaded
