from pathlib import Path

import pytest

from factories import make_options, make_tree
from fastapi_patterns.plan import plan
from fastapi_patterns.render import TemplateError, build_context, render


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
    files = render(plan(options, tmp_path), options, tmp_path)
    assert files["orders_api/main.py"] == b"NAME = 'orders_api'\nAUTH = True\n"
    assert files["static.txt"] == b"{{ not rendered }}\n"


def test_undefined_variables_fail_loudly(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py.jinja": "{{ no_such_variable }}\n"})
    options = make_options()
    with pytest.raises(TemplateError, match=r"a\.py\.jinja.*no_such_variable"):
        render(plan(options, tmp_path), options, tmp_path)


def test_empty_render_is_an_error(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.py.jinja": "{% if redis %}\nx = 1\n{% endif %}\n"})
    options = make_options(redis=False)
    with pytest.raises(TemplateError, match="rendered empty"):
        render(plan(options, tmp_path), options, tmp_path)


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.jinja": "{{ title }} {{ generator_version }}\n", "b": "b\n"})
    options = make_options()
    first = render(plan(options, tmp_path), options, tmp_path)
    second = render(plan(options, tmp_path), options, tmp_path)
    assert first == second
    assert list(first) == list(second)
