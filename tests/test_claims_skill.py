"""SKILL.md's compatibility line: the FastAPI floor it states is the one every part of the
bundle declares, it is no older than any feature the references teach, and the installed
FastAPI has each of those features.

The release that added each feature comes from FastAPI's release notes (and, for 0.163 and
0.164, from those releases' wheels): dependency `scope` 0.121, return-type JSON 0.130,
JSON Lines 0.134, SSE 0.135, `Depends(max_concurrency=...)` 0.163, `max_body_size` 0.164.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import fastapi
from packaging.requirements import Requirement
from packaging.version import Version

from fastapi_patterns.generate import generate

ROOT = Path(__file__).resolve().parent.parent
SKILL = ROOT / "SKILL.md"
TEMPLATE = ROOT / "assets" / "fastapi-app-template.py"


def _compatibility() -> str:
    found = re.search(r'^compatibility: "(.*)"$', SKILL.read_text(), re.M)
    assert found is not None
    return found.group(1)


def _skill_floor() -> Version:
    found = re.search(r"Needs FastAPI (\d+\.\d+) or later", _compatibility())
    assert found is not None, _compatibility()
    return Version(found.group(1))


def _skill_features() -> dict[str, Version]:
    listed = _compatibility().split("added them: ", 1)[1].rstrip(".")
    features = {}
    for item in listed.split(", "):
        name, version = item.rsplit(" ", 1)
        features[name] = Version(version)
    return features


def _floor(requirements: list[str], name: str = "fastapi") -> Version:
    (requirement,) = [Requirement(line) for line in requirements if Requirement(line).name == name]
    (spec,) = requirement.specifier
    assert spec.operator == ">=", requirement
    return Version(spec.version)


# Each feature SKILL.md lists, and the test that shows it at work in the installed FastAPI.
FEATURE_TESTS = {
    "dependency scope": "test_claims_dependencies.py::"
    "test_why_scope_function_a_request_scoped_yield_dependency_cannot_take_session_dep",
    "return-type JSON": "test_claims_responses.py::"
    "test_fast_path_return_type_skips_the_response_class",
    "JSON Lines streaming": "test_claims_responses.py::"
    "test_streaming_json_lines_async_clients_read_with_aiter_lines",
    "SSE": "test_claims_responses.py::test_other_streams_sse_with_event_source_response",
    "Depends max_concurrency": "test_claims_dependencies.py::"
    "test_concurrency_limits_max_concurrency_is_per_depends_object",
    "max_body_size": "test_claims_middleware.py::"
    "test_layers_fastapi_body_limit_answers_outside_user_middleware",
}


def test_compatibility_floor_is_declared_everywhere(tmp_path: Path) -> None:
    floor = _skill_floor()
    bundle = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert _floor(bundle["optional-dependencies"]["dev"]) == floor
    files = generate(
        "claims", tmp_path / "claims", dry_run=True, cwd=tmp_path, db="sqlite", redis=False,
        auth="jwt", layout="flat", python="3.11",
    ).files  # fmt: skip
    generated = tomllib.loads(files["pyproject.toml"].decode())["project"]
    assert _floor(generated["dependencies"]) == floor
    assert f"fastapi>={floor}," in TEMPLATE.read_text()  # its Requirements line


def test_compatibility_floor_covers_every_feature() -> None:
    features = _skill_features()
    assert set(features) == set(FEATURE_TESTS)
    assert max(features.values()) <= _skill_floor()
    assert Version(fastapi.__version__) >= _skill_floor()


def test_compatibility_every_feature_has_a_test() -> None:
    for feature, node_id in FEATURE_TESTS.items():
        file, name = node_id.split("::")
        tree = ast.parse((ROOT / "tests" / file).read_text())
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert name in defined, feature
