"""The audit's view of a project: modules, name resolution, functions, apps and routes."""

from __future__ import annotations

import ast
from pathlib import Path

from audit_fixtures import index_files, write_files
from fastapi_patterns.audit.project import Module, ProjectIndex, build_index


def expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def calls_in(module: Module, function_name: str) -> list[ast.Call]:
    for node in ast.walk(module.tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function_name:
            return [n for n in ast.walk(node) if isinstance(n, ast.Call)]
    raise AssertionError(f"no function {function_name}")


def resolved(index: ProjectIndex, module: Module, function_name: str) -> list[str]:
    """The names of the project functions the calls in `function_name` reach."""
    names = []
    for call in calls_in(module, function_name):
        target = index.resolve_function(module, call)
        if target is not None:
            names.append(f"{target[0].name}:{target[1].name}")
    return names


# -- modules -----------------------------------------------------------------------------------


def test_module_names_follow_packages_and_src_layout(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "src/shop/__init__.py": "",
            "src/shop/api/__init__.py": "",
            "src/shop/api/orders.py": "x = 1\n",
            "scripts/seed.py": "",
            "main.py": "",
        },
    )
    assert sorted(index.modules) == ["main", "scripts.seed", "shop", "shop.api", "shop.api.orders"]
    orders = index.modules["shop.api.orders"]
    assert orders.relpath == "src/shop/api/orders.py"
    assert orders.path == (tmp_path / "src/shop/api/orders.py").resolve()
    assert index.modules["shop.api"].is_package and not orders.is_package


def test_skips_virtualenvs_caches_and_migrations(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "app/main.py": "",
            ".venv/lib/site.py": "",
            "node_modules/x/y.py": "",
            "app/__pycache__/z.py": "",
            "migrations/0001.py": "",
            "alembic/env.py": "",
            "alembic/versions/abc_init.py": "",
            "build/lib/app/main.py": "",
        },
    )
    assert sorted(m.relpath for m in index.modules.values()) == ["alembic/env.py", "app/main.py"]


def test_unparsable_file_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n")
    index = index_files(tmp_path, {"good.py": "x = 1\n", "bad.py": "def broken(:\n"})
    assert sorted(index.modules) == ["good", "latin"]
    assert "name = '\xe9'" in index.modules["latin"].source
    [warning] = index.warnings
    assert warning.startswith("bad.py:1: does not parse (")


def test_undecodable_file_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "bin.py").write_bytes(b"x = '\xff'\n")
    index = build_index(tmp_path)
    assert index.modules == {}
    assert index.warnings == [
        "bin.py: does not parse (invalid or missing encoding declaration); skipped"
    ]


def test_only_the_given_paths(tmp_path: Path) -> None:
    write_files(tmp_path, {"app/a.py": "", "app/b.py": "", "other/c.py": ""})
    index = build_index(tmp_path, [tmp_path / "app", tmp_path / "other/c.py", tmp_path / "app"])
    assert sorted(m.relpath for m in index.modules.values()) == [
        "app/a.py",
        "app/b.py",
        "other/c.py",
    ]


# -- names -------------------------------------------------------------------------------------


def test_qualified_names_through_imports_and_aliases(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "m.py": (
                "import numpy as np\n"
                "import os.path\n"
                "import redis as r\n"
                "from sqlalchemy import orm\n"
                "from sqlalchemy.orm import Session as S\n"
                "import requests\n"
                "http = requests\n"
                "def f():\n"
                "    import psycopg2 as pg\n"
                "    return pg\n"
                "CONST = 1\n"
            )
        },
    )
    m = index.modules["m"]
    cases = {
        "np.array": "numpy.array",
        "os.path.join": "os.path.join",
        "r.Redis": "redis.Redis",
        "orm.Session": "sqlalchemy.orm.Session",
        "S": "sqlalchemy.orm.Session",
        "http.get": "requests.get",
        "pg.connect": "psycopg2.connect",
        "CONST": "m.CONST",
        "f": "m.f",
        "open": "builtins.open",
        "unknown.thing": None,
    }
    assert {text: index.qualified_name(m, expr(text)) for text in cases} == cases
    assert index.qualified_name(m, expr("f().x")) is None


def test_relative_imports_and_reexports_resolve_to_the_definition(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/api/__init__.py": "from .routes import router\n",
            "pkg/api/routes.py": "from fastapi import APIRouter\nrouter = APIRouter()\n",
            "pkg/main.py": (
                "from .api import router as app_router\n"
                "from . import api\n"
                "from ..outside import thing\n"
            ),
        },
    )
    main = index.modules["pkg.main"]
    assert index.qualified_name(main, expr("app_router")) == "pkg.api.routes.router"
    assert index.qualified_name(main, expr("api.router.get")) == "pkg.api.routes.router.get"
    # a relative import climbing above the top package does not crash, and names something
    assert index.qualified_name(main, expr("thing")) == "outside.thing"


def test_project_audited_from_above_its_import_root(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "backend/app/main.py": "from app.core.db import get_engine\n",
            "backend/app/core/db.py": "def get_engine():\n    pass\n",
        },
    )
    main = index.modules["backend.app.main"]
    assert index.qualified_name(main, expr("get_engine")) == "backend.app.core.db.get_engine"


# -- functions ---------------------------------------------------------------------------------


def test_functions_with_qualified_names(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "svc.py": (
                "class UserService:\n"
                "    async def get(self):\n"
                "        def inner():\n"
                "            pass\n"
                "def helper():\n"
                "    pass\n"
            )
        },
    )
    names = sorted(qn for _, _, qn in index.functions())
    assert names == ["svc.UserService.get", "svc.UserService.get.inner", "svc.helper"]


