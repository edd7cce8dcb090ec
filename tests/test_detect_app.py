"""Finding the FastAPI app by syntax tree, the project root, the layout and the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import detect_tree as detect
from fastapi_patterns.detect import Detection
from fastapi_patterns.detect.run_files import AppReference, app_references

APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"


def shape(d: Detection) -> tuple[str, str, str | None, str | None]:
    return d.project_root, d.layout, d.package, d.fastapi_app


# -- what counts as an app --------------------------------------------------------------------


def test_flat_package(tmp_path: Path) -> None:
    d = detect(tmp_path, {"pyproject.toml": "", "app/__init__.py": "", "app/main.py": APP})
    assert shape(d) == (".", "flat", "app", "app.main:app")
    assert d.existing_fastapi is True
    assert d.sources["fastapi_app"] == "app/main.py"
    assert "app/main.py" in d.files_touched and "pyproject.toml" in d.files_touched


def test_single_module(tmp_path: Path) -> None:
    d = detect(tmp_path, {"requirements.txt": "fastapi\n", "main.py": APP})
    assert shape(d) == (".", "none", None, "main:app")


def test_no_app(tmp_path: Path) -> None:
    d = detect(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n', "x/__init__.py": ""})
    assert d.fastapi_app is None
    assert d.existing_fastapi is False
    assert "fastapi_app" not in d.sources


def test_found_by_syntax_not_by_text(tmp_path: Path) -> None:
    text = '''\
        """Call FastAPI() in main.py to build the app."""
        # app = FastAPI()
        TEMPLATE = "app = FastAPI()"
        def describe():
            return "FastAPI"
        '''
    d = detect(tmp_path, {"notes.py": text})
    assert d.fastapi_app is None


def test_aliases_and_module_attribute(tmp_path: Path) -> None:
    a = detect(
        tmp_path / "a",
        {"svc.py": "from fastapi import FastAPI as Api\n\napplication = Api(title='x')\n"},
    )
    assert a.fastapi_app == "svc:application"
    b = detect(tmp_path / "b", {"svc.py": "import fastapi\n\nserver = fastapi.FastAPI()\n"})
    assert b.fastapi_app == "svc:server"


def test_annotated_assignment_and_subclass(tmp_path: Path) -> None:
    text = """\
        from fastapi import FastAPI

        class Api(FastAPI):
            pass

        api: Api = Api()
        """
    d = detect(tmp_path, {"service.py": text})
    assert d.fastapi_app == "service:api"


def test_app_built_inside_module_level_blocks(tmp_path: Path) -> None:
    text = """\
        import os
        from fastapi import FastAPI

        if os.environ.get("DOCS"):
            app = FastAPI()
        else:
            app = FastAPI(docs_url=None)
        """
    d = detect(tmp_path, {"main.py": text})
    assert d.fastapi_app == "main:app"


def test_factory_and_instance_in_one_module(tmp_path: Path) -> None:
    text = """\
        from fastapi import FastAPI

        def create_app() -> FastAPI:
            application = FastAPI()
            return application

        app = create_app()
        """
    d = detect(tmp_path, {"app/__init__.py": "", "app/main.py": text})
    assert d.fastapi_app == "app.main:app"
    assert d.fastapi_factory is False
    assert not d.warnings


def test_factory_imported_from_another_module(tmp_path: Path) -> None:
    factory = """\
        from fastapi import FastAPI

        def build(settings=None):
            return FastAPI(title="svc")
        """
    main = "from app.factory import build\nfrom app import settings\n\napp = build(settings)\n"
    d = detect(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": "",
            "app/factory.py": factory,
            "app/main.py": main,
        },
    )
    assert d.fastapi_app == "app.main:app"


def test_factory_through_a_relative_module_import(tmp_path: Path) -> None:
    factory = "import fastapi\n\ndef make():\n    return fastapi.FastAPI()\n"
    main = "from . import factory\n\napp = factory.make()\n"
    d = detect(tmp_path, {"svc/__init__.py": "", "svc/factory.py": factory, "svc/main.py": main})
    assert d.fastapi_app == "svc.main:app"


def test_factory_only(tmp_path: Path) -> None:
    text = "from fastapi import FastAPI\n\ndef create_app():\n    app = FastAPI()\n    return app\n"
    d = detect(tmp_path, {"app/__init__.py": "", "app/main.py": text})
    assert d.fastapi_app == "app.main:create_app"
    assert d.fastapi_factory is True


def test_accessor_returning_the_app_is_not_a_factory(tmp_path: Path) -> None:
    text = """\
        from fastapi import FastAPI, Request

        def get_app(request: Request) -> FastAPI:
            return request.app
        """
    d = detect(tmp_path, {"deps.py": text})
    assert d.fastapi_app is None


def test_app_created_in_package_init(tmp_path: Path) -> None:
    d = detect(tmp_path, {"service/__init__.py": APP, "service/routes.py": ""})
    assert shape(d) == (".", "flat", "service", "service:app")


def test_reexport_is_not_another_app(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "app/__init__.py": "from .main import app\n",
            "app/main.py": APP,
            "asgi.py": "from app.main import app\n",
        },
    )
    assert d.fastapi_app == "app.main:app"
    assert not d.warnings


def test_mounted_sub_app_is_not_the_app(tmp_path: Path) -> None:
    text = """\
        from fastapi import FastAPI

        v1 = FastAPI()
        admin = FastAPI()
        root = FastAPI()
        root.mount("/v1", v1)
        root.mount("/admin", app=admin)
        """
    d = detect(tmp_path, {"main.py": text})
    assert d.fastapi_app == "main:root"


def test_sub_app_mounted_from_another_module(tmp_path: Path) -> None:
    server = """\
        from fastapi import FastAPI
        from .main import app as admin_app

        api = FastAPI()
        api.mount("/admin", admin_app)
        """
    d = detect(tmp_path, {"pkg/__init__.py": "", "pkg/main.py": APP, "pkg/server.py": server})
    assert d.fastapi_app == "pkg.server:api"


@pytest.mark.parametrize(
    "ignored",
    [
        "tests/test_api.py",
        "tests/conftest.py",
        "examples/demo.py",
        "docs/tutorial/main.py",
        "test_main.py",
        "assets/app_template.py",
        "templates/service/main.py",
    ],
)
def test_tests_examples_and_docs_are_ignored(tmp_path: Path, ignored: str) -> None:
    d = detect(tmp_path, {ignored: APP, "pyproject.toml": ""})
    assert d.fastapi_app is None
    d = detect(tmp_path, {"api/__init__.py": "", "api/main.py": APP})
    assert d.fastapi_app == "api.main:app"


def test_syntax_error_is_a_warning(tmp_path: Path) -> None:
    d = detect(
        tmp_path, {"broken.py": "from fastapi import FastAPI\napp = FastAPI(\n", "main.py": APP}
    )
    assert d.fastapi_app == "main:app"
    assert any("broken.py" in w and "not valid Python" in w for w in d.warnings)


def test_several_apps_reports_the_choice(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "backend/app/__init__.py": "",
            "backend/app/main.py": APP,
            "tools/mock_server.py": APP,
        },
    )
    assert d.fastapi_app == "app.main:app"
    assert d.project_root == "backend"
    assert any("tools/mock_server.py:app" in w for w in d.warnings)


# -- run configuration --------------------------------------------------------------------------


TWO_APPS = {
    "app/__init__.py": "",
    "app/main.py": APP,
    "app/admin.py": "from fastapi import FastAPI\nadmin = FastAPI()\n",
}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "Procfile",
            "web: gunicorn -k uvicorn.workers.UvicornWorker app.admin:admin --bind 0.0.0.0:$PORT\n",
        ),
        (
            "Dockerfile",
            'FROM python:3.12\nCMD ["uvicorn", "app.admin:admin", "--host", "0.0.0.0"]\n',
        ),
        (
            "Dockerfile",
            "FROM python:3.12\nENTRYPOINT uv run granian --interface asgi app.admin:admin\n",
        ),
        (
            "pyproject.toml",
            '[project]\nname = "x"\n[tool.fastapi]\nentrypoint = "app.admin:admin"\n',
        ),
        (
            "compose.yaml",
            "services:\n  api:\n    build: .\n    command: uvicorn app.admin:admin --reload\n",
        ),
        ("Makefile", "run:\n\tuvicorn app.admin:admin --reload\n"),
    ],
)
def test_run_configuration_names_the_app(tmp_path: Path, name: str, text: str) -> None:
    d = detect(tmp_path, {**TWO_APPS, name: text})
    assert d.fastapi_app == "app.admin:admin"
    assert d.sources["fastapi_app"] == name


def test_run_configuration_that_does_not_resolve_is_reported(tmp_path: Path) -> None:
    d = detect(tmp_path, {**TWO_APPS, "Procfile": "web: uvicorn service.main:app\n"})
    assert d.fastapi_app == "app.main:app"
    assert any("Procfile names service.main:app" in w for w in d.warnings)


# -- run configurations that name another framework's app ------------------------------------
# `gunicorn app:app` serves Flask and Django as well: the code (or at least a FastAPI
# dependency) decides whether the object it names is a FastAPI app.

FLASK = "from flask import Flask\n\napp = Flask(__name__)\n"


def not_fastapi(d: Detection) -> bool:
    return d.existing_fastapi is False and d.fastapi_app is None and "fastapi_app" not in d.sources


def test_flask_app_named_by_a_procfile_is_not_fastapi(tmp_path: Path) -> None:
    d = detect(tmp_path, {"Procfile": "web: gunicorn app:app --workers 2\n", "app.py": FLASK})
    assert not_fastapi(d)
    assert "Procfile runs app:app, a Flask app; not a FastAPI app." in d.warnings


def test_flask_factory_imported_by_the_served_module(tmp_path: Path) -> None:
    # The shape of a common Flask tutorial project: the served module calls a factory
    # that a package defines, and requirements.txt names flask.
    factory = """\
        import flask
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()

        def create_app(config=None):
            app = flask.Flask(__name__)
            db.init_app(app)
            return app
        """
    d = detect(
        tmp_path,
        {
            "Procfile": "web: flask db upgrade; gunicorn blog:app\n",
            "requirements.txt": "flask\nflask-sqlalchemy\ngunicorn\n",
            "blog.py": "from app import create_app, db\n\napp = create_app()\n",
            "app/__init__.py": factory,
        },
    )
    assert not_fastapi(d)
    assert "Procfile runs blog:app, a Flask app; not a FastAPI app." in d.warnings


@pytest.mark.parametrize(
    ("files", "framework"),
    [
        (
            {
                "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "site.wsgi:application"]\n',
                "site/__init__.py": "",
                "site/wsgi.py": (
                    "import os\nfrom django.core.wsgi import get_wsgi_application\n\n"
                    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.settings')\n"
                    "application = get_wsgi_application()\n"
                ),
                "requirements.txt": "django\n",
            },
            "a Django app",
        ),
        (
            {
                "compose.yaml": "services:\n  web:\n    command: uvicorn main:app --port 80\n",
                "main.py": (
                    "from starlette.applications import Starlette\n"
                    "from starlette.routing import Route\n\n"
                    "app = Starlette(routes=[])\n"
                ),
                "requirements.txt": "starlette\nuvicorn\n",
            },
            "a Starlette app",
        ),
        (
            {
                "Procfile": "web: uvicorn api.main:app\n",
                "api/__init__.py": "",
                "api/main.py": (
                    "from litestar import Litestar, get\n\n"
                    "@get('/')\nasync def index() -> str:\n    return 'hi'\n\n"
                    "app = Litestar(route_handlers=[index])\n"
                ),
                "pyproject.toml": '[project]\nname = "x"\ndependencies = ["litestar"]\n',
            },
            "a Litestar app",
        ),
    ],
    ids=["django", "starlette-only", "litestar"],
)
def test_other_frameworks_named_by_run_configurations(
    tmp_path: Path, files: dict[str, str], framework: str
) -> None:
    d = detect(tmp_path, files)
    assert not_fastapi(d)
    assert any(f", {framework}; not a FastAPI app." in w for w in d.warnings), d.warnings


def test_an_unknown_object_without_a_fastapi_dependency_is_not_fastapi(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "Procfile": "web: gunicorn service:app\n",
            "service.py": "from wsgi_toolkit import build\n\napp = build()\n",
            "requirements.txt": "wsgi-toolkit\ngunicorn\n",
        },
    )
    assert not_fastapi(d)
    assert any(
        w.startswith("Procfile runs service:app, which nothing here builds with FastAPI")
        for w in d.warnings
    ), d.warnings


def test_an_unknown_object_with_a_fastapi_dependency_counts(tmp_path: Path) -> None:
    # Wrapped or built by a library (socketio.ASGIApp around the app, a shared app
    # builder): the code does not say, the project depends on FastAPI: it counts.
    d = detect(
        tmp_path,
        {
            "Procfile": "web: gunicorn -k uvicorn.workers.UvicornWorker service:app\n",
            "service.py": "from company_platform import build\n\napp = build()\n",
            "requirements.txt": "fastapi[standard]\ncompany-platform\n",
        },
    )
    assert (d.existing_fastapi, d.fastapi_app) == (True, "service:app")
    assert d.sources["fastapi_app"] == "Procfile"
    assert not any("not a FastAPI app" in w for w in d.warnings)


def test_a_fastapi_factory_named_by_a_procfile_counts_without_dependencies(
    tmp_path: Path,
) -> None:
    factory = """\
        from fastapi import FastAPI

        def create_app() -> FastAPI:
            app = FastAPI(title="orders")
            return app
        """
    d = detect(
        tmp_path,
        {"Procfile": "web: uvicorn --factory orders.web:create_app\n", "orders/web.py": factory},
    )
    assert (d.existing_fastapi, d.fastapi_app, d.fastapi_factory) == (
        True,
        "orders.web:create_app",
        True,
    )
    assert d.sources["fastapi_app"] == "Procfile"


def test_a_fastapi_app_imported_by_the_served_module_counts(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "serve:app"]\n',
            "serve.py": "from core.application import app\n\n__all__ = ['app']\n",
            "core/__init__.py": "",
            "core/application.py": APP,
        },
    )
    assert (d.existing_fastapi, d.fastapi_app) == (True, "serve:app")
    assert d.sources["fastapi_app"] == "Dockerfile"
    assert not any("not a FastAPI app" in w for w in d.warnings)


def test_a_flask_app_in_the_procfile_beside_a_fastapi_app_in_the_code(tmp_path: Path) -> None:
    # Mid-migration: both frameworks are dependencies. The Procfile's object is known to
    # be Flask's, so the FastAPI dependency does not make it a FastAPI app.
    d = detect(
        tmp_path,
        {
            "requirements.txt": "fastapi\nflask\n",
            "Procfile": "web: gunicorn legacy:app\n",
            "legacy.py": FLASK,
            "api/__init__.py": "",
            "api/main.py": APP,
        },
    )
    assert d.fastapi_app == "api.main:app"
    assert "Procfile runs legacy:app, a Flask app; not a FastAPI app." in d.warnings


def test_a_flask_subclass_and_an_aliased_app(tmp_path: Path) -> None:
    text = """\
        from flask import Flask

        class Site(Flask):
            pass

        application = Site(__name__)
        app = application
        """
    d = detect(tmp_path, {"Procfile": "web: gunicorn site_app:app\n", "site_app.py": text})
    assert not_fastapi(d)
    assert "Procfile runs site_app:app, a Flask app; not a FastAPI app." in d.warnings


def test_one_app_named_by_several_run_configurations_is_not_a_choice(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            **TWO_APPS,
            "Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "app.main:app"]\n',
            "compose.yaml": "services:\n  api:\n    command: uvicorn app.main:app --reload\n",
        },
    )
    assert (d.fastapi_app, d.sources["fastapi_app"]) == ("app.main:app", "Dockerfile")
    assert d.warnings == []


def test_fastapi_cli_path_form(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "backend/Dockerfile": (
                'FROM python:3.10\nCMD ["fastapi", "run", "--workers", "4", "app/main.py"]\n'
            ),
            "backend/pyproject.toml": "",
            "backend/app/__init__.py": "",
            "backend/app/main.py": APP,
        },
    )
    assert shape(d) == ("backend", "flat", "app", "app.main:app")
    assert d.sources["fastapi_app"] == "backend/Dockerfile"


def test_uvicorn_factory_flag_and_app_dir(tmp_path: Path) -> None:
    factory = "from fastapi import FastAPI\n\ndef create_app():\n    return FastAPI()\n"
    d = detect(
        tmp_path,
        {
            "Procfile": "web: uvicorn --factory svc.web:create_app --app-dir src --port 8000\n",
            "pyproject.toml": "",
            "src/svc/__init__.py": "",
            "src/svc/web.py": factory,
        },
    )
    assert shape(d) == (".", "src", "svc", "svc.web:create_app")
    assert d.fastapi_factory is True


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("uvicorn main:app --reload", [AppReference("main", "app")]),
        ("python -m uvicorn app.main:app", [AppReference("app.main", "app")]),
        ("uvicorn app:create_app --factory", [AppReference("app", "create_app", factory=True)]),
        ("gunicorn 'app:create_app()'", [AppReference("app", "create_app", factory=True)]),
        (
            "gunicorn --bind 0.0.0.0:8000 --chdir backend app.main:app",
            [AppReference("app.main", "app", app_dir="backend")],
        ),
        ('sh -c "alembic upgrade head && uvicorn api.asgi:app"', [AppReference("api.asgi", "app")]),
        ("fastapi run --entrypoint pkg.main:api", [AppReference("pkg.main", "api")]),
        ("fastapi dev src/app.py --app api", [AppReference("src/app.py", "api", path=True)]),
        ("hypercorn --bind 0.0.0.0:80 svc:app", [AppReference("svc", "app")]),
        ("celery -A app.worker:celery worker", []),
        ("uvicorn", []),
        ("", []),
    ],
)
def test_app_references_in_commands(command: str, expected: list[AppReference]) -> None:
    assert app_references(command) == expected


# -- project root, layout and package -------------------------------------------------------------


def test_src_layout_from_self_imports(tmp_path: Path) -> None:
    main = "from fastapi import FastAPI\nfrom orders.routes import router\n\napp = FastAPI()\n"
    d = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "orders"\n',
            "src/orders/__init__.py": "",
            "src/orders/routes.py": "from orders import models\n",
            "src/orders/models.py": "",
            "src/orders/main.py": main,
        },
    )
    assert shape(d) == (".", "src", "orders", "orders.main:app")


def test_src_layout_with_relative_imports_only(tmp_path: Path) -> None:
    main = "from fastapi import FastAPI\nfrom .routes import router\n\napp = FastAPI()\n"
    d = detect(tmp_path, {"src/orders/__init__.py": "", "src/orders/main.py": main})
    assert shape(d) == (".", "src", "orders", "orders.main:app")


def test_src_is_itself_the_package(tmp_path: Path) -> None:
    main = "from fastapi import FastAPI\nfrom src.routes import items\n\napp = FastAPI()\n"
    d = detect(
        tmp_path,
        {
            "requirements.txt": "fastapi\n",
            "src/__init__.py": "",
            "src/routes/__init__.py": "",
            "src/routes/items.py": "from src.models import Item\n",
            "src/models.py": "",
            "src/main.py": main,
        },
    )
    assert shape(d) == (".", "flat", "src", "src.main:app")


def test_src_package_without_init_imported_as_src(tmp_path: Path) -> None:
    main = "from fastapi import FastAPI\nfrom src.config import settings\n\napp = FastAPI()\n"
    d = detect(tmp_path, {"src/config.py": "", "src/main.py": main})
    assert shape(d) == (".", "flat", "src", "src.main:app")


def test_backend_folder_as_the_package(tmp_path: Path) -> None:
    main = "from fastapi import FastAPI\nfrom backend.api import router\n\napp = FastAPI()\n"
    d = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "backend/__init__.py": "",
            "backend/api.py": "from backend.db import session\n",
            "backend/db.py": "",
            "backend/main.py": main,
        },
    )
    assert shape(d) == (".", "flat", "backend", "backend.main:app")


def test_backend_folder_as_a_sub_project(tmp_path: Path) -> None:
    main = "from fastapi import FastAPI\nfrom app.api import router\n\napp = FastAPI()\n"
    d = detect(
        tmp_path,
        {
            "pyproject.toml": "[tool.ruff]\nline-length = 100\n",
            "backend/pyproject.toml": '[project]\nname = "api"\ndependencies = ["fastapi"]\n',
            "backend/app/__init__.py": "",
            "backend/app/api.py": "from app.db import session\n",
            "backend/app/db.py": "",
            "backend/app/main.py": main,
        },
    )
    assert shape(d) == ("backend", "flat", "app", "app.main:app")
    assert d.sources["project_root"] == "backend/pyproject.toml"


def test_sub_project_without_its_own_pyproject(tmp_path: Path) -> None:
    main = "from fastapi import FastAPI\nfrom app.core import config\n\napp = FastAPI()\n"
    d = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\nrequires-python = ">=3.12"\n',
            "server/app/__init__.py": "",
            "server/app/core.py": "",
            "server/app/main.py": main,
        },
    )
    assert shape(d) == ("server", "flat", "app", "app.main:app")
    assert d.python_version == "3.12"


def test_module_beside_its_siblings(tmp_path: Path) -> None:
    main = "from fastapi import FastAPI\nfrom routers import items\n\napp = FastAPI()\n"
    d = detect(
        tmp_path,
        {"api/main.py": main, "api/routers/items.py": "", "api/requirements.txt": "fastapi\n"},
    )
    assert shape(d) == ("api", "none", None, "main:app")


def test_app_in_a_folder_that_is_not_an_identifier(tmp_path: Path) -> None:
    d = detect(tmp_path, {"my-service/main.py": APP})
    assert d.fastapi_app == "main:app"
    assert d.project_root == "my-service"


def test_polyglot_repository_prefers_the_web_app(tmp_path: Path) -> None:
    lambda_app = APP + "from mangum import Mangum\nhandler = Mangum(app)\n"
    d = detect(
        tmp_path,
        {
            "sdk/python/pyproject.toml": '[project]\nname = "acme-sdk"\ndependencies = ["httpx"]\n',
            "sdk/python/acme/__init__.py": "",
            "cli/pyproject.toml": '[project]\nname = "acme-cli"\ndependencies = ["typer"]\n',
            "cli/acme_cli/__init__.py": "",
            "lambdas/thumbnails/pyproject.toml": (
                '[project]\nname = "thumbs"\ndependencies = ["fastapi", "mangum"]\n'
            ),
            "lambdas/thumbnails/handler.py": lambda_app,
            "api/pyproject.toml": '[project]\nname = "acme-api"\ndependencies = ["fastapi"]\n',
            "api/acme_api/__init__.py": "",
            "api/acme_api/main.py": APP,
            "web/package.json": "{}",
        },
    )
    assert shape(d) == ("api", "flat", "acme_api", "acme_api.main:app")


def test_without_an_app_the_web_project_is_the_root(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "pyproject.toml": "[tool.ruff]\nline-length = 100\n",
            "sdk/pyproject.toml": '[project]\nname = "sdk"\ndependencies = ["httpx"]\n',
            "sdk/acme/__init__.py": "",
            "backend/pyproject.toml": '[project]\nname = "orders"\ndependencies = ["fastapi"]\n',
            "backend/src/orders_api/__init__.py": "",
        },
    )
    assert shape(d) == ("backend", "src", "orders_api", None)


@pytest.mark.parametrize(
    ("files", "layout", "package"),
    [
        (
            {"pyproject.toml": '[project]\nname = "shop"\n', "src/shop/__init__.py": ""},
            "src",
            "shop",
        ),
        ({"pyproject.toml": '[project]\nname = "shop"\n', "src/__init__.py": ""}, "flat", "src"),
        (
            {
                "pyproject.toml": '[project]\nname = "my-shop"\n',
                "tests/__init__.py": "",
                "lib/__init__.py": "",
                "my_shop/__init__.py": "",
            },
            "flat",
            "my_shop",
        ),
        ({"pyproject.toml": '[project]\nname = "x"\n', "tests/__init__.py": ""}, "none", None),
        # As in litestar-org/litestar-fullstack: the code is under src/py/app, and the
        # only package at the top holds the build and deploy helpers.
        (
            {
                "pyproject.toml": '[project]\nname = "app"\n',
                "tools/__init__.py": "",
                "src/py/app/__init__.py": "",
            },
            "none",
            None,
        ),
    ],
)
def test_layout_without_an_app(
    tmp_path: Path, files: dict[str, str], layout: str, package: str | None
) -> None:
    d = detect(tmp_path, files)
    assert (d.layout, d.package) == (layout, package)


def test_a_script_that_cannot_be_imported_is_not_the_app(tmp_path: Path) -> None:
    d = detect(tmp_path, {"run-server.py": APP})
    assert d.fastapi_app is None


@pytest.mark.parametrize("folder", ["backend", "server", "api", "project", "service"])
def test_conventional_sub_project_names(tmp_path: Path, folder: str) -> None:
    main = "from fastapi import FastAPI\nfrom app.core import config\n\napp = FastAPI()\n"
    d = detect(
        tmp_path,
        {
            "package.json": "{}",
            f"{folder}/requirements.txt": "fastapi\n",
            f"{folder}/app/__init__.py": "",
            f"{folder}/app/core.py": "",
            f"{folder}/app/main.py": main,
        },
    )
    assert shape(d) == (folder, "flat", "app", "app.main:app")


def test_several_packages_leave_the_package_open(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "tools"\n',
            "alpha/__init__.py": "",
            "beta/__init__.py": "",
        },
    )
    assert (d.layout, d.package) == ("flat", None)


def test_app_subclass_imported_from_another_module(tmp_path: Path) -> None:
    base = "from fastapi import FastAPI\n\nclass Api(FastAPI):\n    pass\n"
    main = "from svc.base import Api\n\napp = Api()\n"  # no FastAPI text at all
    d = detect(tmp_path, {"svc/__init__.py": "", "svc/base.py": base, "svc/main.py": main})
    assert d.fastapi_app == "svc.main:app"


def test_several_run_configurations_prefer_the_service_over_a_lambda(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "lambdas/resize/Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "handler:app"]\n',
            "lambdas/resize/handler.py": APP,
            "services/api/Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "main:app"]\n',
            "services/api/main.py": APP,
        },
    )
    assert (d.project_root, d.fastapi_app) == ("services/api", "main:app")
    assert d.sources["fastapi_app"] == "services/api/Dockerfile"
    assert any(w.startswith("Run configurations name several apps") for w in d.warnings)
