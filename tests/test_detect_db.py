"""Detection of the database, its driver and Redis: each source, each trap, the precedence."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from factories import detect_tree as detect
from fastapi_patterns.detect.database_names import from_image, from_url
from fastapi_patterns.detect.summary import generator_flags


def pyproject(*deps: str, dev: tuple[str, ...] = ()) -> str:
    listed = ", ".join(f'"{d}"' for d in deps)
    text = f'[project]\nname = "svc"\ndependencies = [{listed}]\n'
    if dev:
        text += "[dependency-groups]\ndev = [" + ", ".join(f'"{d}"' for d in dev) + "]\n"
    return text


# -- declared dependencies -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dependency", "database", "driver"),
    [
        ("asyncpg>=0.29", "postgresql", "asyncpg"),
        ("psycopg[binary,pool]>=3.2", "postgresql", "psycopg"),
        ("psycopg2-binary==2.9.9", "postgresql", "psycopg2"),
        ("pg8000", "postgresql", "pg8000"),
        ("asyncmy", "mysql", "asyncmy"),
        ("aiomysql", "mysql", "aiomysql"),
        ("PyMySQL", "mysql", "pymysql"),
        ("mysqlclient", "mysql", "mysqlclient"),
        ("aiosqlite", "sqlite", "aiosqlite"),
        ("motor>=3", "mongodb", "motor"),
        ("beanie", "mongodb", "beanie"),
        ("sqlalchemy[asyncio,postgresql_asyncpg]>=2", "postgresql", "asyncpg"),
        ("databases[aiosqlite]", "sqlite", "aiosqlite"),
        ("tortoise-orm[asyncmy]", "mysql", "asyncmy"),
    ],
)
def test_driver_dependency(tmp_path: Path, dependency: str, database: str, driver: str) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject("fastapi", dependency)})
    assert (d.database, d.database_driver) == (database, driver)
    assert d.sources["database"] == d.sources["database_driver"] == "pyproject.toml"


def test_orm_without_a_driver_is_no_database(tmp_path: Path) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject("fastapi", "sqlalchemy>=2", "sqlmodel")})
    assert d.database == "none"
    assert d.database_driver is None
    assert "database" not in d.sources


def test_mypy_override_naming_a_driver_is_not_a_dependency(tmp_path: Path) -> None:
    text = pyproject("fastapi") + textwrap.dedent(
        """\
        [[tool.mypy.overrides]]
        module = ["asyncpg.*", "aiomysql"]
        ignore_missing_imports = true

        [tool.ruff.lint.isort]
        known-third-party = ["psycopg"]
        """
    )
    d = detect(tmp_path, {"pyproject.toml": text})
    assert d.database == "none"


def test_commented_requirement_is_not_a_dependency(tmp_path: Path) -> None:
    requirements = "fastapi==0.165.0  # asyncpg later\n# psycopg2-binary\n-e .\n"
    d = detect(tmp_path, {"requirements.txt": requirements})
    assert d.database == "none"


def test_requirements_include_is_followed(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "requirements.txt": "-r requirements/base.txt\n",
            "requirements/base.txt": "fastapi\nasyncmy==0.2.18 \\\n    --hash=sha256:abc\n",
        },
    )
    assert (d.database, d.database_driver) == ("mysql", "asyncmy")
    assert d.sources["database"] == "requirements/base.txt"


def test_poetry_dependency_table(tmp_path: Path) -> None:
    text = """\
        [tool.poetry.dependencies]
        python = "^3.11"
        fastapi = "*"
        psycopg = { version = "^3.2", extras = ["binary"] }
        """
    d = detect(tmp_path, {"pyproject.toml": text})
    assert (d.database, d.database_driver) == ("postgresql", "psycopg")


def test_pipfile_packages(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {"Pipfile": '[packages]\nfastapi = "*"\nmotor = "*"\n[dev-packages]\npytest = "*"\n'},
    )
    assert d.database == "mongodb"
    assert d.sources["database"] == "Pipfile"


def test_setup_cfg_install_requires(tmp_path: Path) -> None:
    text = "[options]\ninstall_requires =\n    fastapi\n    aiomysql>=0.2\n"
    d = detect(tmp_path, {"setup.cfg": text})
    assert (d.database, d.database_driver) == ("mysql", "aiomysql")


def test_setup_py_install_requires(tmp_path: Path) -> None:
    text = (
        "from setuptools import setup\nREQS = ['fastapi', 'asyncpg']\nsetup(install_requires=REQS)"
    )
    d = detect(tmp_path, {"setup.py": text})
    assert (d.database, d.database_driver) == ("postgresql", "asyncpg")


# -- URLs in env files, compose and settings --------------------------------------------------


@pytest.mark.parametrize(
    "name", [".env", ".env.example", ".env.dist", ".env.local", "app.env", ".env.sample"]
)
def test_database_url_in_env_files(tmp_path: Path, name: str) -> None:
    d = detect(tmp_path, {name: "APP_NAME=x\nDATABASE_URL=postgres://u:p@db:5432/app\n"})
    assert d.database == "postgresql"
    assert d.database_driver is None
    assert d.sources["database"] == name


@pytest.mark.parametrize(
    ("url", "database", "driver"),
    [
        ("postgresql+asyncpg://u@h/db", "postgresql", "asyncpg"),
        ("postgres://u@h/db", "postgresql", None),
        ("postgresql+psycopg://u@h/db", "postgresql", "psycopg"),
        ("mysql+asyncmy://u@h/db", "mysql", "asyncmy"),
        ("mariadb+pymysql://u@h/db", "mysql", "pymysql"),
        ("mysql+mysqldb://u@h/db", "mysql", "mysqlclient"),
        ("sqlite+aiosqlite:///./app.db", "sqlite", "aiosqlite"),
        ("sqlite:///app.db", "sqlite", None),
        ("mongodb+srv://u@cluster/db", "mongodb", None),
        ("redis://cache:6379/0", "redis", None),
    ],
)
def test_urls(url: str, database: str, driver: str | None) -> None:
    assert from_url(url) == (database, driver)


@pytest.mark.parametrize("url", ["https://example.com", "amqp://rabbit", "unix:///tmp/s", "no url"])
def test_other_urls_are_not_databases(url: str) -> None:
    assert from_url(url) is None


def test_driver_from_the_url_scheme(tmp_path: Path) -> None:
    d = detect(tmp_path, {".env": 'export SQLALCHEMY_DATABASE_URI="mysql+aiomysql://u:p@db/app"\n'})
    assert (d.database, d.database_driver) == ("mysql", "aiomysql")
    assert d.sources["database_driver"] == ".env"


def test_postgres_settings_without_a_url(tmp_path: Path) -> None:
    d = detect(tmp_path, {".env": "POSTGRES_SERVER=localhost\nPOSTGRES_USER=app\n"})
    assert d.database == "postgresql"


def test_test_database_settings_are_ignored(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            ".env": "TEST_DATABASE_URL=sqlite:///test.db\n",
            ".env.test": "DATABASE_URL=sqlite:///test.db\n",
        },
    )
    assert d.database == "none"


def test_settings_default_url(tmp_path: Path) -> None:
    config = """\
        from pydantic_settings import BaseSettings

        class Settings(BaseSettings):
            database_url: str = "sqlite+aiosqlite:///./app.db"
        """
    d = detect(tmp_path, {"app/__init__.py": "", "app/core/config.py": config})
    assert (d.database, d.database_driver) == ("sqlite", "aiosqlite")
    assert d.sources["database"] == "app/core/config.py"


def test_settings_dsn_type(tmp_path: Path) -> None:
    config = (
        "from pydantic import PostgresDsn, RedisDsn\nclass S:\n    db: PostgresDsn\n    r: RedisDsn"
    )
    d = detect(tmp_path, {"app/__init__.py": "", "app/config.py": config})
    assert d.database == "postgresql"
    assert d.redis is True


def test_url_in_a_comment_or_docstring_is_not_a_setting(tmp_path: Path) -> None:
    config = '"""Use postgresql://... in production."""\n# DATABASE_URL = "mysql://x"\nX = 1\n'
    d = detect(tmp_path, {"app/__init__.py": "", "app/config.py": config})
    assert d.database == "none"