def test_resolve_function_across_modules_methods_and_nesting(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/helpers.py": "def load():\n    pass\n",
            "app/services.py": (
                "from app import helpers as h\n"
                "class Base:\n"
                "    def shared(self):\n"
                "        pass\n"
                "class UserService(Base):\n"
                "    def fetch(self):\n"
                "        return h.load()\n"
                "    def run(self):\n"
                "        self.fetch()\n"
                "        self.shared()\n"
                "        self.missing()\n"
                "    @classmethod\n"
                "    def build(cls):\n"
                "        return cls.fetch\n"
            ),
            "app/routes.py": (
                "from typing import Annotated\n"
                "from fastapi import Depends\n"
                "from app.services import UserService\n"
                "from app.helpers import load\n"
                "async def handler(svc: Annotated[UserService, Depends()], other):\n"
                "    def nested():\n"
                "        pass\n"
                "    nested()\n"
                "    load()\n"
                "    svc.fetch()\n"
                "    UserService.shared(svc)\n"
                "    made = UserService()\n"
                "    made.run()\n"
                "    other.fetch()\n"
                "    print('x')\n"
            ),
        },
    )
    services = index.modules["app.services"]
    assert resolved(index, services, "fetch") == ["app.helpers:load"]
    assert resolved(index, services, "run") == ["app.services:fetch", "app.services:shared"]
    routes = index.modules["app.routes"]
    assert resolved(index, routes, "handler") == [
        "app.routes:nested",
        "app.helpers:load",
        "app.services:fetch",
        "app.services:shared",
        "app.services:run",
    ]


def test_scopes_enclosing_a_node(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "m.py": (
                "def factory(router):\n"
                "    class Service:\n"
                "        @router.get('/')\n"
                "        def method(self, x=default()):\n"
                "            return [call() for _ in x]\n"
                "    return Service\n"
            )
        },
    )
    module = index.modules["m"]
    nodes = {
        ast.unparse(n): n for n in ast.walk(module.tree) if isinstance(n, ast.Call | ast.arguments)
    }
    names = {
        text: [getattr(s, "name", "?") for s in index.scopes(module, node)]
        for text, node in nodes.items()
    }
    assert names == {
        "router.get('/')": ["factory", "Service"],  # decorators run in the enclosing scope
        "default()": ["factory", "Service"],
        "call()": ["factory", "Service", "method"],
        # no position: found by walking, and a signature counts as inside its def
        "self, x=default()": ["factory", "Service", "method"],
        "router": ["factory"],
    }


# -- apps and routes ---------------------------------------------------------------------------


def route_table(index: ProjectIndex) -> list[tuple[str, str, str, str | None, bool]]:
    return sorted(
        (r.module.relpath, r.function.name, r.method, r.path, r.is_async) for r in index.routes()
    )


def test_routes_on_apps_and_routers_in_other_modules(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/api/__init__.py": "from .items import router as items_router\n",
            "app/api/items.py": (
                "import fastapi as fa\n"
                "router = fa.APIRouter(prefix='/items')\n"
                "@router.get('/')\n"
                "async def list_items():\n"
                "    pass\n"
                "@router.api_route('/x', methods=['put', 'post'])\n"
                "def both():\n"
                "    pass\n"
                "@router.websocket(path='/ws')\n"
                "async def ws():\n"
                "    pass\n"
            ),
            "app/main.py": (
                "from fastapi import FastAPI\n"
                "from app.api import items_router\n"
                "from app import api\n"
                "app = FastAPI()\n"
                "app.include_router(items_router)\n"
                "@app.post(PATH)\n"
                "def create():\n"
                "    pass\n"
                "@api.items_router.delete('/{id}')\n"
                "async def remove():\n"
                "    pass\n"
                "def plain():\n"
                "    pass\n"
                "app.add_api_route('/plain', plain, methods=['PATCH'])\n"
            ),
            # look-alikes that are not routes
            "app/other.py": (
                "import requests\n"
                "session = requests.Session()\n"
                "@session.get('/not-a-route')\n"
                "def f():\n"
                "    pass\n"
                "class Thing:\n"
                "    def get(self, path):\n"
                "        return lambda fn: fn\n"
                "thing = Thing()\n"
                "@thing.get('/x')\n"
                "def g():\n"
                "    pass\n"
            ),
        },
    )
    assert route_table(index) == [
        ("app/api/items.py", "both", "PUT,POST", "/x", False),
        ("app/api/items.py", "list_items", "GET", "/", True),
        ("app/api/items.py", "ws", "WEBSOCKET", "/ws", True),
        ("app/main.py", "create", "POST", None, False),
        ("app/main.py", "plain", "PATCH", "/plain", False),
        ("app/main.py", "remove", "DELETE", "/{id}", True),
    ]
    assert [(m.relpath, name) for m, name in index.apps()] == [("app/main.py", "app")]


def test_routes_and_apps_inside_a_factory(tmp_path: Path) -> None:
    index = index_files(
        tmp_path,
        {
            "factory.py": (
                "from fastapi import FastAPI as App, APIRouter\n"
                "def create_app() -> App:\n"
                "    application: App = App()\n"
                "    router = APIRouter()\n"
                "    @router.get('/health')\n"
                "    async def health():\n"
                "        pass\n"
                "    @application.get('/')\n"
                "    def root():\n"
                "        pass\n"
                "    application.include_router(router)\n"
                "    return application\n"
                "def unrelated(router):\n"
                "    @router.get('/param')\n"
                "    def p():\n"
                "        pass\n"
            ),
        },
    )
    assert route_table(index) == [
        ("factory.py", "health", "GET", "/health", True),
        ("factory.py", "root", "GET", "/", False),
    ]
    assert [(m.relpath, name) for m, name in index.apps()] == [("factory.py", "application")]
