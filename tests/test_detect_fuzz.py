"""Fuzzing the detector's parsers: any input gives a result or a FormatError, never a crash."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastapi_patterns.detect import (
    INTERNAL_ERROR,
    Detection,
    detect_project,
    format_summary,
    run_files,
)
from fastapi_patterns.detect import formats as fmt
from fastapi_patterns.detect.database_names import from_image, from_url
from fastapi_patterns.detect.python_version import lower_bound, versions_in
from fastapi_patterns.detect.yaml_subset import parse_yaml

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text biased towards the characters that matter to each format.
SYNTAX = st.lists(
    st.sampled_from(
        [
            *"abcxyz019 .:=-_[]{}\"'#\\\n\t,|>&*!@$%/+<~^",
            *("\r\n", "  ", "- ", ": ", "\n  ", "[project]\n", "services:\n", "FROM ", "://"),
        ]
    ),
    max_size=120,
).map("".join)
ANY_TEXT = st.one_of(SYNTAX, st.text(max_size=300))


def _raises_only_format_error(parse: Any, text: str) -> None:
    try:
        parse(text)
    except fmt.FormatError as error:
        assert str(error)


@FUZZ
@given(ANY_TEXT)
def test_yaml_parser_never_crashes(text: str) -> None:
    _raises_only_format_error(parse_yaml, text)


@FUZZ
@given(ANY_TEXT)
def test_toml_json_ini_raise_only_format_errors(text: str) -> None:
    for parse in (fmt.parse_toml, fmt.parse_json, fmt.parse_ini):
        _raises_only_format_error(parse, text)


@FUZZ
@given(ANY_TEXT)
def test_line_formats_never_raise(text: str) -> None:
    assert isinstance(fmt.parse_env(text), dict)
    assert isinstance(fmt.parse_requirements(text).requirements, list)
    parsed = run_files.parse_dockerfile(text)
    assert all(isinstance(i, str) for i in parsed.images)
    assert isinstance(run_files.parse_procfile(text), dict)
    assert isinstance(run_files.make_recipes(text), list)
    assert isinstance(run_files.app_references(text), list)
    for image in parsed.images:
        run_files.python_from_image(image)
        from_image(image)


@FUZZ
@given(ANY_TEXT)
def test_version_and_url_helpers_never_raise(text: str) -> None:
    bound = lower_bound(text)
    assert bound is None or bound[0] == 3
    assert all(v[0] == 3 for v in versions_in(text))
    result = from_url(text)
    assert result is None or result[0] in ("postgresql", "mysql", "sqlite", "mongodb", "redis")
    run_files.python_from_image(text)
    from_image(text)
    fmt.parse_requirement(text)


# Scalars PyYAML writes back as the same string (no implicit numbers, booleans or nulls).
SCALARS = st.from_regex(r"[a-z][a-z0-9_./:@+-]{0,12}", fullmatch=True).filter(
    lambda s: (
        s not in ("y", "n", "yes", "no", "on", "off", "true", "false", "null") and ":" not in s[-1:]
    )
)
KEYS = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True).filter(
    lambda s: s not in ("y", "n", "yes", "no", "on", "off", "true", "false", "null")
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=4),
        st.dictionaries(KEYS, children, min_size=1, max_size=4),
    ),
    max_leaves=20,
)


@FEW
@given(st.dictionaries(KEYS, DOCUMENTS, min_size=1, max_size=4), st.booleans())
def test_yaml_parser_reads_what_pyyaml_writes(document: dict[str, Any], flow: bool) -> None:
    text = yaml.safe_dump(document, default_flow_style=flow, sort_keys=False, width=60)
    assert parse_yaml(text) == yaml.safe_load(text)


CONFIG_NAMES = [
    "pyproject.toml", "Pipfile", "Pipfile.lock", "setup.cfg", "setup.py", "requirements.txt",
    ".python-version", "runtime.txt", "Dockerfile", "compose.yaml", ".env", ".env.example",
    "Procfile", "Makefile", "main.py", "app/__init__.py", "app/config.py", "uv.lock",
]  # fmt: skip


def _check(d: Detection) -> None:
    assert not any(w.startswith(INTERNAL_ERROR) for w in d.warnings), d.warnings
    assert d.database in ("postgresql", "mysql", "sqlite", "mongodb", "none")
    assert d.package_manager in ("uv", "poetry", "pdm", "pipenv", "hatch", "pip", "none")
    assert d.layout in ("flat", "src", "none")
    assert isinstance(d.redis, bool)
    assert d.python_version is None or d.python_version.startswith("3.")
    assert d.fastapi_app is None or ":" in d.fastapi_app
    json.dumps(d.to_dict())
    format_summary(d)


@FEW
@given(
    st.dictionaries(
        st.sampled_from(CONFIG_NAMES), st.one_of(ANY_TEXT, st.binary(max_size=200)), max_size=8
    )
)
def test_detect_project_on_random_files(files: dict[str, str | bytes]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        _check(detect_project(root))


TEMPLATES = {
    "pyproject.toml": '[project]\nname = "{0}"\nrequires-python = "{0}"\ndependencies = ["{0}"]\n',
    "compose.yaml": "services:\n  {0}:\n    image: {0}\n    command: {0}\n",
    "Dockerfile": "FROM {0}\nCMD {0}\n",
    ".env": "DATABASE_URL={0}\n",
    "main.py": "from fastapi import FastAPI\n{0} = FastAPI()\n",
}


@FEW
@given(st.sampled_from(sorted(TEMPLATES)), SYNTAX)
def test_detect_project_on_nearly_valid_files(name: str, value: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / name).write_text(TEMPLATES[name].replace("{0}", value))
        _check(detect_project(root))