def test_compose_service_by_image(tmp_path: Path) -> None:
    compose = """\
        services:
          db:
            image: postgres:16-alpine
          cache:
            image: "valkey/valkey:8"
        """
    d = detect(tmp_path, {"compose.yaml": compose})
    assert d.database == "postgresql"
    assert d.redis is True
    assert d.sources["database"] == d.sources["redis"] == "compose.yaml"


@pytest.mark.parametrize(
    ("image", "kind"),
    [
        ("postgres:17", "postgresql"),
        ("postgis/postgis:16-3.4", "postgresql"),
        ("bitnami/postgresql:16", "postgresql"),
        ("mariadb:11", "mysql"),
        ("mysql:8.4", "mysql"),
        ("mongo:7", "mongodb"),
        ("redis/redis-stack:latest", "redis"),
        ("registry.example.com:5000/redis:7", "redis"),
        ("mongo-express", None),
        ("dpage/pgadmin4", None),
        ("python:3.12", None),
    ],
)
def test_images(image: str, kind: str | None) -> None:
    assert from_image(image) == kind


def test_compose_service_by_build_context(tmp_path: Path) -> None:
    compose = """\
        services:
          database:
            build:
              context: ./docker/db
          api:
            build: .
        """
    d = detect(
        tmp_path,
        {
            "docker-compose.yml": compose,
            "docker/db/Dockerfile": "FROM mariadb:11\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
            "Dockerfile": "FROM python:3.12\n",
        },
    )
    assert d.database == "mysql"


