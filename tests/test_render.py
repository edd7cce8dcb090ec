from pathlib import Path

import pytest

from factories import make_options, make_tree
from fastapi_patterns.assets import template_files
from fastapi_patterns.errors import TemplateError
from fastapi_patterns.manifest import read_manifest
from fastapi_patterns.options import Options
from fastapi_patterns.plan import MANIFEST, plan
from fastapi_patterns.render import build_context, render


def render_tree(options: Options, root: Path) -> dict[str, bytes]:
    return render(plan(options, template_files(root)), options, root)


def test_context_values() -> None:
    context = build_context(make_options(name="orders-api", layout="src", python="3.12"))
    assert context["title"] == "Orders Api"
    assert context["src_prefix"] == "src/"
    assert context["py_tag"] == "py312"
    assert context["database_url_default"] == "sqlite+aiosqlite:///./orders_api.db"
    assert build_context(make_options(db="postgresql"))["database_url_default"].startswith(
        "postgresql+asyncpg://"
    )
    assert build_context(make_options(db="none", auth="none"))["db_enabled"] is False


@pytest.mark.parametrize(
    ("db", "auth", "db_enabled", "db_server", "jwt"),
    [
        ("sqlite", "jwt", True, False, True),
        ("postgresql", "none", True, True, False),
        ("mysql", "jwt", True, True, True),
        ("none", "none", False, False, False),
    ],
)
def test_the_context_reads_the_options_own_answers(
    db: str, auth: str, db_enabled: bool, db_server: bool, jwt: bool
) -> None:
    options = make_options(db=db, auth=auth)
    context = build_context(options)
    assert (context["db_enabled"], context["db_server"], context["jwt"]) == (
        db_enabled,
        db_server,
        jwt,
    )
    assert (options.has_db, options.has_db_server, options.has_jwt) == (
        db_enabled,
        db_server,
        jwt,
    )


def test_render_fills_templates_and_copies_others_verbatim(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {
            "__package__/main.py.jinja": (
                "NAME = '{{ package }}'\n{% if jwt %}\nAUTH = True\n{% endif %}\n"
            ),
            "static.txt": "{{ not rendered }}\n",
        },
    )
    options = make_options()
    files = render_tree(options, tmp_path)
    assert files["orders_api/main.py"] == b"NAME = 'orders_api'\nAUTH = True\n"
    assert files["static.txt"] == b"{{ not rendered }}\n"


def test_the_manifest_is_rendered_last_and_hashes_every_other_file(tmp_path: Path) -> None:
    make_tree(tmp_path, {"b.py.jinja": "B = '{{ package }}'\n", "a.txt": "a\n"})
    files = render_tree(make_options(), tmp_path)
    assert list(files) == ["a.txt", "b.py", MANIFEST]
    recorded = read_manifest(files[MANIFEST].decode())["files"]
    assert isinstance(recorded, dict) and sorted(recorded) == ["a.txt", "b.py"]


def test_undefined_variables_fail_loudly(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py.jinja": "{{ no_such_variable }}\n"})
    options = make_options()
    with pytest.raises(TemplateError, match=r"a\.py\.jinja.*no_such_variable"):
        render_tree(options, tmp_path)


def test_empty_render_is_an_error(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py.jinja": "{% if redis %}\nx = 1\n{% endif %}\n"})
    options = make_options(redis=False)
    with pytest.raises(TemplateError, match="rendered empty"):
        render_tree(options, tmp_path)


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.jinja": "{{ title }} {{ generator_version }}\n", "b": "b\n"})
    options = make_options()
    first = render_tree(options, tmp_path)
    second = render_tree(options, tmp_path)
    assert first == second
    assert list(first) == list(second)
