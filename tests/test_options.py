import keyword

import pytest

from factories import make_detection as detection
from fastapi_patterns.errors import OptionError
from fastapi_patterns.options import (
    CHOICES,
    DEFAULT_SERVER,
    SERVERS,
    Options,
    package_name,
    parse_python,
)
from fastapi_patterns.resolve import resolve


@pytest.mark.parametrize(
    ("name", "package"),
    [("orders-api", "orders_api"), ("Orders.API", "orders_api"), ("svc_2", "svc_2"), ("a", "a")],
)
def test_package_name_derives_identifier(name: str, package: str) -> None:
    assert package_name(name) == package


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "empty"),
        ("a/b", "contains a path"),
        ("..", "contains a path"),
        ("a\\b", "contains a path"),
        ("-api", "not a valid distribution name"),
        ("api-", "not a valid distribution name"),
        ("ordérs", "not a valid distribution name"),
        ("my app", "not a valid distribution name"),
        ("2fast", "not a valid Python identifier"),
        ("class", "not a valid Python identifier"),
        ("json", "would shadow"),
        ("a" * 101, "keep it to 100"),
        ("fastapi", "would shadow"),
        ("tests", "would shadow"),
    ],
)
def test_bad_names_give_one_line_errors(name: str, fragment: str) -> None:
    with pytest.raises(OptionError) as raised:
        package_name(name)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_every_keyword_is_refused() -> None:
    for word in (w for w in keyword.kwlist if w.islower()):
        with pytest.raises(OptionError):
            package_name(word)


@pytest.mark.parametrize("version", ["3.8", "3.10", "2.7"])
def test_old_python_is_refused_with_the_reason(version: str) -> None:
    with pytest.raises(OptionError, match=r"3\.11 or newer|not of the form"):
        parse_python(version, "--python")


def test_python_version_format() -> None:
    assert parse_python("3.13", "--python") == "3.13"
    with pytest.raises(OptionError, match="not of the form"):
        parse_python("3", "--python")
    with pytest.raises(OptionError, match="newer than this generator supports"):
        parse_python("3.99", "--python")


def test_defaults_on_an_empty_context() -> None:
    options, warnings = resolve("svc", detection())
    assert (options.db, options.redis, options.auth, options.layout) == (
        "sqlite",
        False,
        "jwt",
        "flat",
    )
    assert options.python == "3.11"
    assert options.package_manager == "pip"
    assert options.sources["db"] == "default"
    assert (options.server, options.sources["server"]) == (DEFAULT_SERVER, "default")
    assert warnings == []


def test_the_default_server_is_one_of_the_servers() -> None:
    assert DEFAULT_SERVER in SERVERS
    assert SERVERS == ("uvicorn", "granian")


@pytest.mark.parametrize("server", ["uvicorn", "granian"])
def test_a_server_the_project_depends_on_is_kept(server: str) -> None:
    found = detection(server=server, sources={"server": "pyproject.toml"})
    options, _ = resolve("svc", found)
    assert (options.server, options.sources["server"]) == (server, "detected (pyproject.toml)")
    options, _ = resolve("svc", found, server="uvicorn" if server == "granian" else "granian")
    assert options.server != server
    assert options.sources["server"] == "flag"


def test_an_unknown_server_is_refused_in_one_line() -> None:
    with pytest.raises(
        OptionError, match=r"^--server 'hypercorn' is not one of uvicorn, granian\.$"
    ):
        resolve("svc", detection(), server="hypercorn")


def test_detected_values_are_used_and_attributed() -> None:
    found = detection(
        database="postgresql",
        redis=True,
        layout="src",
        python_version="3.12",
        package_manager="uv",
        sources={"database": "compose.yaml", "python_version": ".python-version"},
    )
    options, _ = resolve("svc", found)
    assert (options.db, options.redis, options.layout, options.python) == (
        "postgresql",
        True,
        "src",
        "3.12",
    )
    assert options.package_manager == "uv"
    assert options.sources["db"] == "detected (compose.yaml)"
    assert options.sources["python"] == "detected (.python-version)"


def test_flags_override_detection() -> None:
    found = detection(database="postgresql", redis=True, layout="src", python_version="3.12")
    options, _ = resolve(
        "svc", found, db="mysql", redis=False, auth="none", layout="flat", python="3.13"
    )
    assert (options.db, options.redis, options.auth, options.layout, options.python) == (
        "mysql",
        False,
        "none",
        "flat",
        "3.13",
    )
    assert set(options.sources.values()) >= {"flag"}
    assert options.sources["db"] == "flag"


def test_old_detected_python_names_its_source() -> None:
    found = detection(python_version="3.9", sources={"python_version": "pyproject.toml"})
    with pytest.raises(OptionError, match=r"3\.9 \(detected \(pyproject.toml\)\) is too old"):
        resolve("svc", found)


def test_unsupported_detected_database_falls_back_with_a_warning() -> None:
    options, warnings = resolve("svc", detection(database="mongodb"))
    assert options.db == "sqlite"
    assert "mongodb" in warnings[0]


def test_no_database_means_no_auth_unless_asked() -> None:
    options, _ = resolve("svc", detection(), db="none")
    assert options.auth == "none"
    with pytest.raises(OptionError, match="needs a database"):
        resolve("svc", detection(), db="none", auth="jwt")


def test_the_choices_are_options_fields() -> None:
    # The flags a user may give are exactly the options resolve() fills in.
    assert CHOICES == ("db", "redis", "auth", "server", "layout", "python")
    assert set(CHOICES) <= set(Options.__dataclass_fields__)


def test_resolve_does_not_take_unknown_choices() -> None:
    with pytest.raises(TypeError):
        resolve("svc", detection(), database="sqlite")  # type: ignore[call-arg]