def test_compose_image_with_variable_default(tmp_path: Path) -> None:
    compose = "services:\n  db:\n    image: ${DB_IMAGE:-postgres:16}\n"
    d = detect(tmp_path, {"compose.yml": compose})
    assert d.database == "postgresql"


def test_compose_environment_and_env_file(tmp_path: Path) -> None:
    compose = """\
        services:
          api:
            build: .
            environment:
              - DATABASE_URL=mysql+asyncmy://u:p@db/app
            env_file:
              - config/api.env
        """
    d = detect(
        tmp_path,
        {"docker-compose.yml": compose, "config/api.env": "REDIS_URL=redis://cache:6379\n"},
    )
    assert (d.database, d.database_driver) == ("mysql", "asyncmy")
    assert d.redis is True
    assert d.sources["redis"] == "config/api.env"


def test_compose_in_a_docker_folder(tmp_path: Path) -> None:
    d = detect(
        tmp_path, {"docker/docker-compose.dev.yml": "services:\n  db:\n    image: mongo:7\n"}
    )
    assert d.database == "mongodb"


# -- precedence --------------------------------------------------------------------------------


def test_runtime_dependency_beats_env_template(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "pyproject.toml": pyproject("fastapi", "asyncpg"),
            ".env.example": "DATABASE_URL=sqlite:///./dev.db\n",
        },
    )
    assert (d.database, d.database_driver) == ("postgresql", "asyncpg")
    [warning] = [w for w in d.warnings if w.startswith("Database:")]
    assert ".env.example" in warning and "sqlite" in warning


def test_real_env_beats_settings_default(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            ".env": "DATABASE_URL=mysql://u:p@db/app\n",
            "app/__init__.py": "",
            "app/settings.py": "DATABASE_URL = 'sqlite:///./local.db'\n",
        },
    )
    assert d.database == "mysql"
    assert any("app/settings.py" in w for w in d.warnings)


def test_env_beats_compose_service(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            ".env": "DATABASE_URL=mysql://u:p@db/app\n",
            "compose.yaml": "services:\n  db:\n    image: postgres:16\n",
        },
    )
    assert d.database == "mysql"
    assert any("compose.yaml" in w and "postgresql" in w for w in d.warnings)


def test_sqlite_gives_way_to_a_server_database_at_the_same_level(tmp_path: Path) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject("fastapi", "aiosqlite", "asyncpg")})
    assert (d.database, d.database_driver) == ("postgresql", "asyncpg")


def test_sqlite_gives_way_even_when_the_local_env_uses_it(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "pyproject.toml": pyproject("fastapi", "aiosqlite", "asyncpg"),
            ".env": "DATABASE_URL=sqlite+aiosqlite:///./local.db\n",
        },
    )
    assert (d.database, d.database_driver) == ("postgresql", "asyncpg")
    assert any(".env" in w and "sqlite" in w for w in d.warnings)


def test_tie_between_server_databases_is_settled_by_other_evidence(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "pyproject.toml": pyproject("fastapi", "asyncpg", "asyncmy"),
            ".env.example": "DATABASE_URL=mysql+asyncmy://u:p@db/app\n",
        },
    )
    assert (d.database, d.database_driver) == ("mysql", "asyncmy")


def test_development_only_driver_is_the_weakest(tmp_path: Path) -> None:
    only_dev = detect(tmp_path / "a", {"pyproject.toml": pyproject("fastapi", dev=("aiosqlite",))})
    assert only_dev.database == "sqlite"
    with_compose = detect(
        tmp_path / "b",
        {
            "pyproject.toml": pyproject("fastapi", dev=("aiosqlite",)),
            "compose.yaml": "services:\n  db:\n    image: postgres:16\n",
        },
    )
    assert with_compose.database == "postgresql"
    assert not any(w.startswith("Database:") for w in with_compose.warnings)


def test_driver_named_by_the_url_among_declared_drivers(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "pyproject.toml": pyproject("fastapi", "asyncpg", "psycopg2-binary"),
            ".env": "DATABASE_URL=postgresql+psycopg2://u:p@db/app\n",
        },
    )
    assert (d.database, d.database_driver) == ("postgresql", "psycopg2")


def test_async_driver_preferred_when_nothing_names_one(tmp_path: Path) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject("fastapi", "psycopg2-binary", "asyncpg")})
    assert d.database_driver == "asyncpg"


def test_url_decides_database_and_dependency_gives_the_driver(tmp_path: Path) -> None:
    d = detect(
        tmp_path,
        {
            "pyproject.toml": pyproject("fastapi", dev=("asyncpg",)),
            ".env": "DATABASE_URL=postgres://u:p@db/app\n",
        },
    )
    assert (d.database, d.database_driver) == ("postgresql", "asyncpg")
    assert d.sources["database"] == ".env"
    assert d.sources["database_driver"] == "pyproject.toml"


# -- Redis ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dependency", ["redis>=5", "arq", "celery[redis]", "fastapi-cache2[redis]"]
)
def test_redis_from_dependencies(tmp_path: Path, dependency: str) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject("fastapi", dependency)})
    assert d.redis is True
    assert d.sources["redis"] == "pyproject.toml"


def test_redis_from_env(tmp_path: Path) -> None:
    d = detect(tmp_path, {".env.example": "CELERY_BROKER_URL=redis://localhost:6379/0\n"})
    assert d.redis is True


def test_fakeredis_in_dev_dependencies_is_not_redis(tmp_path: Path) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject("fastapi", dev=("fakeredis",))})
    assert d.redis is False
    assert "redis" not in d.sources


def test_nothing_found(tmp_path: Path) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject("fastapi")})
    assert (d.database, d.database_driver, d.redis) == ("none", None, False)


@pytest.mark.parametrize(
    ("deps", "server"),
    [
        (("fastapi", "uvicorn[standard]>=0.30"), "uvicorn"),
        (("fastapi", "granian>=2"), "granian"),
        (("fastapi", "uvicorn", "granian[uvloop]"), "granian"),  # moving to granian
        (("fastapi",), None),
    ],
    ids=["uvicorn", "granian", "both", "neither"],
)
def test_the_asgi_server_from_runtime_dependencies(
    tmp_path: Path, deps: tuple[str, ...], server: str | None
) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject(*deps)})
    assert d.server == server
    assert d.sources.get("server") == ("pyproject.toml" if server else None)
    assert (f"--server {server}" in " ".join(generator_flags(d))) == (server is not None)


def test_a_server_among_dev_dependencies_is_not_the_projects(tmp_path: Path) -> None:
    d = detect(tmp_path, {"pyproject.toml": pyproject("fastapi", dev=("granian",))})
    assert d.server is None
